# The bootstrap stack under terraform test, against a mocked AWS: it plans and applies, creates one hardened state
# bucket, and refuses to destroy it (prevent_destroy; the suite asserts the teardown refusal).

mock_provider "aws" {
  source = "./tests/mocks"
}

run "plan_creates_the_state_bucket" {
  command = plan

  assert {
    condition     = aws_s3_bucket.state.bucket == "gpu-training-infra-tfstate-123456789012"
    error_message = "The state bucket must be the one every environment's backend names."
  }

  assert {
    condition     = aws_s3_bucket.state.force_destroy == false
    error_message = "The state bucket must not be force-destroyable."
  }

  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "State versions must be kept."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.state.block_public_acls,
      aws_s3_bucket_public_access_block.state.block_public_policy,
      aws_s3_bucket_public_access_block.state.ignore_public_acls,
      aws_s3_bucket_public_access_block.state.restrict_public_buckets,
    ])
    error_message = "All four public access blocks must be on."
  }

  # The placeholder guard lets this plan through: the mocked account is AWS's example account (shared/placeholders.tftest.hcl
  # proves a real account is refused).
  assert {
    condition     = data.aws_caller_identity.current.account_id == "123456789012"
    error_message = "The mocked account must be AWS's example account, the one the placeholder guard lets through."
  }
}

run "apply_creates_the_state_bucket" {
  command = apply

  assert {
    condition     = output.state_bucket == "gpu-training-infra-tfstate-123456789012"
    error_message = "The state_bucket output must name the bucket."
  }
}
