# training-storage under terraform test, against a mocked AWS (data.aws_caller_identity returns 123456789012): the
# data and outputs buckets apply with every safe default and the seed's lifecycle figures, in every env (one run:
# each run costs seconds per stack); the same run asserts the whole stack with the defaults (no instance, the guard's
# zip, the example account). Teardown then proves prevent_destroy: Terraform refuses to destroy both buckets
# (terraform.test.ts asserts exactly which).

mock_provider "aws" {
  source = "./tests/mocks"
}

run "apply_creates_hardened_aging_buckets" {
  command = apply

  assert {
    condition     = startswith(aws_s3_bucket.storage_data.bucket, "gpu-training-infra-") && endswith(aws_s3_bucket.storage_data.bucket, "-data-123456789012")
    error_message = "The data bucket must be named <project>-<env>-data-<account id>, got ${aws_s3_bucket.storage_data.bucket}."
  }

  assert {
    condition     = aws_s3_bucket.storage_outputs.bucket == replace(aws_s3_bucket.storage_data.bucket, "-data-123456789012", "-outputs-123456789012")
    error_message = "The outputs bucket must be named like the data bucket, with -outputs-, got ${aws_s3_bucket.storage_outputs.bucket}."
  }

  assert {
    condition     = output.training_bucket == aws_s3_bucket.storage_data.bucket && output.outputs_bucket == aws_s3_bucket.storage_outputs.bucket
    error_message = "The training_bucket and outputs_bucket outputs must name the buckets."
  }

  assert {
    condition     = !aws_s3_bucket.storage_data.force_destroy && !aws_s3_bucket.storage_outputs.force_destroy
    error_message = "Neither bucket may be force-destroyable."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_versioning.storage_data.versioning_configuration[0].status == "Enabled",
      aws_s3_bucket_versioning.storage_outputs.versioning_configuration[0].status == "Enabled",
    ])
    error_message = "Both buckets must keep object versions."
  }

  assert {
    condition = alltrue(flatten([
      for sse in [aws_s3_bucket_server_side_encryption_configuration.storage_data, aws_s3_bucket_server_side_encryption_configuration.storage_outputs] : [
        for rule in sse.rule : rule.apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
      ]
    ]))
    error_message = "Both buckets must be encrypted with SSE-S3 by default."
  }

  assert {
    condition = alltrue(flatten([
      for block in [aws_s3_bucket_public_access_block.storage_data, aws_s3_bucket_public_access_block.storage_outputs] : [
        block.block_public_acls, block.block_public_policy, block.ignore_public_acls, block.restrict_public_buckets,
      ]
    ]))
    error_message = "All four public access blocks must be on for both buckets."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_ownership_controls.storage_data.rule[0].object_ownership == "BucketOwnerEnforced",
      aws_s3_bucket_ownership_controls.storage_outputs.rule[0].object_ownership == "BucketOwnerEnforced",
    ])
    error_message = "ACLs must be off (BucketOwnerEnforced) on both buckets."
  }

  assert {
    condition = toset(flatten([
      for rule in aws_s3_bucket_lifecycle_configuration.storage_data.rule : [
        for t in rule.transition : "${t.storage_class}@${t.days}"
      ] if rule.id == "data-to-glacier" && rule.status == "Enabled"
    ])) == toset(["GLACIER@90"])
    error_message = "Data objects must move to Glacier after 90 days."
  }

  assert {
    condition = toset(flatten([
      for rule in aws_s3_bucket_lifecycle_configuration.storage_outputs.rule : [
        for t in rule.transition : "${t.storage_class}@${t.days}"
      ] if rule.id == "outputs-to-intelligent-tiering-then-glacier" && rule.status == "Enabled"
    ])) == toset(["INTELLIGENT_TIERING@30", "GLACIER@180"])
    error_message = "Outputs must move to Intelligent-Tiering after 30 days, then to Glacier after 180."
  }

  assert {
    condition = alltrue(flatten([
      for config in [aws_s3_bucket_lifecycle_configuration.storage_data, aws_s3_bucket_lifecycle_configuration.storage_outputs] : [
        anytrue([for rule in config.rule : rule.status == "Enabled" && try(rule.noncurrent_version_expiration[0].noncurrent_days, 0) == 30]),
        anytrue([for rule in config.rule : rule.status == "Enabled" && try(rule.abort_incomplete_multipart_upload[0].days_after_initiation, 0) == 7]),
      ]
    ]))
    error_message = "Both buckets must expire noncurrent versions after 30 days and abort incomplete uploads after 7."
  }

  # Known only after apply: the policy documents name the buckets' ARNs.
  assert {
    condition = alltrue([
      aws_s3_bucket_policy.storage_data.policy == data.aws_iam_policy_document.storage_data.json,
      aws_s3_bucket_policy.storage_outputs.policy == data.aws_iam_policy_document.storage_outputs.json,
    ])
    error_message = "Each bucket must carry its TLS-only bucket policy."
  }

  assert {
    condition     = output.training_bucket_arn == aws_s3_bucket.storage_data.arn && output.outputs_bucket_arn == aws_s3_bucket.storage_outputs.arn
    error_message = "The ARN outputs must be the buckets' ARNs."
  }

  assert {
    condition     = endswith(output.training_bucket, "-data-123456789012") && endswith(output.outputs_bucket, "-outputs-123456789012")
    error_message = "The bucket name outputs must end with the account id."
  }

  # The whole stack with the defaults (what stack.tftest.hcl would otherwise plan in a run of its own).
  assert {
    condition     = length(aws_instance.compute_training) == 0
    error_message = "The defaults must plan no training instance (create_instance defaults to false: no bill)."
  }

  assert {
    condition     = length(terraform_data.compute_run_id) == 0 && length(terraform_data.compute_launch_settings) == 0
    error_message = "Without an instance there is no run id and no replacement trigger."
  }

  # The stack is self-contained: the runtime guard's zip is where the JSON points (relative to the stack directory,
  # as plain `terraform apply` reads it), and it is the file whose hash the function deploys.
  assert {
    condition = alltrue([
      fileexists(aws_lambda_function.safety_guard.filename),
      filebase64sha256(aws_lambda_function.safety_guard.filename) == aws_lambda_function.safety_guard.source_code_hash,
    ])
    error_message = "The runtime guard's zip must exist at ${aws_lambda_function.safety_guard.filename} with the hash the function deploys."
  }

  # The placeholder guard lets this plan through: the mocked account is AWS's example account (shared/placeholders.tftest.hcl
  # proves a real account is refused).
  assert {
    condition     = data.aws_caller_identity.current.account_id == "123456789012"
    error_message = "The mocked account must be AWS's example account, the one the placeholder guard lets through."
  }
}
