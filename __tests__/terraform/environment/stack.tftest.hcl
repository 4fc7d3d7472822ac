# Every environment stack under terraform test, against a mocked AWS: the used-by scenarios of ops teams, run on the
# synthesized JSON exactly as they would run them (`terraform plan -var ...`), without re-synthesizing. (The defaults
# are asserted in storage.tftest.hcl's apply, which runs with the same variables: one provider start fewer.)

mock_provider "aws" {
  source = "./tests/mocks"
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
