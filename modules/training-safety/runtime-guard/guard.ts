/**
 * The guard's AWS I/O around the pure {@link decide}: list this env's instances (paginated), terminate or stop those
 * over their limit one by one, publish a summary to SNS. No module-level state: `handler.ts` supplies the clients.
 *
 * Safety properties:
 * - Only instances returned by DescribeInstances for this env's `Project` and `Environment` tags are ever acted on;
 *   each one is re-checked against the tags (exact match) and state before it is considered at all. The Lambda's
 *   role allows TerminateInstances/StopInstances only on instances with these tags, so this keeps calls inside it.
 * - Each instance gets its own TerminateInstances/StopInstances call (at most {@link DEFAULT_CONCURRENCY} at once):
 *   a multi-instance call fails as a whole when one id is refused, so single calls make one failure (a spot instance
 *   that cannot be stopped, a termination-protected instance, a denied condition) cost only that instance.
 * - An auto scaling group member (EC2 sets its `aws:autoscaling:groupName` tag) over its limit is terminated through
 *   its group, `TerminateInstanceInAutoScalingGroup` with `ShouldDecrementDesiredCapacity = true`, whatever the
 *   configured action: the group would replace a member that is stopped (unhealthy) or terminated behind its back.
 *   The role allows this on this env's fleet group only.
 * - A dry run sends no TerminateInstances/StopInstances/TerminateInstanceInAutoScalingGroup call at all.
 *
 * The same handler also receives EC2's spot interruption warnings and rebalance recommendations (see
 * `instance-events.ts`): events carry no tags, so the function checks whose instance it is before alerting.
 */
import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import {
  type EC2Client,
  type Filter,
  type Instance,
  paginateDescribeInstances,
} from "@aws-sdk/client-ec2";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Context } from "aws-lambda";
import { AUTO_SCALING_GROUP_TAG, actOn, DEFAULT_CONCURRENCY } from "./act";
import { type GuardConfig, GuardConfigError, loadConfig } from "./config";
import { decide, type GuardInstance } from "./decide";
import { handleInstanceEvent, type InstanceEvent, type InstanceEventResult, isInstanceEvent } from "./instance-events";
import { createLogger, errorInfo, type Logger } from "./log";
import {
  countOutcomes,
  formatNotification,
  type GuardSummary,
  needsNotification,
  type NotificationResult,
} from "./summary";

export { AUTO_SCALING_GROUP_TAG, DEFAULT_CONCURRENCY };
/** DescribeInstances page size (MaxResults, 5-1000). */
export const DEFAULT_PAGE_SIZE = 100;
/** States an instance must be in to be checked (stopped instances do not bill compute). */
export const CHECKED_STATES = ["pending", "running"] as const;

export interface GuardDeps {
  readonly config: GuardConfig;
  readonly ec2: EC2Client;
  readonly sns: SNSClient;
  /** For auto scaling group members over their limit. */
  readonly autoScaling: AutoScalingClient;
  /** The clock; read once per run. Default: `() => new Date()`. */
  readonly now?: () => Date;
  readonly logger?: Logger;
  /** Instances acted on at once (default {@link DEFAULT_CONCURRENCY}). */
  readonly concurrency?: number;
  /** DescribeInstances page size (default {@link DEFAULT_PAGE_SIZE}). */
  readonly pageSize?: number;
}

/** The DescribeInstances filters for this env: its two tags and the checked states. */
export function instanceFilters(config: Pick<GuardConfig, "project" | "environment">): Filter[] {
  return [
    { Name: "tag:Project", Values: [config.project] },
    { Name: "tag:Environment", Values: [config.environment] },
    { Name: "instance-state-name", Values: [...CHECKED_STATES] },
  ];
}

/**
 * One guard run: find, decide, act, notify. Returns the summary even when publishing to SNS failed (see
 * `notification.status`); throws only when the instances cannot be listed.
 */
