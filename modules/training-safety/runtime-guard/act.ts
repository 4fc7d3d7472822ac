/**
 * The guard's actions on over-limit instances (`guard.ts` lists them and `decide.ts` judges them): one
 * TerminateInstances/StopInstances call per instance, at most {@link DEFAULT_CONCURRENCY} at once, auto scaling group
 * members through their group, nothing at all in a dry run. Every function here returns a result and never throws.
 */
import { TerminateInstanceInAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { StopInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import type { Decision } from "./decide";
import type { GuardDeps } from "./guard";
import { errorInfo, type Logger } from "./log";
import type { InstanceResult } from "./summary";

/** Instances acted on at the same time. */
export const DEFAULT_CONCURRENCY = 5;
/** The tag EC2 puts on every auto scaling group member: its group's name. */
export const AUTO_SCALING_GROUP_TAG = "aws:autoscaling:groupName";

/** Turns decisions into results, acting on over-limit instances in groups of `concurrency`. */
export async function actOn(decisions: readonly Decision[], deps: GuardDeps, logger: Logger): Promise<InstanceResult[]> {
  const { config } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? DEFAULT_CONCURRENCY);
  const results = new Map<Decision, InstanceResult>();
  const overLimit: Array<Extract<Decision, { kind: "over-limit" }>> = [];

  for (const d of decisions) {
    const base = {
      instanceId: d.instance.instanceId,
      instanceType: d.instance.instanceType,
      launchTime: d.instance.launchTime.toISOString(),
      uptimeHours: d.uptimeHours,
    };
    const fields = { instanceId: base.instanceId, instanceType: base.instanceType, uptimeHours: round(d.uptimeHours) };
    switch (d.kind) {
      case "untagged":
        logger.warn("instance has no limit tag, left alone", { ...fields, tag: config.maxRuntimeTag });
        results.set(d, { ...base, limitHours: null, tagValue: null, outcome: "untagged" });
        break;
      case "invalid-tag":
        logger.warn("instance limit tag is not a positive number, left alone", { ...fields, tag: config.maxRuntimeTag, tagValue: d.tagValue });
        results.set(d, { ...base, limitHours: null, tagValue: d.tagValue, outcome: "invalid-tag" });
        break;
      case "within-limit":
        logger.info("instance within its limit, kept", { ...fields, limitHours: d.limitHours });
        results.set(d, { ...base, limitHours: d.limitHours, tagValue: d.tagValue, outcome: "within-limit" });
        break;
      case "over-limit":
        overLimit.push(d);
        break;
    }
  }

  for (let i = 0; i < overLimit.length; i += concurrency) {
    const group = overLimit.slice(i, i + concurrency);
    const done = await Promise.all(group.map((d) => actOnOne(d, deps, logger)));
    group.forEach((d, j) => results.set(d, done[j] as InstanceResult));
  }
  return decisions.map((d) => results.get(d) as InstanceResult);
}

/** Terminates or stops one over-limit instance (or, in a dry run, only says so). Never throws. */
async function actOnOne(d: Extract<Decision, { kind: "over-limit" }>, deps: GuardDeps, logger: Logger): Promise<InstanceResult> {
  const { action, dryRun } = deps.config;
  const base = {
    instanceId: d.instance.instanceId,
    instanceType: d.instance.instanceType,
    launchTime: d.instance.launchTime.toISOString(),
    uptimeHours: d.uptimeHours,
    limitHours: d.limitHours,
    tagValue: d.tagValue,
    action,
  };
  const group = d.instance.tags[AUTO_SCALING_GROUP_TAG];
  if (group !== undefined) return actOnGroupMember(d, group, base, deps, logger);
  const fields = { instanceId: base.instanceId, instanceType: base.instanceType, uptimeHours: round(d.uptimeHours), limitHours: d.limitHours, action, dryRun };
  if (dryRun) {
    logger.info(`instance over its limit, would ${action} (dry run)`, fields);
    return { ...base, outcome: action === "terminate" ? "would-terminate" : "would-stop" };
  }
  try {
    const ids = [d.instance.instanceId];
    const changes =
      action === "terminate"
        ? (await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }))).TerminatingInstances
        : (await deps.ec2.send(new StopInstancesCommand({ InstanceIds: ids }))).StoppingInstances;
    const newState = changes?.find((c) => c.InstanceId === d.instance.instanceId)?.CurrentState?.Name;
    logger.info(`instance over its limit, ${action === "terminate" ? "terminated" : "stopped"}`, { ...fields, newState: newState ?? null });
    return { ...base, outcome: action === "terminate" ? "terminated" : "stopped", ...(newState ? { newState } : {}) };
  } catch (error) {
    const info = errorInfo(error);
    logger.error(`instance over its limit, ${action} failed`, { ...fields, error: info });
    return { ...base, outcome: "failed", error: info };
  }
}

/**
 * Terminates an over-limit auto scaling group member through its group, decrementing the desired capacity so the
 * group does not launch a replacement (or, in a dry run, only says so). Never throws.
 */
async function actOnGroupMember(
  d: Extract<Decision, { kind: "over-limit" }>,
  group: string,
  base: Omit<InstanceResult, "outcome">,
  deps: GuardDeps,
  logger: Logger,
): Promise<InstanceResult> {
  const { dryRun } = deps.config;
  const result = { ...base, action: "terminate" as const, autoScalingGroup: group };
  const fields = {
    instanceId: base.instanceId,
    instanceType: base.instanceType,
    uptimeHours: round(d.uptimeHours),
    limitHours: d.limitHours,
    action: "terminate",
    autoScalingGroup: group,
    dryRun,
  };
  if (dryRun) {
    logger.info("auto scaling group member over its limit, would terminate it through its group (dry run)", fields);
    return { ...result, outcome: "would-terminate" };
  }
  try {
    const out = await deps.autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: d.instance.instanceId, ShouldDecrementDesiredCapacity: true }),
    );
    logger.info("auto scaling group member over its limit, terminated through its group", { ...fields, activityId: out.Activity?.ActivityId ?? null });
    return { ...result, outcome: "terminated" };
  } catch (error) {
    const info = errorInfo(error);
    logger.error("auto scaling group member over its limit, terminate through its group failed", { ...fields, error: info });
    return { ...result, outcome: "failed", error: info };
  }
}

/** Hours rounded to two decimals, for log fields. */
export function round(hours: number): number {
  return Math.round(hours * 100) / 100;
}
