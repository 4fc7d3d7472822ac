# training-safety under terraform test, against a mocked AWS, in every env: the nets exist without an instance, the
# idle-GPU and stalled-run alarms follow create_instance and act on that instance, the guard's zip is where the JSON
# points and is the code the hash names, the dashboard body is JSON once interpolated (with the training progress
# widgets). Two plans (cheap); they use a mock whose values are known at plan (override_during), so ARNs and ids can
# be compared. (auto_shutdown=false leaving only the SNS action is the other branch of the same conditional, asserted
# at synth in __tests__/training-safety.test.ts and __tests__/training-safety-stalled-run.test.ts.)

mock_provider "aws" {
  alias           = "known_at_plan"
  source          = "./tests/mocks"
  override_during = plan
}

run "plan_defaults_nets_without_instance" {
  command = plan

  providers = {
    aws = aws.known_at_plan
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.safety_idle_gpu) == 0 && length(aws_cloudwatch_metric_alarm.safety_stalled_run) == 0
    error_message = "Without an instance (create_instance defaults to false) there is no idle-GPU or stalled-run alarm."
  }

  assert {
    condition = alltrue([
      fileexists(aws_lambda_function.safety_guard.filename),
      filebase64sha256(aws_lambda_function.safety_guard.filename) == aws_lambda_function.safety_guard.source_code_hash,
      aws_lambda_function.safety_guard.runtime == "nodejs22.x",
      aws_lambda_function.safety_guard.handler == "index.handler",
    ])
    error_message = "The runtime guard's zip must exist where the JSON points (the stack is self-contained) and be the code source_code_hash names."
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

run "plan_with_instance_idle_alarm_acts" {
  command = plan

  providers = {
    aws = aws.known_at_plan
  }

  variables {
    create_instance = true
  }

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
