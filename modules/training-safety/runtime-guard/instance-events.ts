/**
 * The guard's second entry path: EC2's `EC2 Spot Instance Interruption Warning` and `EC2 Instance Rebalance
 * Recommendation` events, forwarded by an EventBridge rule, turned into a readable SNS alert for this env's instances.
 *
 * Why through the function and not straight from EventBridge to SNS: the events carry an instance id, never its tags,
 * and an EventBridge pattern can only match what the event holds. A rule in this env's stack therefore receives every
 * spot warning of the account and region (other envs, other projects). The function describes the instance and alerts
 * only when its `Project` and `Environment` tags are this env's; anything else is logged and dropped.
 *
 * - The instance is already gone (`InvalidInstanceID.NotFound`, e.g. a rebalance event that arrived late): logged,
 *   nothing published (whose it was cannot be told any more). A terminated instance EC2 still lists is checked as usual.
 * - DescribeInstances fails otherwise (throttling, a denied call): the invocation fails (the Errors alarm and the
 *   on-failure destination report it).
 * - Publishing fails: the invocation fails with {@link InstanceEventNotificationError}.
 */
import { DescribeInstancesCommand, type EC2Client, type Instance } from "@aws-sdk/client-ec2";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { GuardConfig } from "./config";
import { INSTANCE_EVENT_TYPES, type InstanceEventDetailType, type InstanceEventKind } from "./event-types";
import { createLogger, type ErrorInfo, errorInfo, type Logger } from "./log";
import { MAX_SUBJECT_LENGTH, type NotificationResult } from "./summary";

export { INSTANCE_EVENT_TYPES, type InstanceEventDetailType, type InstanceEventKind } from "./event-types";

/** The EventBridge event (only the fields the guard reads). */
export interface InstanceEvent {
  readonly source: "aws.ec2";
  readonly "detail-type": InstanceEventDetailType;
  /** When EC2 emitted the event (ISO 8601). */
  readonly time?: string;
  readonly region?: string;
  readonly detail: {
    readonly "instance-id": string;
    /** Spot warnings only: `terminate`, `stop` or `hibernate`. */
    readonly "instance-action"?: string;
  };
}

/**
 * What became of one event:
 * - `notified`: this env's instance, alert published (or the publish failed: see `notification`);
 * - `other-environment`: not this env's instance (tags differ): dropped;
 * - `instance-not-found`: EC2 no longer knows the instance: dropped.
 */
export type InstanceEventOutcome = "notified" | "other-environment" | "instance-not-found";

export interface InstanceEventResult {
  readonly kind: InstanceEventKind;
  readonly instanceId: string;
  readonly outcome: InstanceEventOutcome;
  /** `not-needed` unless the instance is this env's. */
  readonly notification: NotificationResult;
}

/** The clock and clients the event path uses. */
export interface InstanceEventDeps {
  readonly config: Pick<GuardConfig, "project" | "environment" | "topicArn" | "maxRuntimeTag">;
  readonly ec2: EC2Client;
  readonly sns: SNSClient;
  readonly logger?: Logger;
  /** The clock (uptime in the message). Default: `() => new Date()`. */
  readonly now?: () => Date;
}

/**
 * True for an EC2 spot interruption warning or rebalance recommendation (by `source` and `detail-type`: the handler
 * dispatches on these, so a malformed one fails loudly in {@link handleInstanceEvent} instead of running the guard).
 */
export function isInstanceEvent(event: unknown): event is InstanceEvent {
  if (typeof event !== "object" || event === null) return false;
  const e = event as Record<string, unknown>;
  return e.source === "aws.ec2" && typeof e["detail-type"] === "string" && Object.hasOwn(INSTANCE_EVENT_TYPES, e["detail-type"]);
}

/** EC2 instance ids: `i-` and 8 or 17 hexadecimal digits. */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Thrown after a this-env event whose alert could not be published, so the Lambda Errors alarm reports it. */
export class InstanceEventNotificationError extends Error {
  public override readonly name = "InstanceEventNotificationError";

  public constructor(public readonly result: InstanceEventResult & { readonly notification: { readonly status: "failed"; readonly error: ErrorInfo } }) {
    super(
      `${result.kind} for ${result.instanceId} (this env's instance) was not published to SNS: ${result.notification.error.name}: ${result.notification.error.message}`,
    );
  }
}

