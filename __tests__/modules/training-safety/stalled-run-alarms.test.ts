/**
 * training-safety's stalled-run alarm and the dashboard's training progress widgets, as synthesized: the alarm's
 * definition, its actions per policy, the fleet's notify-only alarm, and the alarm's metric condition evaluated
 * (__tests__/support/safety/alarm-eval.ts) against stall signals: a hung run trips it, a run that never reported, a
 * lone spurious sample or a lost record do not. (The runtime's own stall signal of a hung trainer meets the same
 * evaluation in __tests__/runtime/progress.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { STALLED_RUN_ALARM } from "../../../modules/training-safety";
import { resourceOf, resourcesOf } from "../../support/synth";
import { runtimeEnvOf } from "../../support/compute/stack";
import { type AlarmDefinition, type Sample, evaluateAlarm, firstAlarm } from "../../support/safety/alarm-eval";
import { ENVIRONMENT, PREFIX, synthSafety } from "../../support/safety/stack";
import { configWith } from "../../support/envs";
import { synthEnvironment } from "../../support/stacks";

const COUNT = "${var.create_instance ? 1 : 0}";
const REGION = "${data.aws_region.current.name}";
const PARTITION = "${data.aws_partition.current.partition}";
const TOPIC = "${aws_sns_topic.safety_alerts.arn}";

const defaults = synthSafety();
const alarmOf = (json: typeof defaults.json, name = "safety_stalled_run") => resourceOf(json, "aws_cloudwatch_metric_alarm", name);
const stalled = alarmOf(defaults.json) as unknown as AlarmDefinition & Record<string, unknown>;

describe("training-safety: the stalled-run alarm", () => {
  it("GIVEN the instance's count WHEN synthesized THEN the alarm has the same count and watches that instance's ProgressStalled", () => {
    expect(stalled).toMatchObject({
      count: COUNT,
      alarm_name: `${PREFIX}-stalled-run`,
      namespace: `GpuTraining/${ENVIRONMENT}`,
      metric_name: "ProgressStalled",
      dimensions: { InstanceId: "${aws_instance.compute_training[count.index].id}" },
    });
  });

  it("GIVEN the runtime's 1-minute signal WHEN synthesized THEN 2 of the last 3 one-minute maxima at 1 alarm, and missing data never does", () => {
    expect(stalled).toMatchObject({
      statistic: "Maximum",
      period: 60,
      evaluation_periods: 3,
      datapoints_to_alarm: 2,
      threshold: 1,
      comparison_operator: "GreaterThanOrEqualToThreshold",
      treat_missing_data: "notBreaching",
    });
    expect(STALLED_RUN_ALARM).toEqual({ periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 });
  });

  it("GIVEN the default policy WHEN the alarm fires THEN it terminates the instance and notifies; with auto_shutdown false it only notifies", () => {
    expect(stalled.alarm_actions).toBe(
      `\${var.auto_shutdown ? ["arn:${PARTITION}:automate:${REGION}:ec2:terminate", aws_sns_topic.safety_alerts.arn] : [aws_sns_topic.safety_alerts.arn]}`,
    );
  });

  it("GIVEN action notify WHEN the alarm fires THEN it only notifies the topic, whatever auto_shutdown", () => {
    const { json } = synthSafety({ safety: { stalledRun: { action: "notify" } } });
    expect(alarmOf(json).alarm_actions).toEqual([TOPIC]);
  });

  it("GIVEN action stop on a one-time spot request WHEN synthesized THEN the stop action, and the plan-time spot stop check names the net", () => {
    const { json } = synthSafety({ safety: { stalledRun: { action: "stop" } } });
    expect(alarmOf(json).alarm_actions).toContain(`automate:${REGION}:ec2:stop`);
    expect(resourceOf(json, "terraform_data", "safety_spot_stop_check").input).toBe("safety.stalledRun.action");
  });

  it("GIVEN the alarm disabled WHEN synthesized THEN there is none, not even for a fleet", () => {
    const { json } = synthSafety({ fleet: true, safety: { stalledRun: { enabled: false } } });
    expect(Object.keys(resourcesOf(json, "aws_cloudwatch_metric_alarm"))).not.toEqual(expect.arrayContaining(["safety_stalled_run"]));
    expect(resourcesOf(json, "aws_cloudwatch_metric_alarm")).not.toHaveProperty("safety_fleet_stalled_run");
  });

  it("GIVEN a fleet WHEN synthesized THEN a notify-only alarm watches the group's maximum (no EC2 action exists for a group)", () => {
    const { json } = synthSafety({ fleet: true });
    expect(alarmOf(json, "safety_fleet_stalled_run")).toMatchObject({
      alarm_name: `${PREFIX}-fleet-stalled-run`,
      metric_name: "ProgressStalled",
      dimensions: { AutoScalingGroupName: "${aws_autoscaling_group.fleet.name}" },
      statistic: "Maximum",
      period: 60,
      evaluation_periods: 3,
      datapoints_to_alarm: 2,
      treat_missing_data: "notBreaching",
      alarm_actions: [TOPIC],
    });
    expect(alarmOf(json, "safety_fleet_stalled_run")).not.toHaveProperty("count");
  });

  it("GIVEN the description WHEN read THEN it names the minutes, the action and that runs without progress are never alarmed", () => {
    expect(stalled.alarm_description).toMatch(/no new step for 30 minutes .* it is terminated .*never reports progress is never alarmed/);
  });
});

describe("training-safety: the stalled-run alarm's condition, evaluated", () => {
  const minute = 60_000;
  const t0 = 1_800_000_000_000; // a whole minute
  /** One ProgressStalled sample per minute (the runtime's metrics interval), in the middle of the minute. */
  const perMinute = (values: (number | undefined)[]): Sample[] =>
    values.flatMap((value, i) => (value === undefined ? [] : [{ timestamp: t0 + i * minute + 30_000, value }]));

  it("GIVEN a run that stalls (0 for 5 minutes, then 1) WHEN evaluated THEN ALARM two minutes after the first 1, not before", () => {
    const samples = perMinute([0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(evaluateAlarm(stalled, samples, t0 + 6 * minute)).toBe("OK");
    expect(firstAlarm(stalled, samples, t0, t0 + 9 * minute)).toBe(t0 + 7 * minute);
  });

  it("GIVEN a run that never reported progress (no samples at all) WHEN evaluated for an hour THEN never ALARM", () => {
    expect(firstAlarm(stalled, [], t0, t0 + 60 * minute)).toBeUndefined();
    expect(evaluateAlarm(stalled, [], t0 + 60 * minute)).toBe("OK");
  });

  it("GIVEN one spurious 1 between zeros WHEN evaluated THEN no ALARM", () => {
    expect(firstAlarm(stalled, perMinute([0, 0, 1, 0, 0, 0]), t0, t0 + 6 * minute)).toBeUndefined();
  });

  it("GIVEN a stalled run whose records are lost every other minute WHEN evaluated THEN it still alarms (2 stalled minutes of 3)", () => {
    expect(firstAlarm(stalled, perMinute([0, 1, undefined, 1, undefined, 1]), t0, t0 + 7 * minute)).toBe(t0 + 4 * minute);
  });

  it("GIVEN one stalled minute and then no data (the run ended, the instance stopped) WHEN evaluated THEN no ALARM", () => {
    expect(firstAlarm(stalled, perMinute([0, 0, 1]), t0, t0 + 30 * minute)).toBeUndefined();
  });

  it("GIVEN a stall that ends (the run resumes) WHEN evaluated THEN the alarm goes back to OK", () => {
    const samples = perMinute([0, 1, 1, 1, 0, 0, 0]);
    expect(evaluateAlarm(stalled, samples, t0 + 4 * minute)).toBe("ALARM");
    expect(evaluateAlarm(stalled, samples, t0 + 7 * minute)).toBe("OK");
  });
});

