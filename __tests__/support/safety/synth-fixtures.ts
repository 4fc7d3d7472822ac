/** The safety module synthesized with defaults and with custom settings, and readers of its JSON, for __tests__/modules/training-safety/. */
import type { SynthesizedStack } from "../synth";
import { type Statement, statementsOf } from "../module-stack";
import { PREFIX, synthSafety } from "./stack";

export const ACCOUNT = "${data.aws_caller_identity.current.account_id}";
export const REGION = "${data.aws_region.current.name}";
export const PARTITION = "${data.aws_partition.current.partition}";
export const TOPIC = "${aws_sns_topic.safety_alerts.arn}";
export const TOPIC_ARN_BUILT = `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${PREFIX}-alerts`;
export const KEY = "${aws_kms_key.safety_alerts.arn}";
export const GUARD_ROLE = "${aws_iam_role.safety_guard.arn}";
export const EMAILS = ["ml-ops@example.com", "oncall@example.com"];
export const BYO_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** Defaults: no fleet, no e-mails, a created key. */
export const defaults = synthSafety();

/** Everything set the other way: fleet, e-mails, an existing key, stop, dry run, reserved concurrency. */
export const custom = synthSafety({
  fleet: true,
  defaults: { useSpot: false },
  safety: {
    alertEmails: EMAILS,
    monthlyBudgetUsd: 250,
    kmsKeyArn: BYO_KEY,
    guard: { schedule: "cron(0 * * * ? *)", action: "stop", dryRun: true, reservedConcurrency: 2 },
    idleGpu: { thresholdPercent: 10, minutes: 30, action: "stop" },
    logRetentionDays: 14,
  },
});

export function statement(json: SynthesizedStack, document: string, sid: string): Statement {
  const found = statementsOf(json, document).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${document}: ${statementsOf(json, document).map((s) => s.sid).join(", ")}`);
  return found;
}

export function conditionsOf(s: Statement): Record<string, string[]> {
  return Object.fromEntries((s.condition ?? []).map((c) => [`${c.test} ${c.variable}`, c.values]));
}
