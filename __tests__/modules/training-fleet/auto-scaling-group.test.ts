/** Tests of training-fleet: the auto-scaling group; training-fleet: the drain hook. */
import { describe, expect, it } from "vitest";
import { FLEET_GROUP_METRICS } from "../../../modules/training-fleet";
import { dataOf, resourceOf, resourcesOf } from "../../support/synth";
import { NAME, SUBNET, customized, groupOf, independent, multiNode } from "../../support/fleet/synth-fixtures";

describe("training-fleet: the auto-scaling group", () => {
  const group = groupOf(independent.json);

  it("GIVEN the fleet variables WHEN synthesized THEN the group is 0..max, sized by var.desired_instances, named <prefix>-fleet", () => {
    expect(group).toMatchObject({ name: NAME, min_size: 0, max_size: 4, desired_capacity: "${var.desired_instances}" });
    expect(independent.fleet.autoScalingGroupName).toBe(NAME);
  });

  it("GIVEN no subnet ids WHEN synthesized THEN the group spreads over every subnet of the launch spec's network", () => {
    expect(group.vpc_zone_identifier).toBe("${data.aws_subnets.compute.ids}");
    expect(dataOf(independent.json, "aws_subnets", "compute").filter).toEqual([
      { name: "vpc-id", values: ["${data.aws_vpc.compute_default.id}"] },
      { name: "default-for-az", values: ["true"] },
    ]);
  });

  it("GIVEN a dedicated VPC WHEN synthesized THEN the group spreads over its public subnets and the nodes' group lives in it", () => {
    expect(groupOf(customized.json).vpc_zone_identifier).toEqual(["${aws_subnet.compute_public_1.id}", "${aws_subnet.compute_public_2.id}"]);
    expect(resourceOf(customized.json, "aws_security_group", "fleet_nodes").vpc_id).toBe("${aws_vpc.compute.id}");
  });

  it("GIVEN subnet ids WHEN synthesized THEN the group uses exactly those and looks none up", () => {
    expect(groupOf(multiNode.json).vpc_zone_identifier).toEqual([SUBNET]);
    expect(multiNode.json.data?.aws_subnets).toBeUndefined();
  });

  it("GIVEN the env's ordered instance types WHEN synthesized THEN they are the overrides, in order", () => {
    expect(group.mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "g5.xlarge" }, { instance_type: "g6.xlarge" }]);
  });

  it("GIVEN the variables WHEN synthesized THEN the spot mix follows use_spot, on_demand_base_capacity and spot_max_price", () => {
    expect(group.mixed_instances_policy.instances_distribution).toEqual({
      on_demand_allocation_strategy: "prioritized",
      on_demand_base_capacity: "${var.on_demand_base_capacity}",
      on_demand_percentage_above_base_capacity: "${var.use_spot ? 0 : 100}",
      spot_allocation_strategy: "price-capacity-optimized",
      spot_max_price: "${var.spot_max_price}",
    });
  });

  it("GIVEN the launch template WHEN synthesized THEN the group follows its latest version number (never $Latest)", () => {
    expect(group.mixed_instances_policy.launch_template.launch_template_specification).toEqual({
      launch_template_id: "${aws_launch_template.fleet.id}",
      version: "${aws_launch_template.fleet.latest_version}",
    });
    expect(group.launch_template).toBeUndefined();
  });

  it("GIVEN a template change WHEN applied THEN an instance refresh replaces every node at once, terminating first", () => {
    expect(group.instance_refresh).toEqual({
      strategy: "Rolling",
      preferences: { min_healthy_percentage: 0, max_healthy_percentage: 100, skip_matching: true },
    });
  });

  it("GIVEN spot capacity WHEN applied THEN the group rebalances it and apply never waits for capacity", () => {
    expect(group).toMatchObject({ capacity_rebalance: true, wait_for_capacity_timeout: "0", health_check_type: "EC2" });
  });

  it("GIVEN the group WHEN synthesized THEN every group metric is collected each minute", () => {
    expect(group).toMatchObject({ metrics_granularity: "1Minute", enabled_metrics: [...FLEET_GROUP_METRICS] });
  });

  it("GIVEN the role's grants WHEN synthesized THEN the group waits for them (no node boots without its permissions)", () => {
    expect(group.depends_on).toEqual(
      expect.arrayContaining(["aws_iam_role_policy.compute_instance_fleet_node", "aws_iam_role_policy.compute_instance_write_runs"]),
    );
  });

  it("GIVEN independent mode WHEN synthesized THEN there is no placement group", () => {
    expect(group.placement_group).toBeUndefined();
    expect(resourcesOf(independent.json, "aws_placement_group")).toEqual({});
  });
});

describe("training-fleet: the drain hook", () => {
  it("GIVEN the group WHEN synthesized THEN a termination hook <group>-drain gives nodes 300 s, then continues", () => {
    expect(resourceOf(independent.json, "aws_autoscaling_lifecycle_hook", "fleet_drain")).toMatchObject({
      name: `${NAME}-drain`,
      autoscaling_group_name: "${aws_autoscaling_group.fleet.name}",
      lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeat_timeout: 300,
      default_result: "CONTINUE",
    });
  });

  it("GIVEN a drain timeout WHEN synthesized THEN it is the hook's heartbeat timeout", () => {
    expect(resourceOf(customized.json, "aws_autoscaling_lifecycle_hook", "fleet_drain").heartbeat_timeout).toBe(900);
  });
});
