# The modules (training-compute, training-registry, training-safety) under terraform test, against a mocked AWS: what
# ops teams flip with -var, on the synthesized JSON. Module code, the same in every env, so it runs on the training
# stack only (__tests__/support/terraform-suites.ts).
#
# Few runs, many assertions: each run starts the 700 MB provider about twice and re-reads its schema (~1 s of CPU
# each), so runs that plan the same variables are one run, and each run asserts every module it can (the defaults
# plan: compute, registry and safety; the plan after the apply: the run id and the alarms on the instance; one plan
# with every invalid value).
#
# Plans that check computed values (ARNs, the repository URL in the user data) use a mock whose values are known at
# plan (override_during); the apply, which proves the outputs once an instance exists, uses the plain mock (values
# known after apply: a mock with plan-time values generates them again at apply, which Terraform rejects as an
# inconsistent plan). Teardown destroys the instance and refuses the protected buckets, as terraform.test.ts expects.
# (auto_shutdown=false leaving only the SNS action on the alarms is the other branch of the same conditional, asserted
# at synth in __tests__/modules/training-safety/alarms.test.ts and __tests__/modules/training-safety/stalled-run-alarms.test.ts.)

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "aws" {
  alias           = "known_at_plan"
  source          = "./tests/mocks"
  override_during = plan
}