/** Handles one event: describe the instance, check it is this env's, publish a readable alert. */
export async function handleInstanceEvent(event: InstanceEvent, deps: InstanceEventDeps): Promise<InstanceEventResult> {
  const logger = deps.logger ?? createLogger();
  const kind = INSTANCE_EVENT_TYPES[event["detail-type"]];
  const instanceId: unknown = (event.detail as { "instance-id"?: unknown } | undefined)?.["instance-id"];
  if (typeof instanceId !== "string" || !INSTANCE_ID.test(instanceId)) {
    throw new Error(`${event["detail-type"]} event without a valid detail.instance-id (${JSON.stringify(instanceId ?? null)}): not an event EC2 sends`);
  }
  const fields = { kind, instanceId, eventTime: event.time ?? null };
  logger.info("instance event received", fields);

  let instance: Instance | undefined;
  try {
    const out = await deps.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  } catch (error) {
    if (errorInfo(error).name !== "InvalidInstanceID.NotFound") throw error;
  }
  if (!instance) {
    logger.info("instance event for an instance EC2 no longer knows, dropped", fields);
    return { kind, instanceId, outcome: "instance-not-found", notification: { status: "not-needed" } };
  }

  const tags = tagsOf(instance);
  if (tags.Project !== deps.config.project || tags.Environment !== deps.config.environment) {
    // Another env's or project's instance: expected (the rule sees every instance of the region), so info, no tags.
    logger.info("instance event for another environment's instance, dropped", fields);
    return { kind, instanceId, outcome: "other-environment", notification: { status: "not-needed" } };
  }

  const { subject, message } = formatInstanceEvent(event, instance, tags, deps);
  let notification: NotificationResult;
  try {
    const out = await deps.sns.send(new PublishCommand({ TopicArn: deps.config.topicArn, Subject: subject, Message: message }));
    notification = { status: "published", messageId: out.MessageId ?? "", subject };
    logger.info("instance event alert published", { ...fields, subject, messageId: out.MessageId ?? null });
  } catch (error) {
    const info = errorInfo(error);
    logger.error("instance event alert failed", { ...fields, subject, error: info });
    throw new InstanceEventNotificationError({ kind, instanceId, outcome: "notified", notification: { status: "failed", subject, error: info } });
  }
  return { kind, instanceId, outcome: "notified", notification };
}

function tagsOf(instance: Instance): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
  return tags;
}

/** The SNS subject and message of an alert (exported for tests). */
export function formatInstanceEvent(
  event: InstanceEvent,
  instance: Instance,
  tags: Readonly<Record<string, string>>,
  deps: Pick<InstanceEventDeps, "config" | "now">,
): { subject: string; message: string } {
  const { project, environment, maxRuntimeTag } = deps.config;
  const id = instance.InstanceId ?? event.detail["instance-id"];
  const type = instance.InstanceType ?? "unknown type";
  const spot = event["detail-type"] === "EC2 Spot Instance Interruption Warning";
  const action = event.detail["instance-action"] ?? "terminate";
  const group = tags["aws:autoscaling:groupName"];
  const headline = spot
    ? `Spot interruption warning: ${id} (${type}) will be ${action === "stop" ? "stopped" : action === "hibernate" ? "hibernated" : "terminated"} in about 2 minutes`
    : `Rebalance recommendation: ${id} (${type}) is at elevated risk of spot interruption`;
  const now = (deps.now ?? (() => new Date()))();
  const uptime = instance.LaunchTime ? `${(Math.max(0, now.getTime() - instance.LaunchTime.getTime()) / 3_600_000).toFixed(1)} h` : "unknown";
  const details: Array<[string, string | undefined]> = [
    ["Instance", id],
    ["Type", type],
    ["State", instance.State?.Name],
    ["Availability zone", instance.Placement?.AvailabilityZone],
    ["Launched", instance.LaunchTime?.toISOString()],
    ["Uptime", uptime],
    ["Name", tags.Name],
    ["Run id", tags.RunId],
    ["Max runtime (h)", tags[maxRuntimeTag]],
    ["Auto scaling group", group],
    ["Event time", event.time],
  ];
  const next = spot
    ? [
        "What happens now: the on-instance runtime has seen the same notice; it stops training, uploads a final checkpoint",
        "and writes the run's INTERRUPTED marker before EC2 reclaims the instance.",
        group
          ? `The fleet (${group}) launches a replacement that resumes from that checkpoint; nothing to do.`
          : "To resume, apply again with create_instance=true: the replacement keeps the run id and resumes from the checkpoint.",
      ]
    : [
        "Nothing is interrupted yet: EC2 signals that this capacity pool is getting scarce, and a spot interruption",
        "warning may follow. The on-instance runtime syncs a checkpoint early; training continues.",
        group
          ? `The fleet (${group}) may launch a replacement early if capacity rebalancing is on.`
          : "If the run must not be interrupted, consider on-demand capacity (use_spot=false) for the next run.",
      ];
  const message = [
    `[${project}/${environment}] ${headline}.`,
    "",
    ...details.filter(([, value]) => value !== undefined && value !== "").map(([label, value]) => `${label}: ${value}`),
    "",
    ...next,
  ].join("\n");
  const text = `[${project}/${environment}] ${spot ? "Spot interruption warning" : "Rebalance recommendation"}: ${id} (${type})`;
  const ascii = text.replace(/\s+/g, " ").replace(/[^\x20-\x7e]/g, "?");
  const subject = ascii.length > MAX_SUBJECT_LENGTH ? `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3)}...` : ascii;
  return { subject, message };
}
