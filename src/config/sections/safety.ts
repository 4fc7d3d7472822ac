/** Settings of the training-safety module (runtime guard, alarms, alerts, budget, dashboard). */
import { z } from "zod";
import { LOG_RETENTION_DAYS, scheduleExpressionProblem } from "../rules";
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

export const safetySchema = z.strictObject({
  /** E-mail addresses subscribed to the alerts topic and the budget (each must confirm once). @default [] */
  alertEmails: z.array(email).default([]),
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
    })
    .prefault({}),
  /** The idle-GPU alarm, which exists only with the instance. @default on: under 5% for 60 minutes terminates */
  idleGpu: z
    .strictObject({
      /** Create the alarm. @default true */
      enabled: z.boolean().default(true),
      /** GPU utilisation (%) under which the GPU counts as idle. @default 5 */
      thresholdPercent: intInRange(1, 99, "percent").default(5),
      /** Minutes of idleness before the action fires. @default 60 */
      minutes: intInRange(5, 1440, "minutes").default(60),
      /** What the alarm does to the instance. @default "terminate" */
      action: z.enum(["terminate", "stop"]).default("terminate"),
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