run "plan_defaults_no_instance" {
  command = plan

  providers = {
    aws = aws.known_at_plan
  }

  assert {
    condition     = length(aws_instance.compute_training) == 0 && length(terraform_data.compute_run_id) == 0
    error_message = "create_instance defaults to false: no instance and no run id."
  }

  # Never null: Terraform leaves null outputs out of the state, and cdktf-cli 0.21 then crashes after a successful
  # `cdktf deploy` (exit 1). Without an instance, each instance output is the empty string.
  assert {
    condition = alltrue([
      output.instance_id == "",
      output.instance_public_ip == "",
      output.ssm_command == "",
      output.ssh_command == "",
      output.run_id == "",
    ])
    error_message = "Every instance output must be \"\" (not null) without an instance."
  }

  assert {
    condition     = output.instance_role_arn == aws_iam_role.compute_instance.arn && aws_iam_instance_profile.compute_instance.role == aws_iam_role.compute_instance.name
    error_message = "The role and its instance profile exist without an instance (grants need them); instance_role_arn is its ARN."
  }

  assert {
    condition     = startswith(aws_cloudwatch_log_group.compute.name, "/gpu-training/") && aws_cloudwatch_log_group.compute.retention_in_days == 30
    error_message = "The instance log group must be /gpu-training/<env>, kept 30 days (safety.logRetentionDays)."
  }

  # The runtime bundle is a file asset uploaded as an S3 object: the file Terraform uploads must hash to the SHA-256
  # computed at synth, which names the key and which the user data's fetch command checks on the instance.
  assert {
    condition = alltrue([
      fileexists(aws_s3_object.compute_runtime.source),
      aws_s3_object.compute_runtime.key == "runtime/${filesha256(aws_s3_object.compute_runtime.source)}.sh",
      strcontains(local.compute_user_data_single, "\"${filesha256(aws_s3_object.compute_runtime.source)}\"]"),
      aws_s3_object.compute_runtime.bucket == aws_s3_bucket.storage_outputs.bucket,
    ])
    error_message = "The runtime bundle must be where the JSON points (the stack is self-contained), under runtime/<its SHA-256>.sh of the outputs bucket, and the user data must check that hash."
  }

  assert {
    condition     = strcontains(file(aws_s3_object.compute_runtime.source), "$${aws:InstanceId}") && strcontains(local.compute_user_data_single, "s3://${aws_s3_object.compute_runtime.bucket}/${aws_s3_object.compute_runtime.key}")
    error_message = "The CloudWatch agent's literal $${aws:InstanceId} must reach the instance as written, in the bundle the user data fetches."
  }

  assert {
    condition = alltrue([
      strcontains(local.compute_user_data_single, "GTI_MODE='single'"),
      strcontains(local.compute_user_data_single, "GTI_DATA_BUCKET='${aws_s3_bucket.storage_data.bucket}'"),
      strcontains(local.compute_user_data_single, "GTI_OUTPUTS_BUCKET='${aws_s3_bucket.storage_outputs.bucket}'"),
      strcontains(local.compute_user_data_single, "GTI_ECR_REPOSITORY_URL='${aws_ecr_repository.registry_training.repository_url}'"),
      strcontains(local.compute_user_data_single, "GTI_HF_TOKEN_SECRET_ARN='${aws_secretsmanager_secret.compute_hf_token.arn}'"),
      strcontains(local.compute_user_data_single, "GTI_IMAGE_TAG='latest'"),
      strcontains(local.compute_user_data_single, "GTI_AUTO_SHUTDOWN='true'"),
    ])
    error_message = "The runtime configuration must name this env's buckets, repository, token secret, image tag and mode."
  }

  # training-registry: the repository, its retention and the GitHub Actions role output.
  assert {
    condition     = trimsuffix(aws_ecr_repository.registry_training.name, "-training") == trimsuffix(aws_s3_bucket.storage_data.bucket, "-data-123456789012")
    error_message = "The repository must be named <project>-<env>-training, got ${aws_ecr_repository.registry_training.name}."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.image_scanning_configuration[0].scan_on_push
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.encryption_configuration[0].encryption_type == "AES256"
    error_message = "The repository must be encrypted with AES256 by default."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.image_tag_mutability == "MUTABLE"
    error_message = "Tags must be mutable: the pipeline re-pushes latest."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.force_delete == false
    error_message = "A repository holding images must never be force-deleted."
  }

  assert {
    condition     = aws_ecr_lifecycle_policy.registry_training.repository == aws_ecr_repository.registry_training.name
    error_message = "The lifecycle policy must apply to the training repository."
  }

  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.registry_training.policy).rules == [
      {
        rulePriority = 1
        description  = "Keep at most 3 untagged images"
        selection    = { tagStatus = "untagged", countType = "imageCountMoreThan", countNumber = 3 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last 10 tagged images"
        selection    = { tagStatus = "tagged", tagPatternList = ["*"], countType = "imageCountMoreThan", countNumber = 10 }
        action       = { type = "expire" }
      },
    ]
    error_message = "The lifecycle policy must keep 3 untagged and 10 tagged images, untagged first."
  }

  assert {
    condition     = output.ecr_repository_url == aws_ecr_repository.registry_training.repository_url
    error_message = "ecr_repository_url must be the repository's URL."
  }

  assert {
    condition     = output.github_actions_role_arn != null && (output.github_actions_role_arn == "" || can(regex("^arn:aws:iam::[0-9]{12}:role/", output.github_actions_role_arn)))
    error_message = "github_actions_role_arn must be a role ARN, or \"\" (never null) when no GitHub repository is allowed."
  }

  # training-safety: the nets that exist without an instance.
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.safety_idle_gpu) == 0 && length(aws_cloudwatch_metric_alarm.safety_stalled_run) == 0
    error_message = "Without an instance (create_instance defaults to false) there is no idle-GPU or stalled-run alarm."
  }

  # (That the guard's zip is where the JSON points and is the code source_code_hash names: storage.tftest.hcl, every env.)
  assert {
    condition     = aws_lambda_function.safety_guard.runtime == "nodejs22.x" && aws_lambda_function.safety_guard.handler == "index.handler"
    error_message = "The runtime guard must run index.handler on nodejs22.x."
  }

  assert {
    condition = alltrue([
      aws_lambda_function_event_invoke_config.safety_guard.maximum_retry_attempts == 0,
      aws_lambda_function_event_invoke_config.safety_guard.destination_config[0].on_failure[0].destination == aws_sns_topic.safety_alerts.arn,
      aws_cloudwatch_log_group.safety_guard.name == "/aws/lambda/${aws_lambda_function.safety_guard.function_name}",
      aws_cloudwatch_log_group.safety_guard.retention_in_days == 30,
      aws_lambda_function.safety_guard.environment[0].variables.TOPIC_ARN == aws_sns_topic.safety_alerts.arn,
    ])
    error_message = "The guard must not retry, send failures to the alerts topic, log to its own group with a retention, and publish to the topic."
  }

  assert {
    condition     = aws_sns_topic.safety_alerts.kms_master_key_id == aws_kms_key.safety_alerts.arn && aws_kms_key.safety_alerts.enable_key_rotation
    error_message = "The alerts topic must be encrypted with the stack's rotated customer managed key."
  }

  assert {
    condition = alltrue([
      aws_budgets_budget.safety_monthly.budget_type == "COST",
      aws_budgets_budget.safety_monthly.time_unit == "MONTHLY",
      one(aws_budgets_budget.safety_monthly.cost_filter).name == "TagKeyValue",
      startswith(one(one(aws_budgets_budget.safety_monthly.cost_filter).values), "user:Environment$"),
      toset([for n in aws_budgets_budget.safety_monthly.notification : "${n.notification_type} ${n.threshold}"]) == toset(["ACTUAL 80", "FORECASTED 100"]),
      alltrue([for n in aws_budgets_budget.safety_monthly.notification : contains(n.subscriber_sns_topic_arns, aws_sns_topic.safety_alerts.arn)]),
    ])
    error_message = "The monthly COST budget must filter on the Environment cost allocation tag and notify the topic at 80% actual and 100% forecasted."
  }

  assert {
    condition = alltrue([
      length(jsondecode(aws_cloudwatch_dashboard.safety.dashboard_body).widgets) >= 8,
      anytrue([
        for w in jsondecode(aws_cloudwatch_dashboard.safety.dashboard_body).widgets : anytrue([
          for m in try(w.properties.metrics, []) : strcontains(try(m[0].expression, ""), "MetricName=\"nvidia_smi_utilization_gpu\"")
        ])
      ]),
      strcontains(aws_cloudwatch_dashboard.safety.dashboard_body, "\"i-none\""),
    ])
    error_message = "The dashboard body must be valid JSON once Terraform interpolates it, graph the GPU metric, and match no instance without one."
  }

  assert {
    condition = alltrue([
      for metric in ["StepsPerSecond", "Loss", "EtaSeconds", "SecondsSinceProgress"] : anytrue([
        for w in jsondecode(aws_cloudwatch_dashboard.safety.dashboard_body).widgets : anytrue([
          for m in try(w.properties.metrics, []) : strcontains(try(m[0].expression, ""), ",RunId} MetricName=\"${metric}\"")
        ])
      ])
    ])
    error_message = "The dashboard must graph the training progress per run: step rate, loss, ETA, time since the last step."
  }

  assert {
    condition     = output.alerts_topic_arn == aws_sns_topic.safety_alerts.arn && output.dashboard_url == "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/${aws_cloudwatch_dashboard.safety.dashboard_name}"
    error_message = "alerts_topic_arn must be the topic's ARN and dashboard_url the console URL of the dashboard."
  }
}