export async function runGuard(deps: GuardDeps): Promise<GuardSummary> {
  const { config, ec2 } = deps;
  const logger = deps.logger ?? createLogger();
  const now = (deps.now ?? (() => new Date()))();
  logger.info("run started", { project: config.project, environment: config.environment, action: config.action, dryRun: config.dryRun });

  const instances = await findInstances(ec2, config, logger, deps.pageSize ?? DEFAULT_PAGE_SIZE);
  const decisions = decide(instances, now, config);
  const results = await actOn(decisions, deps, logger);

  const base = {
    project: config.project,
    environment: config.environment,
    action: config.action,
    dryRun: config.dryRun,
    checkedAt: now.toISOString(),
    counts: countOutcomes(results),
    instances: results,
  };
  const notification = await notify(base, deps, logger);
  const summary: GuardSummary = { ...base, notification };
  logger.info("run finished", { counts: summary.counts, dryRun: config.dryRun, notification: notification.status });
  return summary;
}

/** Lists this env's pending/running instances through every DescribeInstances page. */
async function findInstances(ec2: EC2Client, config: GuardConfig, logger: Logger, pageSize: number): Promise<GuardInstance[]> {
  const found = new Map<string, GuardInstance>();
  let pages = 0;
  for await (const page of paginateDescribeInstances({ client: ec2, pageSize }, { Filters: instanceFilters(config) })) {
    pages += 1;
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        const converted = toGuardInstance(instance, config, logger);
        if (converted && !found.has(converted.instanceId)) found.set(converted.instanceId, converted);
      }
    }
  }
  logger.info("instances found", { count: found.size, pages });
  return [...found.values()];
}

/** Converts and re-checks one listed instance; undefined (with a warning) when it is not provably this env's. */
function toGuardInstance(instance: Instance, config: GuardConfig, logger: Logger): GuardInstance | undefined {
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
  }
  const state = instance.State?.Name ?? "unknown";
  const instanceId = instance.InstanceId;
  const ours = tags.Project === config.project && tags.Environment === config.environment;
  const checked = (CHECKED_STATES as readonly string[]).includes(state);
  if (!instanceId || !instance.LaunchTime || !ours || !checked) {
    logger.warn("ignored an instance outside the filter", {
      instanceId: instanceId ?? null,
      state,
      reason: !instanceId ? "no instance id" : !instance.LaunchTime ? "no launch time" : !ours ? "tags do not match this env" : "state not checked",
    });
    return undefined;
  }
  return {
    instanceId,
    instanceType: instance.InstanceType ?? "unknown",
    state,
    launchTime: instance.LaunchTime,
    tags,
  };
}

/** Publishes the summary when there is something to say. Never throws. */
async function notify(summary: Omit<GuardSummary, "notification">, deps: GuardDeps, logger: Logger): Promise<NotificationResult> {
  if (!needsNotification(summary.counts)) {
    logger.info("all clear, no notification");
    return { status: "not-needed" };
  }
  const { subject, message } = formatNotification(summary, deps.config.maxRuntimeTag);
  try {
    const out = await deps.sns.send(new PublishCommand({ TopicArn: deps.config.topicArn, Subject: subject, Message: message }));
    logger.info("notification published", { subject, messageId: out.MessageId ?? null });
    return { status: "published", messageId: out.MessageId ?? "", subject };
  } catch (error) {
    const info = errorInfo(error);
    logger.error("notification failed", { subject, error: info });
    return { status: "failed", subject, error: info };
  }
}

/**
 * Thrown by the handler after a run whose summary could not be published to SNS: the run itself completed (its
 * actions stand and are logged), but the invocation must count as an error so the Lambda Errors alarm tells someone.
 */
export class GuardNotificationError extends Error {
  public override readonly name = "GuardNotificationError";

