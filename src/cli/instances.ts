/**
 * The env's instances (the single instance and fleet nodes), found the way the runtime guard finds them: by the
 * `Project` and `Environment` tags every instance carries (modules/training-safety/runtime-guard/guard.ts).
 */
import { type Instance, paginateDescribeInstances } from "@aws-sdk/client-ec2";
import { INSTANCE_TAGS } from "../../modules/training-compute/contract";
import { parseMaxRuntimeHours } from "../../modules/training-safety/runtime-guard/decide";
import { AUTO_SCALING_GROUP_TAG } from "../../modules/training-safety/runtime-guard/guard";
import type { EnvironmentConfig } from "../config/schema";
import type { Context } from "./context";
import { aws } from "./errors";

/** States shown by `gti status` (terminated instances are gone). */
export const LISTED_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"] as const;

/** One instance of the env. */
export interface TrainingNode {
  readonly id: string;
  readonly type: string;
  /** `spot` or `on-demand`. */
  readonly market: "spot" | "on-demand";
  /** EC2 state, e.g. `running`. */
  readonly state: string;
  readonly launchTime: Date;
  /** The `RunId` tag (single instance, multi-node fleet). */
  readonly runId: string | undefined;
  /** The `MaxRuntimeHours` tag, when valid. */
  readonly maxRuntimeHours: number | undefined;
  /** The auto scaling group of a fleet node. */
  readonly group: string | undefined;
  readonly availabilityZone: string | undefined;
}

/** The env's instances in {@link LISTED_STATES} (or `states`), oldest first. */
export async function findNodes(
  ctx: Context,
  config: EnvironmentConfig,
  states: readonly string[] = LISTED_STATES,
): Promise<TrainingNode[]> {
  const ec2 = ctx.clients.get("ec2", config.region);
  const filters = [
    { Name: "tag:Project", Values: [config.project] },
    { Name: "tag:Environment", Values: [config.name] },
    { Name: "instance-state-name", Values: [...states] },
  ];
  const nodes: TrainingNode[] = [];
  await aws({ doing: `listing the instances of "${config.name}" in ${config.region}`, permission: "ec2:DescribeInstances" }, async () => {
    for await (const page of paginateDescribeInstances({ client: ec2 }, { Filters: filters })) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const node = toNode(instance);
          if (node) nodes.push(node);
        }
      }
    }
  });
  return nodes.sort((a, b) => a.launchTime.getTime() - b.launchTime.getTime());
}

function toNode(instance: Instance): TrainingNode | undefined {
  if (!instance.InstanceId) return undefined;
  const tags = Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
  const limit = tags[INSTANCE_TAGS.maxRuntimeHours];
  return {
    id: instance.InstanceId,
    type: instance.InstanceType ?? "?",
    market: instance.InstanceLifecycle === "spot" ? "spot" : "on-demand",
    state: instance.State?.Name ?? "unknown",
    launchTime: instance.LaunchTime ?? new Date(0),
    runId: tags[INSTANCE_TAGS.runId] || undefined,
    maxRuntimeHours: limit === undefined ? undefined : parseMaxRuntimeHours(limit),
    group: tags[AUTO_SCALING_GROUP_TAG] || undefined,
    availabilityZone: instance.Placement?.AvailabilityZone,
  };
}