run "apply_with_instance_sets_outputs" {
  command = apply

  variables {
    create_instance = true
  }

  assert {
    condition     = output.instance_id == "i-0123456789abcdef0" && output.instance_public_ip == "203.0.113.10"
    error_message = "instance_id and instance_public_ip must be the instance's once it exists."
  }

  assert {
    condition     = output.ssm_command == "aws ssm start-session --target i-0123456789abcdef0 --region us-east-1"
    error_message = "ssm_command must open a Session Manager shell on the instance, got ${output.ssm_command}."
  }

  assert {
    condition     = output.ssh_command == ""
    error_message = "Without a key pair (no env sets one) ssh_command must stay \"\" (never null)."
  }

  assert {
    condition     = can(regex("^run-[0-9]{8}-[0-9]{6}$", output.run_id)) && output.run_id == terraform_data.compute_run_id[0].output
    error_message = "run_id must be the generated run-YYYYMMDD-hhmmss, got ${output.run_id}."
  }

  assert {
    condition = alltrue([
      aws_instance.compute_training[0].tags["RunId"] == output.run_id,
      aws_instance.compute_training[0].tags["MaxRuntimeHours"] == tostring(var.max_runtime_hours),
      aws_instance.compute_training[0].tags["AutoShutdown"] == "true",
    ])
    error_message = "The instance must carry the RunId, MaxRuntimeHours (read by the safety guard) and AutoShutdown tags."
  }

  assert {
    condition     = strcontains(local.compute_user_data_single, "GTI_RUN_ID='${output.run_id}'") && aws_instance.compute_training[0].user_data_base64 == base64gzip(local.compute_user_data_single)
    error_message = "The user data (gzipped) must hand the run id to the runtime."
  }

  assert {
    condition = alltrue([
      aws_instance.compute_training[0].metadata_options[0].http_tokens == "required",
      aws_instance.compute_training[0].metadata_options[0].http_put_response_hop_limit == 1,
      aws_instance.compute_training[0].metadata_options[0].instance_metadata_tags == "enabled",
    ])
    error_message = "IMDSv2 must be required, with hop limit 1 (no container gets a token) and instance tags in metadata."
  }

  assert {
    condition = alltrue([
      aws_instance.compute_training[0].root_block_device[0].encrypted,
      aws_instance.compute_training[0].root_block_device[0].volume_type == "gp3",
      aws_instance.compute_training[0].root_block_device[0].volume_size == var.root_volume_size_gb,
      aws_instance.compute_training[0].root_block_device[0].delete_on_termination,
    ])
    error_message = "The root volume must be encrypted gp3 of root_volume_size_gb, deleted with the instance."
  }

  assert {
    condition = alltrue([
      aws_instance.compute_training[0].ami == "ami-0123456789abcdef0",
      aws_instance.compute_training[0].subnet_id == "subnet-0123456789abcdef0",
      aws_instance.compute_training[0].iam_instance_profile == aws_iam_instance_profile.compute_instance.name,
      aws_instance.compute_training[0].vpc_security_group_ids == toset([aws_security_group.compute.id]),
      aws_instance.compute_training[0].associate_public_ip_address,
    ])
    error_message = "The instance must boot the DLAMI from SSM, in the chosen subnet, with the profile and security group."
  }

  assert {
    condition     = data.aws_subnet.compute_instance[0].filter == toset([{ name = "vpc-id", values = toset(["vpc-0123456789abcdef0"]) }, { name = "default-for-az", values = toset(["true"]) }, { name = "availability-zone", values = toset(["us-east-1a"]) }])
    error_message = "The instance subnet must be the default subnet of the first AZ (sorted) offering the instance type."
  }
}

