/** Tests of training-fleet: the runtime configuration; training-fleet: permissions of the nodes. */
import { describe, expect, it } from "vitest";
import { FLEET_DISCOVERY_ACTIONS, FLEET_LIFECYCLE_ACTIONS } from "../../../modules/training-fleet";
import { isStarResourceAction } from "../../../src/policy/rules/iam";
import { resourceOf } from "../../support/synth";
import { buildCompute, runtimeEnvOf } from "../../support/compute/stack";
import { moduleStack, statementsOf } from "../../support/module-stack";
import { NAME, independent, multiNode } from "../../support/fleet/synth-fixtures";

describe("training-fleet: the runtime configuration", () => {
  it("GIVEN independent mode WHEN its runtime.env is written THEN it names the mode, the group, the hook and no run id", () => {
    const env = new Map(runtimeEnvOf(independent.json, "fleet_independent"));
    expect(Object.fromEntries([...env].filter(([key]) => key.startsWith("GTI_FLEET_") || key === "GTI_MODE" || key === "GTI_RUN_ID"))).toEqual({
      GTI_MODE: "fleet-independent",
      GTI_RUN_ID: "",
      GTI_FLEET_ASG_NAME: NAME,
      GTI_FLEET_LIFECYCLE_HOOK: `${NAME}-drain`,
      GTI_FLEET_MASTER_PORT: "29500",
      GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "600",
      GTI_FLEET_DRAIN_SECONDS: "300",
    });
  });

  it("GIVEN multi-node mode WHEN its runtime.env is written THEN it has the shared run id, the port and the rendezvous timeout", () => {
    const env = new Map(runtimeEnvOf(multiNode.json, "fleet_multinode"));
    expect(env.get("GTI_MODE")).toBe("fleet-multinode");
    expect(env.get("GTI_RUN_ID")).toBe("${local.fleet_run_id}");
    expect(env.get("GTI_FLEET_MASTER_PORT")).toBe("29600");
    expect(env.get("GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS")).toBe("900");
  });

  it("GIVEN the fleet entries WHEN the runtime.env is written THEN they come after the shared ones, which are unchanged", () => {
    const single = runtimeEnvOf(independent.json, "single").map(([key]) => key);
    const fleet = runtimeEnvOf(independent.json, "fleet_independent").map(([key]) => key);
    expect(fleet).toEqual([
      ...single,
      "GTI_FLEET_ASG_NAME",
      "GTI_FLEET_LIFECYCLE_HOOK",
      "GTI_FLEET_MASTER_PORT",
      "GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS",
      "GTI_FLEET_DRAIN_SECONDS",
    ]);
    expect(single.some((key) => key.startsWith("GTI_FLEET_"))).toBe(false);
  });

  it("GIVEN an extra entry that repeats a shared key WHEN the user data is built THEN a GtiError names the key", () => {
    const { compute } = buildCompute(moduleStack());
    expect(() => compute.launchSpec.userData({ mode: "fleet-x", extraEnv: [{ key: "GTI_MODE", value: "other" }] })).toThrow(
      /GTI_MODE is set twice/,
    );
  });

  it("GIVEN a mode's user data WHEN asked again with other extra entries THEN a GtiError refuses a second, different one", () => {
    const spec = independent.compute.launchSpec;
    expect(() => spec.userData({ mode: "fleet-independent", extraEnv: [] })).toThrow(/already built with another run id or other extra entries/);
  });
});

describe("training-fleet: permissions of the nodes", () => {
  const statements = statementsOf(independent.json, "compute_instance_fleet_node");

  it("GIVEN the fleet WHEN synthesized THEN peer discovery is the two Describe calls AWS only grants on *", () => {
    const discover = statements.find((s) => s.sid === "DiscoverFleetPeers");
    expect(discover).toMatchObject({ effect: "Allow", actions: [...FLEET_DISCOVERY_ACTIONS], resources: ["*"] });
    expect(discover?.actions?.every(isStarResourceAction)).toBe(true);
  });

  it("GIVEN the fleet WHEN synthesized THEN completing the drain hook and leaving the group are allowed on this group only", () => {
    expect(statements.find((s) => s.sid === "DrainAndLeaveOwnFleet")).toMatchObject({
      effect: "Allow",
      actions: [...FLEET_LIFECYCLE_ACTIONS],
      resources: [
        `arn:\${data.aws_partition.current.partition}:autoscaling:\${data.aws_region.current.name}:\${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/${NAME}`,
      ],
    });
  });

  it("GIVEN the grant WHEN synthesized THEN it is an inline policy of the shared instance role and nothing else is on *", () => {
    expect(resourceOf(independent.json, "aws_iam_role_policy", "compute_instance_fleet_node")).toMatchObject({
      role: "${aws_iam_role.compute_instance.name}",
      name: "fleet-node",
    });
    expect(statements.filter((s) => s.resources?.includes("*")).flatMap((s) => s.actions)).toEqual([...FLEET_DISCOVERY_ACTIONS]);
  });
});
