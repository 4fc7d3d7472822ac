# training-fleet under terraform test, against a mocked AWS, on the stacks of envs with a fleet (dev, prod): what ops
# teams pass with -var (desired_instances, on_demand_base_capacity, use_spot, spot_max_price), on the synthesized
# JSON. var.fleet_max_instances is not a stack variable: the harness writes it per env into tests/fleet.auto.tfvars
# (the env's fleet.maxInstances), so that the same runs prove each env's exact boundary. Plans only (cheap); the
# plans asserting computed values (ids, ARNs) use a mock whose values are known at plan.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "aws" {
  alias           = "known_at_plan"
  source          = "./tests/mocks"
  override_during = plan
}

run "plan_defaults_scaled_to_zero_on_spot" {
  command = plan

  providers = {
    aws = aws.known_at_plan
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.fleet.min_size == 0,
      aws_autoscaling_group.fleet.desired_capacity == 0,
      aws_autoscaling_group.fleet.max_size == var.fleet_max_instances,
    ])
    error_message = "The defaults must scale the fleet to zero (min 0, desired 0), up to the env's fleet.maxInstances."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].on_demand_base_capacity == 0,
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].on_demand_percentage_above_base_capacity == 0,
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].spot_allocation_strategy == "price-capacity-optimized",
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].on_demand_allocation_strategy == "prioritized",
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].spot_max_price == var.spot_max_price,
      length(aws_autoscaling_group.fleet.mixed_instances_policy[0].launch_template[0].override) > 0,
    ])
    error_message = "The defaults must be all spot (use_spot = true, no on-demand base), price-capacity-optimized, capped at spot_max_price, over the env's instance types."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.fleet.mixed_instances_policy[0].launch_template[0].launch_template_specification[0].launch_template_id == aws_launch_template.fleet.id,
      aws_autoscaling_group.fleet.mixed_instances_policy[0].launch_template[0].launch_template_specification[0].version == tostring(aws_launch_template.fleet.latest_version),
      aws_launch_template.fleet.update_default_version,
      aws_autoscaling_group.fleet.instance_refresh[0].preferences[0].min_healthy_percentage == 0,
      aws_autoscaling_group.fleet.instance_refresh[0].preferences[0].skip_matching,
    ])
    error_message = "The group must follow the template's latest version (a new version starts an instance refresh, all nodes at once)."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.fleet.capacity_rebalance,
      aws_autoscaling_group.fleet.wait_for_capacity_timeout == "0",
      contains(aws_autoscaling_group.fleet.enabled_metrics, "GroupDesiredCapacity"),
    ])
    error_message = "The group must rebalance spot capacity, never make apply wait for capacity, and collect its (free) group metrics."
  }

  assert {
    condition = alltrue([
      aws_autoscaling_lifecycle_hook.fleet_drain.autoscaling_group_name == aws_autoscaling_group.fleet.name,
      aws_autoscaling_lifecycle_hook.fleet_drain.name == "${aws_autoscaling_group.fleet.name}-drain",
      aws_autoscaling_lifecycle_hook.fleet_drain.lifecycle_transition == "autoscaling:EC2_INSTANCE_TERMINATING",
      aws_autoscaling_lifecycle_hook.fleet_drain.heartbeat_timeout == 300,
      aws_autoscaling_lifecycle_hook.fleet_drain.default_result == "CONTINUE",
    ])
    error_message = "The group must have the <group>-drain termination hook: 300 s to drain, then CONTINUE."
  }

  assert {
    condition = alltrue([
      aws_launch_template.fleet.metadata_options[0].http_tokens == "required",
      aws_launch_template.fleet.metadata_options[0].http_put_response_hop_limit == 1,
      aws_launch_template.fleet.metadata_options[0].instance_metadata_tags == "enabled",
      aws_launch_template.fleet.block_device_mappings[0].ebs[0].encrypted == "true",
      aws_launch_template.fleet.block_device_mappings[0].ebs[0].volume_type == "gp3",
      aws_launch_template.fleet.block_device_mappings[0].ebs[0].volume_size == var.root_volume_size_gb,
      aws_launch_template.fleet.iam_instance_profile[0].arn == aws_iam_instance_profile.compute_instance.arn,
      contains(aws_launch_template.fleet.network_interfaces[0].security_groups, aws_security_group.compute.id),
      aws_launch_template.fleet.network_interfaces[0].associate_public_ip_address == "true",
      startswith(aws_launch_template.fleet.image_id, "resolve:ssm:/aws/service/deeplearning/"),
    ])
    error_message = "Nodes must launch like the single instance: IMDSv2 (hop limit 1, tags), encrypted gp3 root, the shared profile and security group, the DLAMI."
  }

  assert {
    condition = alltrue(flatten([for spec in aws_launch_template.fleet.tag_specifications : [
      contains(["instance", "volume"], spec.resource_type),
      spec.tags["Project"] == one([for t in aws_autoscaling_group.fleet.tag : t.value if t.key == "Project"]),
      spec.tags["Environment"] == one([for t in aws_autoscaling_group.fleet.tag : t.value if t.key == "Environment"]),
      spec.tags["MaxRuntimeHours"] == tostring(var.max_runtime_hours),
      startswith(spec.tags["GtiFleetMode"], "fleet-"),
    ]])) && length(aws_launch_template.fleet.tag_specifications) == 2
    error_message = "Nodes and their volumes must carry the default tags (Project, Environment, ...), MaxRuntimeHours and GtiFleetMode."
  }

  assert {
    condition     = output.fleet_asg_name == aws_autoscaling_group.fleet.name && output.fleet_launch_template_id == aws_launch_template.fleet.id
    error_message = "fleet_asg_name and fleet_launch_template_id must name the group and the template."
  }
}

run "plan_at_maximum_on_demand_with_base" {
  command = plan

  variables {
    desired_instances       = var.fleet_max_instances
    on_demand_base_capacity = var.fleet_max_instances
    use_spot                = false
    spot_max_price          = "0.75"
  }

  assert {
    condition = alltrue([
      aws_autoscaling_group.fleet.desired_capacity == var.fleet_max_instances,
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].on_demand_base_capacity == var.fleet_max_instances,
      aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].spot_max_price == "0.75",
    ])
    error_message = "The env's maximum must be accepted, with an on-demand base as large as the fleet (the boundary)."
  }

  assert {
    condition     = aws_autoscaling_group.fleet.mixed_instances_policy[0].instances_distribution[0].on_demand_percentage_above_base_capacity == 100
    error_message = "use_spot = false must make the fleet 100% on demand."
  }
}

# The other rules of desired_instances and on_demand_base_capacity (whole numbers, base <= desired) and every message
# are proven by __tests__/core/fleet-variables.test.ts with terraform console, which is much cheaper than a run.
run "desired_over_maximum_is_rejected" {
  command = plan

  variables {
    desired_instances = var.fleet_max_instances + 1
  }

  expect_failures = [var.desired_instances]
}
