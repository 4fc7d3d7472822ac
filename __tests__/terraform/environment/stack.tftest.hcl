# Every environment stack under terraform test, against a mocked AWS: the used-by scenarios of ops teams, run on the
# synthesized JSON exactly as they would run them (`terraform plan -var ...`), without re-synthesizing.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "plan_with_defaults" {
  command = plan
}

run "plan_with_create_instance" {
  command = plan

  variables {
    create_instance = true
  }
}

run "plan_with_create_instance_on_demand" {
  command = plan

  variables {
    create_instance = true
    use_spot        = false
  }
}
