/** Settings of the training-safety module (runtime guard, alarms, alerts, budget, dashboard). */
import { z } from "zod";
import { LOG_RETENTION_DAYS, scheduleExpressionProblem } from "../../rules";
import { STALL_MINUTES_RANGE } from "../../../modules/training-compute/contract";
import { IDLE_GPU_MINUTES_RANGE, IDLE_GPU_PERIOD_MINUTES } from "../../../modules/training-safety/limits";
import { email, intInRange, rule } from "./common";

const scheduleExpression = z.string().superRefine((value, ctx) => {
  const problem = scheduleExpressionProblem(value);
  if (problem) {
    ctx.addIssue({
      code: "custom",
      message: rule(`not an EventBridge schedule expression: ${problem}`, `use e.g. "rate(1 hour)" or "cron(0 * * * ? *)"`),
    });
  }
});

/** AWS Budgets accepts at most 10 e-mail subscribers per notification. */
export const MAX_ALERT_EMAILS = 10;

/** Defined with the alarm that enforces it; re-exported for the schema. */
export { IDLE_GPU_PERIOD_MINUTES };

/** A KMS key ARN (not an alias: IAM and key-policy conditions match key ARNs only). */
const kmsKeyOnlyArn = z.string().regex(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, {
  error: rule(
    "must be the ARN of a KMS key (not an alias): the guard's IAM policy is scoped to the key ARN",
    `use "arn:aws:kms:<region>:<account>:key/<key-id>" (aws kms describe-key --key-id alias/<name> --query KeyMetadata.Arn), or leave it out to let the stack create one`,
  ),
});

export const safetySchema = z.strictObject({
  /**
   * E-mail addresses subscribed to the alerts topic and to the budget's notifications (each must confirm the SNS
   * subscription once); at most 10, no duplicates. @default []
   */
  alertEmails: z
    .array(email)
    .max(MAX_ALERT_EMAILS, {
      error: rule(`at most ${MAX_ALERT_EMAILS} addresses (AWS Budgets' limit of e-mail subscribers per notification)`, "use a mailing list address for a larger audience"),
    })
    .superRefine((emails, ctx) => {
      const seen = new Set<string>();
      emails.forEach((address, index) => {
        if (/[${}%"\\]/.test(address)) {
          ctx.addIssue({
            code: "custom",
            path: [index],
            message: rule(
              `"${address}" holds $, {, }, %, " or \\, which Terraform would read as part of an expression`,
              "use an address without them (a mailing list alias, for instance)",
            ),
          });
        }
        const key = address.toLowerCase();
        if (seen.has(key)) {
          ctx.addIssue({
            code: "custom",
            path: [index],
            message: rule(`"${address}" is listed twice (addresses are compared without case)`, "remove the duplicate"),
          });
        }
        seen.add(key);
      });
    })
    .default([]),
  /**
   * An existing customer managed KMS key (in the env's region) for the alerts topic, instead of the key the stack
   * creates ($1/month). Its key policy must let cloudwatch.amazonaws.com and budgets.amazonaws.com use it (see the
   * modules/training-safety/README.md). @default a key created by the stack
   */
  kmsKeyArn: kmsKeyOnlyArn.optional(),
  /** Monthly cost budget of the environment in USD. @default 100 */
  monthlyBudgetUsd: z
    .number({ error: rule("must be a number of USD", "write it as a number, e.g. 100") })
    .positive({ error: rule("a budget must be greater than 0", "set a monthly amount in USD, e.g. 100") })
    .max(1_000_000, { error: rule("must be at most 1,000,000 USD", "set a realistic monthly amount") })
    .default(100),
  /** The runtime guard Lambda. @default hourly, terminate, not a dry run */
  guard: z
    .strictObject({
      /** EventBridge schedule of the guard. @default "rate(1 hour)" */
      schedule: scheduleExpression.default("rate(1 hour)"),
      /** What the guard does to an instance over its max runtime. @default "terminate" */
      action: z.enum(["terminate", "stop"]).default("terminate"),
      /** Only report what the guard would do. @default false */
      dryRun: z.boolean().default(false),
      /**
       * Reserved concurrency of the guard function. Unset by default: AWS refuses any reservation that leaves the
       * account fewer than 10 unreserved executions, and new accounts have a quota of exactly 10. Set it (e.g. 2: the
       * schedule plus a burst of spot events, which Lambda queues and retries when throttled) in an account with a
       * raised quota. @default none (the account's unreserved pool)
       */
      reservedConcurrency: intInRange(1, 1000, "concurrent executions").optional(),
    })
    .prefault({}),
  /** The idle-GPU alarm, which exists only with the instance. @default on: under 5% for 60 minutes terminates */
  idleGpu: z
    .strictObject({
      /** Create the alarm. @default true */
      enabled: z.boolean().default(true),
      /** GPU utilisation (%) under which the GPU counts as idle. @default 5 */
      thresholdPercent: intInRange(1, 99, "percent").default(5),
      /**
       * Minutes of idleness before the action fires: whole 5-minute periods, at most a day (CloudWatch's limit). Set it
       * above the longest phase without GPU work (image pull, data download, CPU preprocessing). @default 60
       */
      minutes: intInRange(IDLE_GPU_MINUTES_RANGE.min, IDLE_GPU_MINUTES_RANGE.max, "minutes")
        .refine((value) => value % IDLE_GPU_PERIOD_MINUTES === 0, {
          error: rule(
            `must be a multiple of ${IDLE_GPU_PERIOD_MINUTES} (the alarm counts whole ${IDLE_GPU_PERIOD_MINUTES}-minute periods)`,
            `round it to a multiple of ${IDLE_GPU_PERIOD_MINUTES}, e.g. 60`,
          ),
        })
        .default(60),
      /** What the alarm does to the instance. @default "terminate" */
      action: z.enum(["terminate", "stop"]).default("terminate"),
    })
    .prefault({}),
  /**
   * The stalled-run alarm: a run that reported progress (runtime/README.md, "Progress contract") and then made no new
   * step for `minutes` while its instance runs, e.g. a job hung in an NCCL collective with its GPUs at 100% (which the
   * idle-GPU alarm never sees). A run that never reports progress is never alarmed. Per run, the instance tag
   * `StallMinutes` or a `stall_minutes` field in a progress line overrides `minutes`. @default on: 30 minutes, the
   * idle-GPU alarm's action
   */
  stalledRun: z
    .strictObject({
      /** Create the alarm (with the instance; a notify-only one for the fleet's group). @default true */
      enabled: z.boolean().default(true),
      /**
       * Minutes without a new step before the run counts as stalled (the runtime also waits twice the longest gap it
       * has seen between two reports). Set it above the longest pause without steps: checkpoint saves, evaluation,
       * a data reload. @default 30
       */
      minutes: intInRange(STALL_MINUTES_RANGE.min, STALL_MINUTES_RANGE.max, "minutes").default(30),
      /**
       * What the alarm does to the single instance: "notify" only, or "terminate" / "stop" (while auto_shutdown is
       * true, like the idle-GPU alarm; the run resumes from its last checkpoint on a new instance). @default the
       * idle-GPU alarm's action (safety.idleGpu.action)
       */
      action: z.enum(["notify", "terminate", "stop"]).optional(),
    })
    .prefault({}),
  /** Retention of every CloudWatch log group the stack creates. @default 30 */
  logRetentionDays: z
    .number()
    .refine((value) => (LOG_RETENTION_DAYS as readonly number[]).includes(value), {
      error: rule("not a retention CloudWatch Logs accepts", `use one of ${LOG_RETENTION_DAYS.join(", ")}`),
    })
    .default(30),
});