describe("training-safety: training progress on the dashboard", () => {
  const body = JSON.parse(resourceOf(defaults.json, "aws_cloudwatch_dashboard", "safety").dashboard_body as string) as {
    widgets: { type: string; y: number; x: number; properties: { title?: string; metrics?: { expression?: string; id: string; visible?: boolean }[][]; annotations?: unknown } }[];
  };
  const widget = (title: string) => body.widgets.find((w) => w.properties.title === title);
  const expressions = (title: string) => (widget(title)?.properties.metrics ?? []).map((m) => m[0]?.expression);

  it.each([
    ["Training step rate (steps/s), per run", "StepsPerSecond", "Average"],
    ["Training loss, per run", "Loss", "Average"],
    ["ETA (hours), per run", "EtaSeconds", "Minimum"],
    ["Minutes since the last new step, per run", "SecondsSinceProgress", "Maximum"],
  ])("GIVEN the dashboard WHEN read THEN %s searches the runtime's %s by RunId", (title, metric, stat) => {
    expect(expressions(title)[0]).toBe(`SEARCH('{GpuTraining/${ENVIRONMENT},RunId} MetricName="${metric}"', '${stat}', 300)`);
  });

  it("GIVEN the progress widgets WHEN placed THEN they are the row right below the GPU graphs", () => {
    const gpu = body.widgets.find((w) => w.properties.title?.startsWith("GPU utilisation"));
    const rate = widget("Training step rate (steps/s), per run");
    expect(rate?.y).toBe((gpu?.y ?? 0) + 6);
    expect(["Training loss, per run", "ETA (hours), per run", "Minutes since the last new step, per run"].map((t) => widget(t)?.y)).toEqual([rate?.y, rate?.y, rate?.y]);
  });

  it("GIVEN seconds and ETA WHEN graphed THEN they are shown in minutes and hours through metric math on the hidden search", () => {
    expect(expressions("ETA (hours), per run")).toEqual([expect.stringContaining("EtaSeconds"), "eta/3600"]);
    expect(widget("ETA (hours), per run")?.properties.metrics?.[0]?.[0]?.visible).toBe(false);
    expect(expressions("Minutes since the last new step, per run")[1]).toBe("since/60");
  });

  it("GIVEN the env's stall minutes WHEN graphed THEN the time-since-last-step widget draws them as the alarm's line", () => {
    expect(JSON.stringify(widget("Minutes since the last new step, per run")?.properties.annotations)).toContain(
      '"value":30,"label":"stalled-run alarm (env\'s stall minutes)"',
    );
  });

  it("GIVEN the training error query WHEN read THEN it leaves out the metrics stream (EMF records, not messages)", () => {
    expect(JSON.stringify(body)).toContain("filter @logStream not like /metrics$/ and @message like");
  });
});

describe("stalled runs in the environment stacks", () => {
  it("GIVEN safety.stalledRun.minutes WHEN an env is synthesized THEN runtime.env carries it and the alarm's description names it", () => {
    const { json } = synthEnvironment(configWith({ safety: { stalledRun: { minutes: 45 } } }));
    expect(new Map(runtimeEnvOf(json)).get("GTI_STALL_MINUTES")).toBe("45");
    expect(alarmOf(json).alarm_description).toContain("no new step for 45 minutes");
  });

  it("GIVEN no stalledRun.action WHEN an env is synthesized THEN the alarm follows safety.idleGpu.action", () => {
    const { json } = synthEnvironment(configWith({ compute: { useSpot: false }, safety: { idleGpu: { action: "stop" } } }));
    expect(alarmOf(json).alarm_actions).toContain(`automate:${REGION}:ec2:stop`);
  });
});
