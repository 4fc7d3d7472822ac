/**
 * The stalled-run alarms, on the runtime's `ProgressStalled` signal (no new training step for the run's stall window,
 * published only after the run's first progress report). A job hung in a collective keeps its GPUs busy: the idle
 * alarm never fires.
 *
 * - `aws_cloudwatch_metric_alarm.safety_stalled_run` (same count as the instance): terminates, stops or only
 *   notifies, like the idle-GPU alarm (acting only while `auto_shutdown` is true);
 * - `aws_cloudwatch_metric_alarm.safety_fleet_stalled_run`, with a fleet: any node's run stalled (the group's
 *   maximum), notify only (no EC2 action on a group).
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { Fn, type IResolvable, Token } from "cdktf";
import { Construct } from "constructs";
import { PROGRESS_METRICS } from "../training-compute/contract";
import { AwsContext } from "../../src/aws-context";
import { address } from "../../src/naming";
import type { IAlertsTopic } from "./alerts-topic";
import type { SafetyAction } from "./guard-function";
import type { ITrainingInstances } from "./instances";

/**
 * The stalled-run alarm: 1-minute periods (the runtime's metrics interval), ALARM when 2 of the last 3 carry a
 * `ProgressStalled` of 1. The runtime already waited the run's stall window; the 2-of-3 rides out one late or lost
 * EMF record (CloudWatch's advice for metrics from logs) and one spurious sample alone never acts.
 */
export const STALLED_RUN_ALARM = { periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 } as const;

export interface StalledRunAlarmsProps {
  readonly instances: ITrainingInstances;
  readonly alerts: IAlertsTopic;
  /** `var.auto_shutdown`: the instance alarm acts only while it is true. */
  readonly autoShutdown: IResolvable;
  /** The prefix of this env's alarm names. */
  readonly alarmNamePrefix: string;
  /** `<project>/<env>`, for the descriptions. */
  readonly envLabel: string;
  /** What the instance alarm does. */
  readonly action: SafetyAction | "notify";
  /** The fleet's group name: adds the notify-only fleet alarm. @default no fleet alarm */
  readonly fleetGroupName?: string;
}

/** The stalled-run alarms of the single instance and, with a fleet, of its group. */
export class StalledRunAlarms extends Construct {
  /** `aws_cloudwatch_metric_alarm.safety_stalled_run` (counted like the instance). */
  public readonly instanceAlarm: CloudwatchMetricAlarm;
  /** `aws_cloudwatch_metric_alarm.safety_fleet_stalled_run` (notify only), with a fleet. */
  public readonly fleetAlarm: CloudwatchMetricAlarm | undefined;

  public constructor(scope: Construct, id: string, props: StalledRunAlarmsProps) {
    super(scope, id);
    const { instances, alerts, action } = props;
    const minutes = instances.stallMinutes;
    const what =
      action === "notify"
        ? "notified only"
        : `${action === "terminate" ? "terminated" : "stopped"} (only notified when auto_shutdown is false; the run resumes from its last checkpoint on a new instance)`;
    const actions =
      action === "notify"
        ? [alerts.arn]
        : Token.asList(
            Fn.conditional(
              props.autoShutdown,
              [AwsContext.of(this).formatArn({ service: "automate", account: "ec2", resource: action }), alerts.arn],
              [alerts.arn],
            ),
          );
    this.instanceAlarm = address(
      new CloudwatchMetricAlarm(this, "StalledRun", {
        count: instances.count,
        alarmName: `${props.alarmNamePrefix}stalled-run`,
        alarmDescription:
          `The run on the ${props.envLabel} training instance made no new step for ${minutes} minutes (or twice the longest gap between its progress reports, ` +
          `or the run's StallMinutes tag / stall_minutes field) while the instance runs, e.g. hung in a collective with busy GPUs: it is ${what}. ` +
          "A run that never reports progress is never alarmed: the signal starts at its first report, and missing data never counts.",
        ...stalledRunCondition(instances.metricsNamespace),
        dimensions: { InstanceId: instances.instanceIdAt(instances.count.index) },
        alarmActions: actions,
      }),
      "safety",
      "stalled_run",
    );
    this.fleetAlarm =
      props.fleetGroupName === undefined
        ? undefined
        : address(
            new CloudwatchMetricAlarm(this, "FleetStalledRun", {
              alarmName: `${props.alarmNamePrefix}fleet-stalled-run`,
              alarmDescription:
                `A run on a node of the ${props.envLabel} fleet made no new step for ${minutes} minutes (or its run's own stall window) while the node runs. ` +
                "Notify only: find the node with gti status, then gti stop or scale the group. Runs that never report progress are never alarmed.",
              ...stalledRunCondition(instances.metricsNamespace),
              dimensions: { AutoScalingGroupName: props.fleetGroupName },
              alarmActions: [alerts.arn],
            }),
            "safety",
            "fleet_stalled_run",
          );
  }
}

/**
 * What both stalled-run alarms evaluate: the runtime's `ProgressStalled` (1 while stalled) at its 1-minute cadence, 2
 * of 3 periods; no data (booting, a run that never reported, the run ended) is never a stall.
 */
function stalledRunCondition(namespace: string) {
  return {
    namespace,
    metricName: PROGRESS_METRICS.stalled,
    statistic: "Maximum",
    period: STALLED_RUN_ALARM.periodSeconds,
    evaluationPeriods: STALLED_RUN_ALARM.evaluationPeriods,
    datapointsToAlarm: STALLED_RUN_ALARM.datapointsToAlarm,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
  } as const;
}
