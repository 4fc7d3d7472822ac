# The shared run id of a multi-node fleet (modules/training-fleet/run-id.ts), applied by terraform test on a stack
# holding only the variables, the run id and two test outputs (no provider, no mock: each apply takes milliseconds).
# terraform_data.fleet_run_id's id changes exactly when the resource is replaced, i.e. when the run id is regenerated:
# comparing it across runs does not depend on the clock (two ids generated within one second look alike).

run "apply_scaled_to_zero" {
  variables {
    desired_instances = 0
  }

  assert {
    condition     = can(regex("^run-[0-9]{8}-[0-9]{6}$", output.run_id))
    error_message = "The generated id must be run-YYYYMMDD-hhmmss, got ${output.run_id}."
  }
}

run "apply_scale_up_starts_a_new_run" {
  variables {
    desired_instances = 2
  }

  assert {
    condition     = output.run_id_resource != run.apply_scaled_to_zero.run_id_resource && can(regex("^run-[0-9]{8}-[0-9]{6}$", output.run_id))
    error_message = "Scaling up from zero must generate a new run id (a new job)."
  }
}

run "apply_scale_out_keeps_the_run" {
  variables {
    desired_instances = 5
  }

  assert {
    condition     = output.run_id_resource == run.apply_scale_up_starts_a_new_run.run_id_resource && output.run_id == run.apply_scale_up_starts_a_new_run.run_id
    error_message = "Resizing a running fleet (2 to 5 nodes) must keep the job's run id."
  }
}

run "apply_scale_in_keeps_the_run" {
  variables {
    desired_instances = 1
  }

  assert {
    condition     = output.run_id == run.apply_scale_up_starts_a_new_run.run_id
    error_message = "Scaling in (5 to 1 node) must keep the job's run id."
  }
}

run "apply_scale_to_zero_regenerates" {
  variables {
    desired_instances = 0
  }

  assert {
    condition     = output.run_id_resource != run.apply_scale_up_starts_a_new_run.run_id_resource
    error_message = "Scaling to zero must regenerate the id (the next job must not reuse the finished one's)."
  }
}

run "apply_run_id_overrides" {
  variables {
    desired_instances = 3
    run_id            = "run-resume-me"
  }

  assert {
    condition     = output.run_id == "run-resume-me"
    error_message = "run_id must override the generated id (resume a job)."
  }
}