  public constructor(public readonly summary: GuardSummary) {
    const n = summary.notification;
    const cause = n.status === "failed" ? `${n.error.name}: ${n.error.message}` : "unknown";
    super(
      `Runtime guard run completed (${summary.counts.acted} acted on, ${summary.counts.wouldAct} would be, ${summary.counts.failed} failed, ` +
        `${summary.counts.untagged} untagged, ${summary.counts.invalidTag} invalid tag) but its SNS summary was not published: ${cause}`,
    );
  }
}

/**
 * Lambda handler. An EC2 spot interruption warning or rebalance recommendation (EventBridge) resolves with an
 * {@link InstanceEventResult}; anything else (the schedule's event, a manual `{}` or `{"dryRun": true}`) runs the
 * guard and resolves with its {@link GuardSummary}.
 */
export interface GuardHandler {
  (event: InstanceEvent, context?: Pick<Context, "awsRequestId">): Promise<InstanceEventResult>;
  (event?: unknown, context?: Pick<Context, "awsRequestId">): Promise<GuardSummary>;
}

export interface HandlerOptions {
  /** Environment variables (process.env in Lambda). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly ec2: EC2Client;
  readonly sns: SNSClient;
  readonly autoScaling: AutoScalingClient;
  readonly now?: () => Date;
  readonly logger?: Logger;
  readonly concurrency?: number;
  readonly pageSize?: number;
}

/**
 * Builds the handler. The configuration is validated here, i.e. once per container at cold start: when invalid, the
 * problems are logged at once and every invocation rejects with the {@link GuardConfigError} (so the Errors alarm
 * fires) instead of the module failing to load.
 *
 * Each invocation, dispatched on the event:
 * - an EC2 spot interruption warning or rebalance recommendation: alerts SNS when the instance is this env's (see
 *   {@link handleInstanceEvent}); resolves with the {@link InstanceEventResult};
 * - anything else: runs the guard; `{"dryRun": true}` in the event forces a dry run (for testing the alert path by
 *   hand; it can never turn a configured dry run off). Resolves with the {@link GuardSummary}. Rejects when the
 *   instances cannot be listed (the AWS error) or, after the run, when the SNS summary could not be published
 *   ({@link GuardNotificationError}, carrying the summary).
 */
export function createHandler(options: HandlerOptions): GuardHandler {
  const logger = options.logger ?? createLogger();
  let config: GuardConfig | undefined;
  let configError: GuardConfigError | undefined;
  try {
    config = loadConfig(options.env);
  } catch (error) {
    if (!(error instanceof GuardConfigError)) throw error;
    configError = error;
    logger.error("invalid configuration", { error: error.message });
  }

  const handler = async (event?: unknown, context?: Pick<Context, "awsRequestId">): Promise<GuardSummary | InstanceEventResult> => {
    const log = logger.child({ requestId: context?.awsRequestId ?? null });
    if (!config) {
      const error = configError ?? new GuardConfigError([]);
      log.error("invalid configuration, nothing checked", { error: error.message });
      throw error;
    }
    if (isInstanceEvent(event)) {
      try {
        return await handleInstanceEvent(event, { config, ec2: options.ec2, sns: options.sns, logger: log, ...(options.now ? { now: options.now } : {}) });
      } catch (error) {
        log.error("instance event failed", { error: errorInfo(error) });
        throw error;
      }
    }
    const forcedDryRun = isForcedDryRun(event) && !config.dryRun;
    if (forcedDryRun) log.info("event asks for a dry run");
    let summary: GuardSummary;
    try {
      summary = await runGuard({
        config: forcedDryRun ? { ...config, dryRun: true } : config,
        ec2: options.ec2,
        sns: options.sns,
        autoScaling: options.autoScaling,
        logger: log,
        ...(options.now ? { now: options.now } : {}),
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      });
    } catch (error) {
      log.error("run failed", { error: errorInfo(error) });
      throw error;
    }
    if (summary.notification.status === "failed") throw new GuardNotificationError(summary);
    return summary;
  };
  // The overloads describe which event yields which result; the implementation returns either.
  return handler as GuardHandler;
}

function isForcedDryRun(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as { dryRun?: unknown }).dryRun === true;
}
