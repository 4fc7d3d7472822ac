/**
 * training-safety: the nets that keep a forgotten GPU from billing all weekend, and tell someone. One construct per
 * job, each in its file (its header says what it creates and why); this file composes them:
 *
 * - **Alerts topic** `aws_sns_topic.safety_alerts` with its customer managed key and e-mail subscriptions
 *   (alerts-topic.ts, policies in policies.ts);
 * - **Runtime guard** `aws_lambda_function.safety_guard`: enforces `MaxRuntimeHours`, forwards this env's spot warnings,
 *   its errors alarmed (guard-function.ts; the Lambda's code in runtime-guard/);
 * - **Idle-GPU alarm** `aws_cloudwatch_metric_alarm.safety_idle_gpu` (idle-gpu-alarm.ts) and **stalled-run alarms**
 *   `safety_stalled_run` / `safety_fleet_stalled_run` (stalled-run-alarms.ts), acting only while `auto_shutdown`;
 * - **Spot stop check** `terraform_data.safety_spot_stop_check`: refuses `-var use_spot=true` at plan where a net
 *   would stop a one-time spot instance (spot-stop-check.ts);
 * - **Budget** `aws_budgets_budget.safety_monthly` (monthly-budget.ts) and **dashboard**
 *   `aws_cloudwatch_dashboard.safety` (safety-dashboard.ts, body in dashboard.ts).
 *
 * Idle cost: the KMS key ($1/month, the only deliberate one), the dashboard (free for the first 3 of an account).
 */
