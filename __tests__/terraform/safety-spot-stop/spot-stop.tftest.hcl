# The safety module's spot stop check (modules/training-safety/spot-stop-check.ts) planned by terraform test, on a stack
# holding only the variables and the check, as an env with compute.useSpot = false and safety.guard.action = "stop"
# synthesizes it (no provider, no mock: each plan takes milliseconds).

run "plan_on_demand_instance_is_accepted" {
  command = plan

  variables {
    create_instance = true
    use_spot        = false
  }

  assert {
    condition     = length(terraform_data.safety_spot_stop_check) == 1
    error_message = "With the instance, the check exists (and passes on demand)."
  }
}

run "plan_one_time_spot_with_a_stopping_guard_is_refused" {
  command = plan

  variables {
    create_instance = true
    use_spot        = true
  }

  expect_failures = [terraform_data.safety_spot_stop_check]
}

run "plan_spot_without_an_instance_is_accepted" {
  command = plan

  variables {
    create_instance = false
    use_spot        = true
  }

  assert {
    condition     = length(terraform_data.safety_spot_stop_check) == 0
    error_message = "Without the single instance there is nothing to stop: use_spot (the fleet's spot share) is free."
  }
}
