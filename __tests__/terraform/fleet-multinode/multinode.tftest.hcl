# A multi-node fleet (prod) under terraform test, against a mocked AWS: the shared run id reaches every node (runtime
# configuration and RunId tag) and the nodes reach each other through their own security group only. One plan, with
# run_id set (so the id is known at plan). How the id is generated and kept is proven, with applies, on a stack holding
# only the run id (__tests__/modules/training-fleet/run-id.test.ts): much cheaper than applying this whole stack.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

run "plan_shared_run_id_and_node_to_node_traffic" {
  command = plan

  variables {
    desired_instances = 2
    run_id            = "run-resume-me"
  }

  assert {
    condition = alltrue([
      local.fleet_run_id == "run-resume-me",
      aws_launch_template.fleet.tag_specifications[0].tags["RunId"] == "run-resume-me",
      aws_launch_template.fleet.tag_specifications[1].tags["RunId"] == "run-resume-me",
      strcontains(local.compute_user_data_fleet_multinode, "GTI_RUN_ID='run-resume-me'"),
      strcontains(local.compute_user_data_fleet_multinode, "GTI_MODE='fleet-multinode'"),
      strcontains(local.compute_user_data_fleet_multinode, "GTI_FLEET_ASG_NAME='${aws_autoscaling_group.fleet.name}'"),
    ])
    error_message = "Every node must get the shared run id (run_id overrides the generated one), in its runtime configuration and its RunId tag."
  }

  assert {
    condition = alltrue([
      aws_vpc_security_group_ingress_rule.fleet_nodes.security_group_id == aws_security_group.fleet_nodes.id,
      aws_vpc_security_group_ingress_rule.fleet_nodes.referenced_security_group_id == aws_security_group.fleet_nodes.id,
      aws_vpc_security_group_ingress_rule.fleet_nodes.ip_protocol == "tcp",
      aws_vpc_security_group_ingress_rule.fleet_nodes.cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.fleet_nodes.cidr_ipv6 == null,
      aws_launch_template.fleet.network_interfaces[0].security_groups == toset([aws_security_group.compute.id, aws_security_group.fleet_nodes.id]),
    ])
    error_message = "Node-to-node traffic must be admitted from the nodes' own security group only, and the nodes must carry it."
  }
}