run "plan_again_keeps_the_run_id_alarms_act" {
  command = plan

  variables {
    create_instance = true
  }

  assert {
    condition     = aws_instance.compute_training[0].tags["RunId"] == run.apply_with_instance_sets_outputs.run_id
    error_message = "A re-apply must keep the run id (a replaced spot instance resumes the same run)."
  }

  # training-safety: with the instance, the idle-GPU and stalled-run alarms act on it.
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.safety_idle_gpu) == 1 && aws_cloudwatch_metric_alarm.safety_idle_gpu[0].dimensions.InstanceId == aws_instance.compute_training[0].id
    error_message = "With the instance there is exactly one idle-GPU alarm, on that instance."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.safety_idle_gpu[0].alarm_actions == toset(["arn:aws:automate:us-east-1:ec2:terminate", aws_sns_topic.safety_alerts.arn])
    error_message = "The idle-GPU alarm must terminate the instance (EC2 action) and notify the topic."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.safety.dashboard_body, "\"${aws_instance.compute_training[0].id}\"")
    error_message = "The dashboard's network graph must show the instance's id."
  }

  # The stalled-run alarm: the runtime's per-instance ProgressStalled (1 once a run that reported progress made no new
  # step for its stall window), 2 of 3 one-minute periods, missing data never a stall, the env's action.
  assert {
    condition = alltrue([
      length(aws_cloudwatch_metric_alarm.safety_stalled_run) == 1,
      aws_cloudwatch_metric_alarm.safety_stalled_run[0].dimensions.InstanceId == aws_instance.compute_training[0].id,
      aws_cloudwatch_metric_alarm.safety_stalled_run[0].metric_name == "ProgressStalled",
      startswith(aws_cloudwatch_metric_alarm.safety_stalled_run[0].namespace, "GpuTraining/"),
      aws_cloudwatch_metric_alarm.safety_stalled_run[0].threshold == 1,
      aws_cloudwatch_metric_alarm.safety_stalled_run[0].treat_missing_data == "notBreaching",
      aws_cloudwatch_metric_alarm.safety_stalled_run[0].alarm_actions == toset(["arn:aws:automate:us-east-1:ec2:terminate", aws_sns_topic.safety_alerts.arn]),
    ])
    error_message = "With the instance there is exactly one stalled-run alarm, on that instance's ProgressStalled, acting like the idle-GPU alarm."
  }
}

run "plan_run_id_override_and_boundary_values" {
  command = plan

  providers = {
    aws = aws.known_at_plan
  }

  variables {
    create_instance     = true
    run_id              = "run-resume-me"
    max_runtime_hours   = 168
    root_volume_size_gb = 16384
    spot_max_price      = "0.75"
    training_image_tag  = "0123abc_release-1.2"
    auto_shutdown       = false
  }

  assert {
    condition     = aws_instance.compute_training[0].tags["RunId"] == "run-resume-me" && strcontains(local.compute_user_data_single, "GTI_RUN_ID='run-resume-me'")
    error_message = "run_id must override the generated run id (resume a run)."
  }

  assert {
    condition = alltrue([
      aws_instance.compute_training[0].tags["MaxRuntimeHours"] == "168",
      aws_instance.compute_training[0].tags["AutoShutdown"] == "false",
      aws_instance.compute_training[0].root_block_device[0].volume_size == 16384,
      aws_instance.compute_training[0].instance_market_options[0].spot_options[0].max_price == "0.75",
      strcontains(local.compute_user_data_single, "GTI_IMAGE_TAG='0123abc_release-1.2'"),
      strcontains(local.compute_user_data_single, "GTI_AUTO_SHUTDOWN='false'"),
    ])
    error_message = "The largest valid values must be accepted and reach the instance (tags, volume, spot price, image tag)."
  }
}

run "invalid_values_are_rejected" {
  command = plan

  variables {
    instance_type       = "t3.micro"
    max_runtime_hours   = 0
    spot_max_price      = "cheap"
    root_volume_size_gb = 99
    training_image_tag  = "bad tag"
    run_id              = "../escape"
  }

  expect_failures = [var.instance_type, var.max_runtime_hours, var.spot_max_price, var.root_volume_size_gb, var.training_image_tag, var.run_id]
}
