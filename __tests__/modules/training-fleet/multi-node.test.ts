/** Tests of training-fleet: multi-node mode. */
import { describe, expect, it } from "vitest";
import { resourceOf, resourcesOf } from "../../support/synth";
import { violationsOf } from "../../support/compute/stack";
import { NAME, customized, groupOf, independent, multiNode, templateOf } from "../../support/fleet/synth-fixtures";

describe("training-fleet: multi-node mode", () => {
  it("GIVEN multi-node mode WHEN synthesized THEN the run id is generated once, frozen, and regenerated when the fleet starts from zero", () => {
    expect(resourceOf(multiNode.json, "terraform_data", "fleet_run_id")).toMatchObject({
      input: 'run-${formatdate("YYYYMMDD-hhmmss", timestamp())}',
      triggers_replace: { running: "${var.desired_instances > 0}" },
      lifecycle: { ignore_changes: ["input"] },
    });
    expect(resourceOf(multiNode.json, "terraform_data", "fleet_run_id").count).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN var.run_id overrides the generated id", () => {
    expect(multiNode.json.locals?.fleet_run_id).toBe('${var.run_id != "" ? var.run_id : terraform_data.fleet_run_id.output}');
  });

  it("GIVEN independent mode WHEN synthesized THEN there is no shared run id", () => {
    expect(resourcesOf(independent.json, "terraform_data").fleet_run_id).toBeUndefined();
    expect(independent.json.locals?.fleet_run_id).toBeUndefined();
    expect(independent.fleet.runId).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN a security group of the nodes admits TCP from its own members only", () => {
    expect(resourceOf(multiNode.json, "aws_security_group", "fleet_nodes")).toMatchObject({
      name: `${NAME}-nodes`,
      vpc_id: "${data.aws_vpc.compute_default.id}",
    });
    const rule = resourceOf(multiNode.json, "aws_vpc_security_group_ingress_rule", "fleet_nodes");
    expect(rule).toMatchObject({
      security_group_id: "${aws_security_group.fleet_nodes.id}",
      referenced_security_group_id: "${aws_security_group.fleet_nodes.id}",
      ip_protocol: "tcp",
      from_port: 0,
      to_port: 65535,
    });
    expect(rule.description).toMatch(/torchrun rendezvous on 29600.*NCCL/);
    expect(rule.cidr_ipv4).toBeUndefined();
    expect(rule.cidr_ipv6).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN no other ingress is added and the nodes carry both security groups", () => {
    expect(Object.keys(resourcesOf(multiNode.json, "aws_vpc_security_group_ingress_rule"))).toEqual(["fleet_nodes"]);
    expect(templateOf(multiNode.json).network_interfaces[0].security_groups).toEqual([
      "${aws_security_group.compute.id}",
      "${aws_security_group.fleet_nodes.id}",
    ]);
  });

  it("GIVEN independent mode WHEN synthesized THEN no node-to-node security group exists", () => {
    expect(resourcesOf(independent.json, "aws_security_group").fleet_nodes).toBeUndefined();
    expect(resourcesOf(independent.json, "aws_vpc_security_group_ingress_rule")).toEqual({});
  });

  it("GIVEN a placement group WHEN synthesized THEN the group launches in a cluster placement group", () => {
    expect(resourceOf(multiNode.json, "aws_placement_group", "fleet")).toMatchObject({ name: NAME, strategy: "cluster" });
    expect(groupOf(multiNode.json).placement_group).toBe("${aws_placement_group.fleet.name}");
  });

  it("GIVEN multi-node without a placement group WHEN synthesized THEN there is none", () => {
    expect(resourcesOf(customized.json, "aws_placement_group")).toEqual({});
    expect(groupOf(customized.json).placement_group).toBeUndefined();
  });

  it("GIVEN multi-node mode with a placement group WHEN checked by the policy packs THEN nothing is reported", () => {
    expect(violationsOf(multiNode.stack)).toEqual([]);
  });

  it("GIVEN independent mode WHEN checked by the policy packs THEN nothing is reported", () => {
    expect(violationsOf(independent.stack)).toEqual([]);
  });
});
