# Every environment stack under terraform test, against a mocked AWS: the used-by scenarios of ops teams, run on the
# synthesized JSON exactly as they would run them (`terraform plan -var ...`), without re-synthesizing.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "plan_with_defaults" {
  command = plan

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

run "plan_with_create_instance" {
  command = plan

  variables {
    create_instance = true
  }

  assert {
    condition     = length(aws_instance.compute_training) == 1
    error_message = "create_instance=true must plan exactly one training instance."
  }

  assert {
    condition     = length(aws_instance.compute_training[0].instance_market_options) == 1 && aws_instance.compute_training[0].instance_market_options[0].market_type == "spot"
    error_message = "The instance must be a spot instance by default (use_spot defaults to true)."
  }

  assert {
    condition = alltrue([
      aws_instance.compute_training[0].instance_market_options[0].spot_options[0].spot_instance_type == "one-time",
      aws_instance.compute_training[0].instance_market_options[0].spot_options[0].instance_interruption_behavior == "terminate",
    ])
    error_message = "The spot request must be one-time and terminate on interruption (the envs' setting)."
  }
}

run "plan_with_create_instance_on_demand" {
  command = plan

  variables {
    create_instance = true
    use_spot        = false
  }

  assert {
    condition     = length(aws_instance.compute_training) == 1
    error_message = "create_instance=true with use_spot=false must plan exactly one training instance."
  }

  assert {
    condition     = length(aws_instance.compute_training[0].instance_market_options) == 0
    error_message = "use_spot=false must plan an on-demand instance: no instance_market_options."
  }
}