import type { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget";
import type { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import type { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { AssetType, type IResolvable, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { GtiError } from "../../src/errors";
import { type Grant, serviceRole } from "../../src/iam";
import type { OutputSpec } from "../../src/outputs";
import { AlertsTopic } from "./alerts-topic";
import { GuardFunction } from "./guard-function";
import { IdleGpuAlarm } from "./idle-gpu-alarm";
import type { ITrainingInstances } from "./instances";
import type { IdleGpuProps, RuntimeGuardProps, SafetyFleet, StalledRunProps } from "./settings";
import { IDLE_GPU_MINUTES_RANGE, IDLE_GPU_PERIOD_MINUTES, isIdleGpuMinutes } from "./limits";
import { MonthlyBudget } from "./monthly-budget";
import { SafetyDashboard } from "./safety-dashboard";
import { SpotStopCheck } from "./spot-stop-check";
import { StalledRunAlarms } from "./stalled-run-alarms";
import { RUNTIME_GUARD, runtimeGuardBuild } from "./runtime-guard/deployment";

export * from "./alerts-topic";
export * from "./dashboard";
export * from "./guard-function";
export * from "./idle-gpu-alarm";
export * from "./instances";
export * from "./limits";
export * from "./monthly-budget";
export * from "./perms";
export * from "./settings";
export * from "./policies";
export * from "./safety-dashboard";
export * from "./spot-stop-check";
export * from "./stalled-run-alarms";
/** The CloudWatch agent's GPU utilisation metric (defined with the runtime's other names in training-compute). */
export { GPU_UTILIZATION_METRIC } from "../training-compute/contract";

export interface TrainingSafetyProps {
  /** Start of generated names, usually `<project>-<env>` (e.g. `gpu-training-infra-dev`). */
  readonly namePrefix: string;
  /** Value of the `Project` tag of this env's instances. */
  readonly project: string;
  /** Value of the `Environment` tag of this env's instances (also the budget's cost allocation tag value). */
  readonly environment: string;
  /** The env's single instance (alarms, dashboard), its metrics namespace and log group. Satisfied by `TrainingCompute`. */
  readonly instances: ITrainingInstances;
  /** `var.auto_shutdown` (`TrainingVariables.autoShutdown.booleanValue`): the alarms act on the instance only while true. */
  readonly autoShutdown: IResolvable;
  /** `var.use_spot` (`TrainingVariables.useSpot.booleanValue`): refused at plan where a net would stop a one-time spot instance. */
  readonly useSpot: IResolvable;
  /** The env's fleet. @default none: no group permission, no fleet widgets */
  readonly fleet?: SafetyFleet;
  /** E-mail addresses subscribed to the topic and to the budget's notifications. @default [] */
  readonly alertEmails?: readonly string[];
  /** Monthly cost budget in USD. @default 100 */
  readonly monthlyBudgetUsd?: number;
  /** Existing customer managed KMS key (ARN, same region) for the topic. @default a key created here ($1/month) */
  readonly kmsKeyArn?: string;
  /** The runtime guard. @default hourly, terminate, not a dry run, no reserved concurrency */
  readonly guard?: RuntimeGuardProps;
  /** The idle-GPU alarm. @default on: under 5% for 60 minutes terminates */
  readonly idleGpu?: IdleGpuProps;
  /** The stalled-run alarm. @default on, terminates */
  readonly stalledRun?: StalledRunProps;
  /** Retention of the guard's log group, in days. @default 30 */
  readonly logRetentionDays?: number;
}

/**
 * The safety nets of one environment.
 *
 * @example
 * const safety = new TrainingSafety(this, "Safety", {
 *   namePrefix: "gpu-training-infra-dev", project: "gpu-training-infra", environment: "dev",
 *   instances: compute, autoShutdown: variables.autoShutdown.booleanValue, useSpot: variables.useSpot.booleanValue,
 *   fleet, alertEmails: ["ml-ops@example.com"], monthlyBudgetUsd: 50,
 * });
 * safety.topic;       // aws_sns_topic.safety_alerts
 * safety.guard;       // aws_lambda_function.safety_guard
 */
export class TrainingSafety extends Construct {
  /** The Terraform outputs this module offers; the stack declares them (`addOutputs`, src/outputs.ts). */
  public readonly outputs: readonly OutputSpec[];
  /** The alerts topic, its key and subscriptions. */
  public readonly alerts: AlertsTopic;
  /** `aws_sns_topic.safety_alerts`. */
  public readonly topic: SnsTopic;
  /** The topic's ARN, built from its name (known before the topic exists: the key policy needs it). A token. */
  public readonly topicArn: string;
  /** `aws_kms_key.safety_alerts`, unless `kmsKeyArn` was given. */
  public readonly key: KmsKey | undefined;
  /** ARN of the topic's key (created or given). */
  public readonly keyArn: string;
  /** `aws_lambda_function.safety_guard`. */
  public readonly guard: LambdaFunction;
  /** `aws_iam_role.safety_guard`: the guard's execution role. */
  public readonly guardRole: IamRole;
  /** The guard's grants (inline policies on its role). */
  public readonly guardGrants: readonly Grant[];
  /** `aws_cloudwatch_log_group.safety_guard`: `/aws/lambda/<function>`. */
  public readonly guardLogGroup: CloudwatchLogGroup;
  /** `aws_cloudwatch_event_rule.safety_guard_schedule`. */
  public readonly scheduleRule: CloudwatchEventRule;
  /** `aws_cloudwatch_event_rule.safety_instance_events`: spot interruption warnings and rebalance recommendations. */
  public readonly instanceEventsRule: CloudwatchEventRule;
  /** `aws_cloudwatch_metric_alarm.safety_idle_gpu` (counted like the instance), unless disabled. */
  public readonly idleGpuAlarm: CloudwatchMetricAlarm | undefined;
  /** `aws_cloudwatch_metric_alarm.safety_stalled_run` (counted like the instance), unless disabled. */
  public readonly stalledRunAlarm: CloudwatchMetricAlarm | undefined;
  /** `aws_cloudwatch_metric_alarm.safety_fleet_stalled_run` (notify only), with a fleet, unless disabled. */
  public readonly fleetStalledRunAlarm: CloudwatchMetricAlarm | undefined;
  /** `aws_cloudwatch_metric_alarm.safety_guard_errors`. */
  public readonly guardErrorsAlarm: CloudwatchMetricAlarm;
  /** `aws_budgets_budget.safety_monthly`. */
  public readonly budget: BudgetsBudget;
  /** `aws_cloudwatch_dashboard.safety`. */
  public readonly dashboard: CloudwatchDashboard;
  /** The dashboard's console URL (a token). */
  public readonly dashboardUrl: string;

  public constructor(scope: Construct, id: string, props: TrainingSafetyProps) {
    super(scope, id);
    const { namePrefix: prefix, instances } = props;
    const guardSettings = {
      schedule: props.guard?.schedule ?? "rate(1 hour)",
      action: props.guard?.action ?? "terminate",
      dryRun: props.guard?.dryRun ?? false,
      reservedConcurrency: props.guard?.reservedConcurrency,
    };
    const idle = {
      enabled: props.idleGpu?.enabled ?? true,
      thresholdPercent: props.idleGpu?.thresholdPercent ?? 5,
      minutes: props.idleGpu?.minutes ?? 60,
      action: props.idleGpu?.action ?? "terminate",
    };
    if (!isIdleGpuMinutes(idle.minutes)) {
      const { min, max } = IDLE_GPU_MINUTES_RANGE;
      throw new GtiError(
        `Idle-GPU minutes ${idle.minutes} for ${this.node.path} must be a multiple of ${IDLE_GPU_PERIOD_MINUTES} from ${min} to ${max} (whole alarm periods, at most a day). Fix: e.g. 60.`,
      );
    }
    const stalled = { enabled: props.stalledRun?.enabled ?? true, action: props.stalledRun?.action ?? "terminate" };
    const emails = [...(props.alertEmails ?? [])];
    new SpotStopCheck(this, "SpotStopCheck", {
      useSpot: props.useSpot,
      count: instances.count,
      requestType: instances.spotRequestType,
      stoppingNets: [
        ...(guardSettings.action === "stop" ? ["safety.guard.action"] : []),
        ...(idle.enabled && idle.action === "stop" ? ["safety.idleGpu.action"] : []),
        ...(stalled.enabled && stalled.action === "stop" ? ["safety.stalledRun.action"] : []),
      ],
    });

    const functionName = `${prefix}-${RUNTIME_GUARD.name}`;
    const alarmNamePrefix = `${prefix}-`;
    const envLabel = `${props.project}/${props.environment}`;

    // The guard's role first: the key policy names it.
    this.guardRole = serviceRole(this, "Guard", {
      service: "lambda",
      sid: "LambdaAssumesTheGuardRole",
      name: functionName,
      description: `Runtime guard of ${envLabel}: list, terminate or stop this env's over-limit instances, publish alerts.`,
      trustAddress: ["safety", "guard_trust"],
      roleAddress: ["safety", "guard"],
    });
    this.alerts = new AlertsTopic(this, "Alerts", {
      namePrefix: prefix,
      project: props.project,
      environment: props.environment,
      alarmNamePrefix,
      publisherRoleArn: this.guardRole.arn,
      kmsKeyArn: props.kmsKeyArn,
      alertEmails: emails,
    });
    this.topic = this.alerts.topic;
    this.topicArn = this.alerts.knownArn;
    this.key = this.alerts.key;
    this.keyArn = this.alerts.keyArn;

    // The bundle stays at this construct's path: its folder in the synthesized output is named after the path.
    const build = runtimeGuardBuild();
    const code = new TerraformAsset(this, "GuardCode", { path: build.zip, type: AssetType.FILE });
    const guard = new GuardFunction(this, "RuntimeGuard", {
      functionName,
      namePrefix: prefix,
      alarmNamePrefix,
      project: props.project,
      environment: props.environment,
      role: this.guardRole,
      alerts: this.alerts,
      code: { path: code.path, zipSha256: build.zipSha256 },
      schedule: guardSettings.schedule,
      action: guardSettings.action,
      dryRun: guardSettings.dryRun,
      reservedConcurrency: guardSettings.reservedConcurrency,
      logRetentionDays: props.logRetentionDays ?? 30,
      fleetGroupArn: props.fleet?.autoScalingGroupArn,
    });
    this.guard = guard.function;
    this.guardLogGroup = guard.logGroup;
    this.guardGrants = guard.grants;
    this.scheduleRule = guard.scheduleRule;
    this.instanceEventsRule = guard.instanceEventsRule;
    this.guardErrorsAlarm = guard.errorsAlarm;

    const autoShutdown = props.autoShutdown;
    this.idleGpuAlarm = idle.enabled
      ? new IdleGpuAlarm(this, "IdleGpu", {
          instances,
          alerts: this.alerts,
          autoShutdown,
          alarmName: `${alarmNamePrefix}idle-gpu`,
          envLabel,
          thresholdPercent: idle.thresholdPercent,
          minutes: idle.minutes,
          action: idle.action,
        }).alarm
      : undefined;
    const stalledAlarms = stalled.enabled
      ? new StalledRunAlarms(this, "StalledRun", {
          instances,
          alerts: this.alerts,
          autoShutdown,
          alarmNamePrefix,
          envLabel,
          action: stalled.action,
          fleetGroupName: props.fleet?.autoScalingGroup.name,
        })
      : undefined;
    this.stalledRunAlarm = stalledAlarms?.instanceAlarm;
    this.fleetStalledRunAlarm = stalledAlarms?.fleetAlarm;

    this.budget = new MonthlyBudget(this, "Budget", {
      name: `${prefix}-monthly`,
      environment: props.environment,
      limitUsd: props.monthlyBudgetUsd ?? 100,
      alerts: this.alerts,
      topicPolicy: this.alerts.topicPolicy,
      emails,
    }).budget;
    const dashboard = new SafetyDashboard(this, "Dashboard", {
      dashboardName: prefix,
      instances,
      project: props.project,
      environment: props.environment,
      guardFunctionName: functionName,
      guardLogGroup: `/aws/lambda/${functionName}`,
      ...(idle.enabled ? { idleThresholdPercent: idle.thresholdPercent } : {}),
      stalledRunAlarm: stalled.enabled,
      ...(props.fleet ? { fleetGroupName: props.fleet.autoScalingGroup.name } : {}),
    });
    this.dashboard = dashboard.dashboard;
    this.dashboardUrl = dashboard.url;

    this.outputs = [
      {
        name: "alerts_topic_arn",
        value: this.topic.arn,
        description:
          "ARN of the SNS topic receiving every safety alert (runtime guard, idle-GPU, stalled-run and guard-error alarms, spot warnings, budget); subscribe with aws sns subscribe.",
      },
      {
        name: "dashboard_url",
        value: this.dashboardUrl,
        description: "URL of the environment's CloudWatch dashboard: GPU, training progress per run (step rate, loss, ETA), CPU, memory, disk, network, the runtime guard's actions, training log errors.",
      },
    ];
  }
}
