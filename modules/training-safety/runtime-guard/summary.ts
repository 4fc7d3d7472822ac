/**
 * The result of one guard run (returned by the handler, asserted on by tests) and its SNS rendering.
 */
import type { GuardAction } from "./config";
import type { ErrorInfo } from "./log";

/**
 * What happened to one instance:
 * - `within-limit`: kept;
 * - `untagged` / `invalid-tag`: reported, left alone;
 * - `terminated` / `stopped`: over the limit, the API call succeeded;
 * - `would-terminate` / `would-stop`: over the limit, dry run: nothing was called;
 * - `failed`: over the limit, the API call failed (see `error`).
 *
 * An auto scaling group member (tag `aws:autoscaling:groupName`) over its limit is always terminated through its group
 * (`autoScalingGroup` set), whatever the configured action: a stopped or plainly terminated member would only be
 * replaced by the group.
 */
export type InstanceOutcome =
  | "within-limit"
  | "untagged"
  | "invalid-tag"
  | "terminated"
  | "stopped"
  | "would-terminate"
  | "would-stop"
  | "failed";

export interface InstanceResult {
  readonly instanceId: string;
  readonly instanceType: string;
  /** ISO 8601. */
  readonly launchTime: string;
  readonly uptimeHours: number;
  /** The parsed limit; null when untagged or invalid. */
  readonly limitHours: number | null;
  /** The limit tag's raw value; null when untagged. */
  readonly tagValue: string | null;
  readonly outcome: InstanceOutcome;
  /** For over-limit instances: the action taken, attempted or (dry run) that would be taken. */
  readonly action?: GuardAction;
  /**
   * For over-limit auto scaling group members: the group, through which the instance is (or would be) terminated with
   * TerminateInstanceInAutoScalingGroup and its desired capacity decremented.
   */
  readonly autoScalingGroup?: string;
  /** After a successful action: the state EC2 reported, e.g. `shutting-down` or `stopping`. */
  readonly newState?: string;
  /** After a failed action: the AWS error. */
  readonly error?: ErrorInfo;
}

export interface GuardCounts {
  /** Instances found (pending or running with this env's tags). */
  readonly found: number;
  readonly withinLimit: number;
  /** Over their limit: acted + wouldAct + failed. */
  readonly overLimit: number;
  /** Terminated or stopped successfully. */
  readonly acted: number;
  /** Dry run: would have been terminated or stopped. */
  readonly wouldAct: number;
  /** The terminate/stop call failed. */
  readonly failed: number;
  readonly untagged: number;
  readonly invalidTag: number;
}

/** Whether the SNS summary went out. `not-needed` is an all-clear run (everything within its limit, or nothing found). */
export type NotificationResult =
  | { readonly status: "published"; readonly messageId: string; readonly subject: string }
  | { readonly status: "not-needed" }
  | { readonly status: "failed"; readonly subject: string; readonly error: ErrorInfo };

export interface GuardSummary {
  readonly project: string;
  readonly environment: string;
  readonly action: GuardAction;
  readonly dryRun: boolean;
  /** The clock's time for this run (ISO 8601); uptimes are measured to it. */
  readonly checkedAt: string;
  readonly counts: GuardCounts;
  /** One per instance found, in the order EC2 listed them. */
  readonly instances: readonly InstanceResult[];
  readonly notification: NotificationResult;
}

/** Counts the outcomes. */
export function countOutcomes(instances: readonly InstanceResult[]): GuardCounts {
  const n = (...outcomes: InstanceOutcome[]): number => instances.filter((i) => outcomes.includes(i.outcome)).length;
  return {
    found: instances.length,
    withinLimit: n("within-limit"),
    overLimit: n("terminated", "stopped", "would-terminate", "would-stop", "failed"),
    acted: n("terminated", "stopped"),
    wouldAct: n("would-terminate", "would-stop"),
    failed: n("failed"),
    untagged: n("untagged"),
    invalidTag: n("invalid-tag"),
  };
}

/** True when a run is worth telling people about: anything acted on, would be, failed, untagged or invalid. */
export function needsNotification(counts: GuardCounts): boolean {
  return counts.overLimit + counts.untagged + counts.invalidTag > 0;
}

/** Limits of SNS Publish: subject under 100 characters (ASCII, one line); message at most 256 KiB (we keep 200 KB). */
export const MAX_SUBJECT_LENGTH = 99;
export const MAX_MESSAGE_BYTES = 200_000;

export interface Notification {
  readonly subject: string;
  readonly message: string;
}

type SummaryForMessage = Omit<GuardSummary, "notification">;

/** Renders the SNS subject and plain-text message for a run. */
export function formatNotification(summary: SummaryForMessage, maxRuntimeTag: string): Notification {
  return { subject: formatSubject(summary), message: formatMessage(summary, maxRuntimeTag) };
}

