/** Settings of spot fleet mode (an auto-scaling group of 0..N GPU instances). */
import { z } from "zod";
import { DRAIN_TIMEOUT_SECONDS_RANGE, RENDEZVOUS_TIMEOUT_SECONDS_RANGE } from "../../../modules/training-fleet/limits";
import { gpuInstanceType, intInRange, rule } from "./common";

/** Defined with the construct that enforces them; re-exported for the schema. */
export { DRAIN_TIMEOUT_SECONDS_RANGE, RENDEZVOUS_TIMEOUT_SECONDS_RANGE };

export const fleetSchema = z
  .strictObject({
    /** Create the fleet (launch template and auto-scaling group, scaled by `desired_instances`). @default false */
    enabled: z.boolean().default(false),
    /** Upper bound of the fleet; `desired_instances` is validated against it. @default 1 */
    maxInstances: intInRange(1, 100, "instances").default(1),
    /** Terraform variable default of `desired_instances`. @default 0: scaled to zero */
    desiredInstances: intInRange(0, 100, "instances").default(0),
    /** Terraform variable default of `on_demand_base_capacity`. @default 0: all spot */
    onDemandBaseCapacity: intInRange(0, 100, "instances").default(0),
    /** Instance types in order of preference (mixed instances policy). @default ["g5.xlarge"] */
    instanceTypes: z
      .array(gpuInstanceType)
      .min(1, { error: rule("the fleet needs at least one instance type", `list e.g. ["g5.xlarge", "g6.xlarge"]`) })
      .default(["g5.xlarge"]),
    /** `multi-node`: one torchrun job across all nodes; `independent`: each node its own run. @default "independent" */
    mode: z.enum(["independent", "multi-node"]).default("independent"),
    /** Launch nodes in a cluster placement group (multi-node only). @default false */
    placementGroup: z.boolean().default(false),
    /** Subnet ids to launch in. @default every subnet of the stack's VPC */
    subnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: rule("not a subnet id", `use "subnet-" and hex digits`) }))
      .min(1, { error: rule("an empty list leaves the fleet nowhere to launch", "list at least one subnet id, or leave subnetIds out") })
      .optional(),
    /** Rendezvous port of torchrun on the rank-0 node (multi-node only). @default 29500 */
    masterPort: intInRange(1024, 65535, "port numbers").default(29500),
    /**
     * Seconds a multi-node node waits for the expected peers (`GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS`).
     * @default 600
     */
    rendezvousTimeoutSeconds: intInRange(
      RENDEZVOUS_TIMEOUT_SECONDS_RANGE.min,
      RENDEZVOUS_TIMEOUT_SECONDS_RANGE.max,
      "seconds",
    ).default(600),
    /**
     * Seconds a terminating node gets for its final checkpoint sync (heartbeat timeout of the termination lifecycle
     * hook; the group terminates it when the runtime completes the hook, or when this runs out).
     * @default 300
     */
    drainTimeoutSeconds: intInRange(DRAIN_TIMEOUT_SECONDS_RANGE.min, DRAIN_TIMEOUT_SECONDS_RANGE.max, "seconds").default(300),
  })
  .superRefine((value, ctx) => {
    for (const field of ["desiredInstances", "onDemandBaseCapacity"] as const) {
      if (value[field] > value.maxInstances) {
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: rule(`must not exceed fleet.maxInstances (${value.maxInstances})`, `lower ${field} or raise maxInstances`),
        });
      }
    }
    if (value.placementGroup && value.mode !== "multi-node") {
      ctx.addIssue({
        code: "custom",
        path: ["placementGroup"],
        message: rule(
          "a cluster placement group only helps multi-node training (and limits capacity otherwise)",
          `set fleet.mode = "multi-node", or placementGroup = false`,
        ),
      });
    }
    const seen = new Set<string>();
    value.instanceTypes.forEach((type, index) => {
      if (seen.has(type)) {
        ctx.addIssue({
          code: "custom",
          path: ["instanceTypes", index],
          message: rule(`${type} is listed twice (each type is one override of the mixed instances policy)`, "list each type once, in order of preference"),
        });
      }
      seen.add(type);
    });
    // AWS: "You cannot specify multiple Availability Zones and a cluster placement group" (CreateAutoScalingGroup).
    if (value.placementGroup && value.subnetIds?.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["subnetIds"],
        message: rule(
          `a cluster placement group lives in one availability zone, so the group needs exactly one subnet (${value.subnetIds === undefined ? "none listed: the fleet would spread over every subnet" : `${value.subnetIds.length} listed`})`,
          "set fleet.subnetIds to one subnet, in a zone that offers your instance types",
        ),
      });
    }
  });
