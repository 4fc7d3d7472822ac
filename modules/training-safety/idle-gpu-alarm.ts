/**
 * The idle-GPU alarm `aws_cloudwatch_metric_alarm.safety_idle_gpu` (same count as the instance): the busiest GPU under
 * the threshold for the whole window terminates or stops the instance (an EC2 alarm action) and notifies; with
 * `auto_shutdown = false` (kept for inspection) it only notifies.
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { Fn, type IResolvable, Token } from "cdktf";
import { Construct } from "constructs";
import { GPU_UTILIZATION_METRIC } from "../training-compute/contract";
import { AwsContext } from "../../src/aws-context";
import { address } from "../../src/naming";
import type { IAlertsTopic } from "./alerts-topic";
import type { SafetyAction } from "./guard-function";
import type { ITrainingInstances } from "./instances";
import { IDLE_GPU_PERIOD_SECONDS } from "./limits";

export interface IdleGpuAlarmProps {
  readonly instances: ITrainingInstances;
  readonly alerts: IAlertsTopic;
  /** `var.auto_shutdown`: the alarm acts on the instance only while it is true. */
  readonly autoShutdown: IResolvable;
  /** The alarm's name. */
  readonly alarmName: string;
  /** `<project>/<env>`, for the description. */
  readonly envLabel: string;
  /** Utilisation (%) of the busiest GPU under which the instance counts as idle. */
  readonly thresholdPercent: number;
  /** Minutes of idleness before the action (whole periods, see limits.ts). */
  readonly minutes: number;
  readonly action: SafetyAction;
}

/** The idle-GPU alarm on the single instance. */
export class IdleGpuAlarm extends Construct {
  /** `aws_cloudwatch_metric_alarm.safety_idle_gpu` (counted like the instance). */
  public readonly alarm: CloudwatchMetricAlarm;

  public constructor(scope: Construct, id: string, props: IdleGpuAlarmProps) {
    super(scope, id);
    const { instances, alerts } = props;
    const context = AwsContext.of(this);
    const instanceAction = context.formatArn({ service: "automate", account: "ec2", resource: props.action });
    const periods = (props.minutes * 60) / IDLE_GPU_PERIOD_SECONDS;
    this.alarm = address(
      new CloudwatchMetricAlarm(this, "IdleGpu", {
        count: instances.count,
        alarmName: props.alarmName,
        alarmDescription:
          `Every GPU of the ${props.envLabel} training instance stayed under ${props.thresholdPercent}% for ${props.minutes} minutes: ` +
          `it is ${props.action === "terminate" ? "terminated" : "stopped"} (only notified when auto_shutdown is false). ` +
          "Missing data never counts as idle: the instance is safe while it boots and before the CloudWatch agent reports.",
        namespace: instances.metricsNamespace,
        metricName: GPU_UTILIZATION_METRIC,
        // The agent's per-instance aggregate (aggregation_dimensions [["InstanceId"]]): Maximum = the busiest GPU.
        dimensions: { InstanceId: instances.instanceIdAt(instances.count.index) },
        statistic: "Maximum",
        period: IDLE_GPU_PERIOD_SECONDS,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        threshold: props.thresholdPercent,
        comparisonOperator: "LessThanThreshold",
        // notBreaching: an empty period (booting, agent not up yet, agent restarting) counts as busy, so only real
        // samples under the threshold in every period of the window can act. "breaching" would kill every instance
        // before its agent starts; "missing" would still act on a window with gaps. The max-runtime guard covers an
        // instance whose agent never reports.
        treatMissingData: "notBreaching",
        alarmActions: Token.asList(Fn.conditional(props.autoShutdown, [instanceAction, alerts.arn], [alerts.arn])),
      }),
      "safety",
      "idle_gpu",
    );
  }
}