function formatSubject(summary: SummaryForMessage): string {
  const { counts } = summary;
  // Counted by outcome, not by the configured action: auto scaling group members are terminated even when it is "stop".
  const n = (outcome: InstanceOutcome): number => summary.instances.filter((i) => i.outcome === outcome).length;
  const parts = [
    n("terminated") && `${n("terminated")} terminated`,
    n("stopped") && `${n("stopped")} stopped`,
    n("would-terminate") && `${n("would-terminate")} would be terminated`,
    n("would-stop") && `${n("would-stop")} would be stopped`,
    counts.failed && `${counts.failed} failed`,
    counts.untagged && `${counts.untagged} untagged`,
    counts.invalidTag && `${counts.invalidTag} invalid tag`,
  ].filter(Boolean);
  const text = `[${summary.project}/${summary.environment}] Runtime guard${summary.dryRun ? " DRY RUN" : ""}: ${parts.join(", ") || "all clear"}`;
  // SNS subjects: printable ASCII, no line breaks, under 100 characters.
  const ascii = text.replace(/\s+/g, " ").replace(/[^\x20-\x7e]/g, "?");
  return ascii.length > MAX_SUBJECT_LENGTH ? `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3)}...` : ascii;
}

function hours(value: number): string {
  return `${value.toFixed(1)} h`;
}

function line(result: InstanceResult): string {
  const base = `  ${result.instanceId} (${result.instanceType}): up ${hours(result.uptimeHours)}`;
  const group = result.autoScalingGroup ? ` via auto scaling group ${result.autoScalingGroup} (desired capacity decremented)` : "";
  switch (result.outcome) {
    case "within-limit":
      return `${base}, limit ${result.limitHours} h`;
    case "untagged":
      return base;
    case "invalid-tag":
      return `${base}, tag value ${JSON.stringify(result.tagValue)} is not a positive number of hours`;
    case "terminated":
    case "stopped":
      return `${base}, limit ${result.limitHours} h -> ${result.outcome}${group}${result.newState ? ` (now ${result.newState})` : ""}`;
    case "would-terminate":
    case "would-stop":
      return `${base}, limit ${result.limitHours} h -> ${result.outcome.replace("-", " ")}${group} (dry run, nothing done)`;
    case "failed":
      return `${base}, limit ${result.limitHours} h -> ${result.action}${group} FAILED: ${result.error?.name}: ${result.error?.message}`;
  }
}

function section(title: string, results: readonly InstanceResult[]): string[] {
  return results.length === 0 ? [] : ["", `${title} (${results.length}):`, ...results.map(line)];
}

function formatMessage(summary: SummaryForMessage, maxRuntimeTag: string): string {
  const { counts, instances } = summary;
  const of = (...outcomes: InstanceOutcome[]): InstanceResult[] => instances.filter((i) => outcomes.includes(i.outcome));
  const lines = [
    `Runtime guard for project "${summary.project}", environment "${summary.environment}".`,
    `Action on instances over their limit: ${summary.action}${summary.dryRun ? " (DRY RUN: nothing was terminated or stopped)" : ""}; auto scaling group members are always terminated through their group.`,
    `Checked at ${summary.checkedAt}: ${counts.found} pending or running instance${counts.found === 1 ? "" : "s"}.`,
    ...section("FAILED to act on", of("failed")),
    ...section(summary.dryRun ? "Over their max runtime, would be acted on" : "Over their max runtime, acted on", of("terminated", "stopped", "would-terminate", "would-stop")),
    ...section(`No ${maxRuntimeTag} tag, left running`, of("untagged")),
    ...section(`Invalid ${maxRuntimeTag} tag, left running`, of("invalid-tag")),
    ...section("Within their limit, kept", of("within-limit")),
    "",
    `Limits come from each instance's ${maxRuntimeTag} tag, in hours since its last start. Instances without a valid tag are never touched.`,
  ];
  return truncateToBytes(lines, MAX_MESSAGE_BYTES);
}

/** Joins lines, dropping whole lines from the end (with a note) to stay within `maxBytes` of UTF-8. */
function truncateToBytes(lines: readonly string[], maxBytes: number): string {
  const full = lines.join("\n");
  if (Buffer.byteLength(full, "utf8") <= maxBytes) return full;
  const kept: string[] = [];
  let size = 0;
  const reserve = 200;
  for (const text of lines) {
    const bytes = Buffer.byteLength(text, "utf8") + 1;
    if (size + bytes > maxBytes - reserve) break;
    kept.push(text);
    size += bytes;
  }
  kept.push("", `... ${lines.length - kept.length} more lines cut (SNS size limit); the function's log has every instance.`);
  return kept.join("\n");
}
