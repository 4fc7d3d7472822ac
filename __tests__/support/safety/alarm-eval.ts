/**
 * CloudWatch metric alarm evaluation ("Evaluating an alarm", CloudWatch User Guide), for tests of alarm definitions
 * as synthesized: each of the last `evaluation_periods` whole periods is reduced by the statistic, compared with the
 * threshold, and an empty period is handled per `treat_missing_data`; the alarm is in ALARM when at least
 * `datapoints_to_alarm` of them breach. Enough for single-metric alarms (no metric math, no percentiles).
 */

/** The fields of an `aws_cloudwatch_metric_alarm` the evaluation reads (Terraform's names). */
export interface AlarmDefinition {
  readonly period: number;
  readonly evaluation_periods: number;
  readonly datapoints_to_alarm?: number;
  readonly threshold: number;
  readonly comparison_operator: string;
  readonly statistic: string;
  readonly treat_missing_data?: string;
}

/** One published value at a time (milliseconds since the epoch). */
export interface Sample {
  readonly timestamp: number;
  readonly value: number;
}

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

const reduce: Record<string, (values: number[]) => number> = {
  Maximum: (v) => Math.max(...v),
  Minimum: (v) => Math.min(...v),
  Sum: (v) => v.reduce((a, b) => a + b, 0),
  Average: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  SampleCount: (v) => v.length,
};

const compare: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * The alarm's state at `at` (ms), from the samples, with periods of `period × scale` seconds (a scale below 1 replays
 * a test's compressed time: a runtime that published every 0.3 s instead of every 60 s is evaluated with 0.3 s periods).
 */
export function evaluateAlarm(alarm: AlarmDefinition, samples: readonly Sample[], at: number, scale = 1): AlarmState {
  const period = alarm.period * 1000 * scale;
  const stat = reduce[alarm.statistic];
  const breaches = compare[alarm.comparison_operator];
  if (!stat || !breaches) throw new Error(`unsupported statistic ${alarm.statistic} or comparison ${alarm.comparison_operator}`);
  const end = Math.floor(at / period) * period;
  let breaching = 0;
  let known = 0;
  for (let i = 0; i < alarm.evaluation_periods; i++) {
    const from = end - (i + 1) * period;
    const values = samples.filter((s) => s.timestamp >= from && s.timestamp < from + period).map((s) => s.value);
    if (values.length > 0) {
      known++;
      if (breaches(stat(values), alarm.threshold)) breaching++;
    } else if (alarm.treat_missing_data === "breaching") {
      known++;
      breaching++;
    } else if (alarm.treat_missing_data === "notBreaching") {
      known++;
    }
  }
  if (breaching >= (alarm.datapoints_to_alarm ?? alarm.evaluation_periods)) return "ALARM";
  return known > 0 ? "OK" : "INSUFFICIENT_DATA";
}

/** The first period boundary in [from, to] at which the alarm is in ALARM, or undefined. */
export function firstAlarm(alarm: AlarmDefinition, samples: readonly Sample[], from: number, to: number, scale = 1): number | undefined {
  const period = alarm.period * 1000 * scale;
  for (let t = Math.ceil(from / period) * period; t <= to + period; t += period) {
    if (evaluateAlarm(alarm, samples, t, scale) === "ALARM") return t;
  }
  return undefined;
}
