/** Tests of training-fleet: outputs and refusals; training-fleet in the environment stacks. */
import { describe, expect, it } from "vitest";
import { GtiError } from "../../../src/errors";
import { FleetVariables } from "../../../src/fleet-variables";
import { realEnvironment } from "../../support/envs";
import { ENVIRONMENT } from "../../support/compute/stack";
import { buildFleet } from "../../support/fleet/stack";
import { moduleStack, outputsDeclaredUnder } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";
import { SUBNET, groupOf, independent, tagSpec } from "../../support/fleet/synth-fixtures";

describe("training-fleet: outputs and refusals", () => {
  it("GIVEN the fleet WHEN synthesized THEN fleet_asg_name and fleet_launch_template_id are output, with descriptions", () => {
    expect(independent.json.output?.fleet_asg_name).toMatchObject({ value: "${aws_autoscaling_group.fleet.name}" });
    expect(independent.json.output?.fleet_launch_template_id).toMatchObject({ value: "${aws_launch_template.fleet.id}" });
    expect(String(independent.json.output?.fleet_asg_name?.description)).toMatch(/auto-scaling group/);
  });

  it("GIVEN the fleet WHEN built THEN it offers its outputs and declares none itself (the stack does)", () => {
    expect(independent.fleet.outputs.map((o) => o.name)).toEqual(["fleet_asg_name", "fleet_launch_template_id"]);
    expect(outputsDeclaredUnder(independent.fleet)).toEqual([]);
  });

  it.each([
    ["a non-GPU type", { instanceTypes: ["t3.large"] }, /t3\.large are not in the GPU instance table/],
    ["no type", { instanceTypes: [] }, /instanceTypes is empty/],
    ["a type twice", { instanceTypes: ["g5.xlarge", "g5.xlarge"] }, /lists a type twice/],
    ["a placement group for independent workers", { placementGroup: true, subnetIds: [SUBNET] }, /multi-node training only/],
    ["a placement group over every subnet", { mode: "multi-node" as const, placementGroup: true }, /exactly one subnet id/],
    ["a drain timeout AWS refuses", { drainTimeoutSeconds: 10 }, /drainTimeoutSeconds 10 is not in 30\.\.7200/],
  ])("GIVEN %s WHEN constructed THEN a GtiError names the problem and the fix", (_what, fleet, message) => {
    let error: unknown;
    try {
      buildFleet(moduleStack(), { fleet });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GtiError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/Fix: /);
  });

  it("GIVEN a default over the maximum WHEN the fleet variables are built THEN they refuse it", () => {
    expect(() => new FleetVariables(moduleStack(), "FleetVariables", { maxInstances: 2, environment: ENVIRONMENT, desiredInstances: 3 })).toThrow(
      /defaults .* whole numbers in 0\.\.2/,
    );
  });
});

describe("training-fleet in the environment stacks", () => {
  it("GIVEN training (no fleet) WHEN synthesized THEN it has no fleet resources, variables or outputs", async () => {
    const { json, stack } = synthEnvironment(await realEnvironment("training"));
    const text = JSON.stringify(json);
    expect(text).not.toMatch(/aws_autoscaling_group|aws_launch_template|fleet_/);
    expect(Object.keys(json.variable ?? {})).not.toEqual(expect.arrayContaining(["desired_instances"]));
    expect(stack.fleet).toBeUndefined();
  });

  it("GIVEN dev WHEN synthesized THEN it has an independent fleet of at most 1 g4dn.xlarge", async () => {
    const { json, stack } = synthEnvironment(await realEnvironment("dev"));
    expect(groupOf(json)).toMatchObject({ name: "gpu-training-infra-dev-fleet", max_size: 1, min_size: 0 });
    expect(groupOf(json).mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "g4dn.xlarge" }]);
    expect(tagSpec(json, "instance")).toMatchObject({ GtiFleetMode: "fleet-independent", Project: "gpu-training-infra", Environment: "dev" });
    expect(stack.fleet?.autoScalingGroup).toBeDefined();
    expect(json.variable?.desired_instances).toMatchObject({ type: "number", default: 0, nullable: false });
  });

  it("GIVEN prod WHEN synthesized THEN it has a multi-node fleet of up to 8, its types in preference order", async () => {
    const { json } = synthEnvironment(await realEnvironment("prod"));
    expect(groupOf(json)).toMatchObject({ name: "gpu-training-infra-prod-fleet", max_size: 8 });
    expect(groupOf(json).mixed_instances_policy.launch_template.override.map((o: { instance_type: string }) => o.instance_type)).toEqual([
      "g4dn.2xlarge",
      "g4dn.4xlarge",
      "g5.2xlarge",
    ]);
    expect(tagSpec(json, "instance")).toMatchObject({ GtiFleetMode: "fleet-multinode", RunId: "${local.fleet_run_id}", Environment: "prod" });
    expect(json.variable?.desired_instances?.validation).toEqual([
      expect.objectContaining({ condition: expect.stringContaining("var.desired_instances <= 8") }),
    ]);
  });
});
