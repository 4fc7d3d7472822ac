/**
 * training-safety: the nets that keep a forgotten GPU from billing all weekend, and tell someone.
 *
 * - **Alerts topic** `aws_sns_topic.safety_alerts` (`<prefix>-alerts`), encrypted with a customer managed KMS key the
 *   stack creates (`aws_kms_key.safety_alerts`, rotated yearly) or `safety.kmsKeyArn`. Not `alias/aws/sns`: CloudWatch
 *   alarms and AWS Budgets cannot publish to a topic encrypted with that AWS managed key (its policy cannot name
 *   them). Key and topic policies let exactly CloudWatch alarms (this env's), AWS Budgets (this account's) and the
 *   guard's role use it. E-mail subscriptions from `safety.alertEmails`.
 * - **Runtime guard** `aws_lambda_function.safety_guard` (`<prefix>-runtime-guard`, nodejs22.x, arm64, bundled at
 *   synth into a zip `TerraformAsset`): on `safety.guard.schedule` (EventBridge rule) it terminates or stops this env's
 *   instances running longer than their `MaxRuntimeHours` tag (fleet members through their group), and publishes what
 *   it did. A second rule sends EC2 spot interruption warnings and rebalance recommendations to the same function,
 *   which alerts only for this env's instances (events carry no tags, so an EventBridge pattern cannot filter them).
 *   Failed async invocations go to the topic (no retries: the next run is the retry); its errors are alarmed.
 * - **Idle-GPU alarm** `aws_cloudwatch_metric_alarm.safety_idle_gpu` (same count as the instance): the busiest GPU
 *   under `idleGpu.thresholdPercent` for `idleGpu.minutes` terminates or stops the instance (an EC2 alarm action) and
 *   notifies; with `auto_shutdown = false` (kept for inspection) it only notifies.
 * - **Stalled-run alarm** `aws_cloudwatch_metric_alarm.safety_stalled_run` (same count as the instance): the runtime's
 *   `ProgressStalled` signal (no new training step for the run's stall window, published only after the run's first
 *   progress report) terminates, stops or only notifies, like the idle-GPU alarm; with a fleet, a notify-only
 *   `safety_fleet_stalled_run` on the group. A job hung in a collective keeps its GPUs busy: the idle alarm never fires.
 * - **Spot stop check** `terraform_data.safety_spot_stop_check` (with the instance, when a net stops and the spot
 *   request is one-time): refuses `-var use_spot=true` at plan, since EC2 cannot stop a one-time spot instance.
 * - **Budget** `aws_budgets_budget.safety_monthly`: the env's monthly cost (cost allocation tag `Environment`), alerts
 *   at 80% actual and 100% forecasted, to the topic and the e-mails directly.
 * - **Dashboard** `aws_cloudwatch_dashboard.safety`: GPU, training progress per run (step rate, loss, ETA, time since
 *   the last step), memory, CPU, disk, network, the guard's actions and errors, training log errors, the fleet's group.
 *
 * Idle cost: the KMS key ($1/month, the only deliberate one), the dashboard (free for the first 3 of an account).
 */
import type { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { AssetType, Fn, TerraformAsset, TerraformIterator, TerraformLocal, TerraformOutput, Token } from "cdktf";
import { Construct } from "constructs";
import { GPU_UTILIZATION_METRIC, INSTANCE_TAGS, PROGRESS_METRICS, type TrainingCompute } from "../training-compute";
import { AwsContext } from "../../src/aws-context";
import { GtiError } from "../../src/errors";
import { type Grant, grantToRole } from "../../src/iam";
import { address } from "../../src/naming";
import { suppressRule } from "../../src/policy";
import type { TrainingVariables } from "../../src/variables";
import { safetyDashboardBody } from "./dashboard";
import { SpotStopCheck } from "./spot-stop-check";
import { type AlertsPolicyScopes, alertsKeyStatements, alertsTopicStatements } from "./policies";
import {
  DESCRIBE_INSTANCES_ACTIONS,
  GUARD_INSTANCE_ACTIONS,
  LOG_WRITE_ACTIONS,
  PUBLISH_ACTIONS,
  TERMINATE_GROUP_MEMBER_ACTIONS,
  TOPIC_KEY_ACTIONS,
} from "./perms";
import { instanceEventPattern } from "./runtime-guard/event-types";
import { RUNTIME_GUARD, runtimeGuardBuild, runtimeGuardEnvironment } from "./runtime-guard/deployment";

export * from "./dashboard";
export * from "./perms";
export * from "./policies";
export * from "./spot-stop-check";

/** What the guard or the idle-GPU alarm does to an instance. */
export type SafetyAction = "terminate" | "stop";

/** The runtime guard's settings (`safety.guard`). */
export interface RuntimeGuardProps {
  /** EventBridge schedule expression of the max-runtime check. @default "rate(1 hour)" */
  readonly schedule?: string;
  /** What happens to a single instance over its max runtime (fleet members are always terminated through their group). @default "terminate" */
  readonly action?: SafetyAction;
  /** Only report what would be done. @default false */
  readonly dryRun?: boolean;
  /**
   * Reserved concurrency of the function. @default none: the account's unreserved pool (AWS refuses a reservation
   * that leaves fewer than 10 unreserved executions, and new accounts have exactly 10)
   */
  readonly reservedConcurrency?: number;
}

/** The idle-GPU alarm's settings (`safety.idleGpu`). */
export interface IdleGpuProps {
  /** Create the alarm (with the instance). @default true */
  readonly enabled?: boolean;
  /** Utilisation (%) of the busiest GPU under which the instance counts as idle. @default 5 */
  readonly thresholdPercent?: number;
  /** Minutes of idleness before the action, a multiple of 5 up to 1440. @default 60 */
  readonly minutes?: number;
  /** What the alarm does to the instance (unless `auto_shutdown` is false: then it only notifies). @default "terminate" */
  readonly action?: SafetyAction;
}

/** The stalled-run alarm's settings (`safety.stalledRun`; its minutes are the compute module's `stallMinutes`). */
export interface StalledRunProps {
  /** Create the alarm (with the instance; notify-only on the fleet's group). @default true */
  readonly enabled?: boolean;
  /**
   * What the alarm does to the single instance: only notify, or terminate / stop it (unless `auto_shutdown` is false:
   * then it only notifies). @default "terminate"
   */
  readonly action?: SafetyAction | "notify";
}

/** The fleet, for the guard's permission on its group and the dashboard. Satisfied by `TrainingFleet`. */
export interface SafetyFleet {
  readonly autoScalingGroup: AutoscalingGroup;
  /**
   * The group's ARN built from its literal name (`TrainingFleet.autoScalingGroupArn`), for the guard's permission: a
   * reference to `autoScalingGroup.arn` would defer the policy document to apply time whenever the group changes.
   */
  readonly autoScalingGroupArn: string;
}

export interface TrainingSafetyProps {
  /** Start of generated names, usually `<project>-<env>` (e.g. `gpu-training-infra-dev`). */
  readonly namePrefix: string;
  /** Value of the `Project` tag of this env's instances. */
  readonly project: string;
  /** Value of the `Environment` tag of this env's instances (also the budget's cost allocation tag value). */
  readonly environment: string;
  /** The env's compute: its instance (idle alarm, dashboard), metrics namespace and log group. */
  readonly compute: TrainingCompute;
  /** The env's Terraform variables (`auto_shutdown` decides whether the idle alarm may act on the instance). */
  readonly variables: TrainingVariables;
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
  /** Create the Terraform outputs `alerts_topic_arn` and `dashboard_url`. @default true */
  readonly terraformOutputs?: boolean;
}

/** Timeout of the guard (seconds): a run lists and acts on at most a few dozen instances, 5 at a time. */
export const RUNTIME_GUARD_TIMEOUT_SECONDS = 120;
/**
 * Memory of the guard (MB). 256 rather than the 128 minimum: Lambda's CPU scales with memory, and initialising three
 * SDK clients on 128 MB doubles the cold start; either way an hourly run stays inside the free tier.
 */
export const RUNTIME_GUARD_MEMORY_MB = 256;
/** Oldest an async event may get in Lambda's queue (e.g. throttled) before it goes to the on-failure destination. */
export const RUNTIME_GUARD_MAX_EVENT_AGE_SECONDS = 3600;
/** Idle-GPU alarm period (seconds); `idleGpu.minutes` counts whole periods. */
export const IDLE_GPU_PERIOD_SECONDS = 300;
/**
 * The stalled-run alarm: 1-minute periods (the runtime's metrics interval), ALARM when 2 of the last 3 carry a
 * `ProgressStalled` of 1. The runtime already waited the run's stall window; the 2-of-3 rides out one late or lost
 * EMF record (CloudWatch's advice for metrics from logs) and one spurious sample alone never acts.
 */
export const STALLED_RUN_ALARM = { periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 } as const;
/** The CloudWatch agent's GPU utilisation metric (defined with the runtime's other names in training-compute). */
export { GPU_UTILIZATION_METRIC };
/** The cost allocation tag the budget filters on (a user-defined tag: `user:` prefix in Budgets filters). */
export const BUDGET_COST_TAG = "Environment";
/** A value no instance id ever has: the dashboard's single-instance graphs match nothing without an instance. */
export const NO_INSTANCE_ID = "i-none";

/**
 * The safety nets of one environment.
 *
 * @example
 * const safety = new TrainingSafety(this, "Safety", {
 *   namePrefix: "gpu-training-infra-dev", project: "gpu-training-infra", environment: "dev",
 *   compute, variables, fleet, alertEmails: ["ml-ops@example.com"], monthlyBudgetUsd: 50,
 * });
 * safety.topic;       // aws_sns_topic.safety_alerts
 * safety.guard;       // aws_lambda_function.safety_guard
 */
export class TrainingSafety extends Construct {
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
    const context = AwsContext.of(this);
    const { namePrefix: prefix } = props;
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
    const periodMinutes = IDLE_GPU_PERIOD_SECONDS / 60;
    if (idle.minutes % periodMinutes !== 0 || idle.minutes < periodMinutes || idle.minutes > 1440) {
      throw new GtiError(
        `Idle-GPU minutes ${idle.minutes} for ${this.node.path} must be a multiple of ${periodMinutes} from ${periodMinutes} to 1440 (whole alarm periods, at most a day). Fix: e.g. 60.`,
      );
    }
    const stalled = { enabled: props.stalledRun?.enabled ?? true, action: props.stalledRun?.action ?? "terminate" };
    const emails = [...(props.alertEmails ?? [])];
    new SpotStopCheck(this, "SpotStopCheck", {
      variables: props.variables,
      count: props.compute.count,
      requestType: props.compute.spot.requestType,
      stoppingNets: [
        ...(guardSettings.action === "stop" ? ["safety.guard.action"] : []),
        ...(idle.enabled && idle.action === "stop" ? ["safety.idleGpu.action"] : []),
        ...(stalled.enabled && stalled.action === "stop" ? ["safety.stalledRun.action"] : []),
      ],
    });

    const functionName = `${prefix}-${RUNTIME_GUARD.name}`;
    const topicName = `${prefix}-alerts`;
    const alarmPrefix = `${prefix}-`;
    const account = context.accountId;
    const partition = context.partition;
    const region = context.region;
    this.topicArn = `arn:${partition}:sns:${region}:${account}:${topicName}`;
    const scopes: AlertsPolicyScopes = {
      topicArn: this.topicArn,
      account,
      partition,
      alarmArns: `arn:${partition}:cloudwatch:${region}:${account}:alarm:${alarmPrefix}*`,
      budgetArns: `arn:${partition}:budgets::${account}:*`,
      snsService: `sns.${region}.${context.dnsSuffix}`,
      service: (name) => `${name}.${context.dnsSuffix}`,
    };

    // The guard's role first: the key policy names it.
    const trust = address(
      new DataAwsIamPolicyDocument(this, "GuardTrust", {
        statement: [
          {
            sid: "LambdaAssumesTheGuardRole",
            effect: "Allow",
            actions: ["sts:AssumeRole"],
            principals: [{ type: "Service", identifiers: [scopes.service("lambda")] }],
          },
        ],
      }),
      "safety",
      "guard_trust",
    );
    this.guardRole = address(
      new IamRole(this, "GuardRole", {
        name: functionName,
        description: `Runtime guard of ${props.project}/${props.environment}: list, terminate or stop this env's over-limit instances, publish alerts.`,
        assumeRolePolicy: trust.json,
      }),
      "safety",
      "guard",
    );

    // The topic's key: created (least-privilege policy, see policies.ts) or given.
    if (props.kmsKeyArn) {
      this.key = undefined;
      this.keyArn = props.kmsKeyArn;
    } else {
      const keyPolicy = address(
        new DataAwsIamPolicyDocument(this, "KeyPolicy", { statement: alertsKeyStatements(scopes, this.guardRole.arn) }),
        "safety",
        "alerts_key",
      );
      this.key = address(
        new KmsKey(this, "AlertsKey", {
          description: `Encrypts the ${topicName} SNS topic (safety alerts of ${props.project}/${props.environment}); lets CloudWatch alarms, AWS Budgets and the runtime guard publish.`,
          enableKeyRotation: true,
          // AWS's default window: a key deleted by mistake can be recovered for 30 days (messages stay unreadable meanwhile).
          deletionWindowInDays: 30,
          policy: keyPolicy.json,
        }),
        "safety",
        "alerts",
      );
      address(new KmsAlias(this, "AlertsKeyAlias", { name: `alias/${topicName}`, targetKeyId: this.key.keyId }), "safety", "alerts");
      this.keyArn = this.key.arn;
    }

    this.topic = address(
      new SnsTopic(this, "AlertsTopic", {
        name: topicName,
        displayName: `GPU training ${props.environment}`,
        kmsMasterKeyId: this.keyArn,
      }),
      "safety",
      "alerts",
    );
    const topicPolicyDocument = address(
      new DataAwsIamPolicyDocument(this, "TopicPolicy", { statement: alertsTopicStatements(scopes) }),
      "safety",
      "alerts_topic",
    );
    const topicPolicy = address(
      new SnsTopicPolicy(this, "AlertsTopicPolicy", { arn: this.topic.arn, policy: topicPolicyDocument.json }),
      "safety",
      "alerts",
    );
    if (emails.length > 0) {
      // for_each keyed by address: removing one e-mail leaves the others' subscriptions (and confirmations) alone.
      const each = TerraformIterator.fromList(emails);
      address(
        new SnsTopicSubscription(this, "AlertsEmail", {
          forEach: each,
          topicArn: this.topic.arn,
          protocol: "email",
          endpoint: each.value,
        }),
        "safety",
        "alerts_email",
      );
    }

    // The runtime guard.
    this.guardLogGroup = address(
      new CloudwatchLogGroup(this, "GuardLogGroup", { name: `/aws/lambda/${functionName}`, retentionInDays: props.logRetentionDays ?? 30 }),
      "safety",
      "guard",
    );
    this.guardGrants = this.grantGuard(props, guardSettings.action, context);
    const build = runtimeGuardBuild();
    const code = new TerraformAsset(this, "GuardCode", { path: build.zip, type: AssetType.FILE });
    this.guard = address(
      new LambdaFunction(this, "Guard", {
        functionName,
        description: `Runtime guard of ${props.project}/${props.environment}: enforces MaxRuntimeHours (${guardSettings.schedule}), forwards this env's spot warnings.`,
        role: this.guardRole.arn,
        runtime: RUNTIME_GUARD.runtime,
        handler: RUNTIME_GUARD.handler,
        // Pure JavaScript: Graviton is 20% cheaper per GB-second and runs the same bundle.
        architectures: ["arm64"],
        filename: code.path,
        // What AWS reports for the zip (base64 SHA-256): a changed bundle updates the function, an unchanged one nothing.
        sourceCodeHash: Buffer.from(build.zipSha256, "hex").toString("base64"),
        timeout: RUNTIME_GUARD_TIMEOUT_SECONDS,
        memorySize: RUNTIME_GUARD_MEMORY_MB,
        reservedConcurrentExecutions: guardSettings.reservedConcurrency,
        environment: {
          variables: runtimeGuardEnvironment({
            project: props.project,
            environment: props.environment,
            topicArn: this.topic.arn,
            action: guardSettings.action,
            dryRun: guardSettings.dryRun,
            maxRuntimeTag: INSTANCE_TAGS.maxRuntimeHours,
          }),
        },
        // The group exists before the first run (else Lambda creates it, unmanaged, kept forever) and so do the grants.
        dependsOn: [this.guardLogGroup, ...this.guardGrants.map((g) => g.policy)],
      }),
      "safety",
      "guard",
    );
    if (guardSettings.reservedConcurrency === undefined) {
      suppressRule(
        this.guard,
        "GTI-LAMBDA-002",
        "AWS refuses any reservation that leaves an account fewer than 10 unreserved executions, and new accounts have a quota of exactly 10, so a default reservation would fail the first apply there; the function runs hourly plus one short run per spot event (safety.guard.reservedConcurrency sets one where the quota allows)",
      );
    }
    address(
      new LambdaFunctionEventInvokeConfig(this, "GuardInvokeConfig", {
        functionName: this.guard.functionName,
        // No retries: a failed run is retried by the next scheduled one, and a retry would only repeat its alert.
        maximumRetryAttempts: 0,
        maximumEventAgeInSeconds: RUNTIME_GUARD_MAX_EVENT_AGE_SECONDS,
        destinationConfig: { onFailure: { destination: this.topic.arn } },
      }),
      "safety",
      "guard",
    );
    this.scheduleRule = this.invokeGuardOn("GuardSchedule", "guard_schedule", {
      name: `${prefix}-guard-schedule`,
      description: `Runs the runtime guard of ${props.project}/${props.environment} (${guardSettings.schedule}).`,
      scheduleExpression: guardSettings.schedule,
    });
    this.instanceEventsRule = this.invokeGuardOn("InstanceEvents", "instance_events", {
      name: `${prefix}-instance-events`,
      description: `Sends EC2 spot interruption warnings and rebalance recommendations to the runtime guard of ${props.project}/${props.environment}, which alerts for this env's instances only.`,
      eventPattern: JSON.stringify(instanceEventPattern()),
    });

    // Alarms.
    this.idleGpuAlarm = idle.enabled ? this.idleAlarm(props, idle, context, alarmPrefix) : undefined;
    this.stalledRunAlarm = stalled.enabled ? this.stalledAlarm(props, stalled.action, context, alarmPrefix) : undefined;
    this.fleetStalledRunAlarm = stalled.enabled && props.fleet ? this.fleetStalledAlarm(props, props.fleet, alarmPrefix) : undefined;
    this.guardErrorsAlarm = address(
      new CloudwatchMetricAlarm(this, "GuardErrors", {
        alarmName: `${alarmPrefix}runtime-guard-errors`,
        alarmDescription:
          `The runtime guard of ${props.project}/${props.environment} failed (could not list instances, could not publish, or bad configuration): ` +
          `instances may be running past their limit unchecked. Logs: /aws/lambda/${functionName}.`,
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: this.guard.functionName },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        // No invocation in a period is not an error (the guard runs hourly).
        treatMissingData: "notBreaching",
        alarmActions: [this.topic.arn],
      }),
      "safety",
      "guard_errors",
    );

    this.budget = this.monthlyBudget(props, emails, topicPolicy);
    [this.dashboard, this.dashboardUrl] = this.createDashboard(props, idle, stalled.enabled, functionName, region);

    if (props.terraformOutputs ?? true) {
      address(
        new TerraformOutput(this, "Output_alerts_topic_arn", {
          value: this.topic.arn,
          description:
            "ARN of the SNS topic receiving every safety alert (runtime guard, idle-GPU, stalled-run and guard-error alarms, spot warnings, budget); subscribe with aws sns subscribe.",
        }),
        "alerts_topic_arn",
      );
      address(
        new TerraformOutput(this, "Output_dashboard_url", {
          value: this.dashboardUrl,
          description: "URL of the environment's CloudWatch dashboard: GPU, training progress per run (step rate, loss, ETA), CPU, memory, disk, network, the runtime guard's actions, training log errors.",
        }),
        "dashboard_url",
      );
    }
  }

  /** The env's monthly cost budget, notifying the topic (and the e-mails directly) at 80% actual, 100% forecasted. */
  private monthlyBudget(props: TrainingSafetyProps, emails: readonly string[], topicPolicy: SnsTopicPolicy): BudgetsBudget {
    return address(
      new BudgetsBudget(this, "MonthlyBudget", {
        name: `${props.namePrefix}-monthly`,
        budgetType: "COST",
        limitAmount: String(props.monthlyBudgetUsd ?? 100),
        limitUnit: "USD",
        timeUnit: "MONTHLY",
        // Costs of resources tagged Environment = <env> (a cost allocation tag: activate it once, see the README).
        costFilter: [{ name: "TagKeyValue", values: [`user:${BUDGET_COST_TAG}$${props.environment}`] }],
        notification: [
          { threshold: 80, notificationType: "ACTUAL" },
          { threshold: 100, notificationType: "FORECASTED" },
        ].map((n) => ({
          ...n,
          comparisonOperator: "GREATER_THAN",
          thresholdType: "PERCENTAGE",
          subscriberSnsTopicArns: [this.topic.arn],
          // Directly as well: the budget mail does not depend on the topic, its key or a confirmed subscription.
          subscriberEmailAddresses: emails.length > 0 ? [...emails] : undefined,
        })),
        // Budgets checks its permission on the topic when the budget is created.
        dependsOn: [topicPolicy],
      }),
      "safety",
      "monthly",
    );
  }

  /** The dashboard (see dashboard.ts) and its console URL. */
  private createDashboard(
    props: TrainingSafetyProps,
    idle: Required<IdleGpuProps>,
    stalledAlarm: boolean,
    functionName: string,
    region: string,
  ): [CloudwatchDashboard, string] {
    const { compute } = props;
    // The single instance's id, or a value matching no metric without an instance (a local: the body is a
    // JSON string, and a quoted literal inside an interpolation there would be escaped into invalid HCL).
    const instance = compute.instance;
    const singleInstanceId = address(
      new TerraformLocal(this, "DashboardInstanceId", `\${coalesce(one(${instance.terraformResourceType}.${instance.friendlyUniqueId}[*].id), "${NO_INSTANCE_ID}")}`),
      "safety",
      "dashboard_instance_id",
    ).asString;
    const dashboardName = props.namePrefix;
    const body = safetyDashboardBody({
      project: props.project,
      environment: props.environment,
      region,
      metricsNamespace: compute.launchSpec.metricsNamespace,
      trainingLogGroup: compute.launchSpec.logGroupName,
      guardFunctionName: functionName,
      guardLogGroup: `/aws/lambda/${functionName}`,
      singleInstanceId,
      ...(idle.enabled ? { idleThresholdPercent: idle.thresholdPercent } : {}),
      stallMinutes: compute.launchSpec.stallMinutes,
      stalledRunAlarm: stalledAlarm,
      ...(props.fleet ? { fleetGroupName: props.fleet.autoScalingGroup.name } : {}),
    });
    const dashboard = address(
      new CloudwatchDashboard(this, "Dashboard", { dashboardName, dashboardBody: JSON.stringify(body) }),
      "safety",
    );
    return [dashboard, `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`];
  }

  /** The guard's inline policies: list instances, act on this env's, terminate fleet members, publish, write logs. */
  private grantGuard(props: TrainingSafetyProps, action: SafetyAction, context: AwsContext): Grant[] {
    const role = this.guardRole;
    const grants = [
      // "*": EC2 Describe* calls have no resource-level permissions (nothing narrower exists).
      grantToRole(this, role, "find_instances", [
        { sid: "ListInstances", effect: "Allow", actions: [...DESCRIBE_INSTANCES_ACTIONS], resources: ["*"] },
      ]),
      grantToRole(this, role, "act_on_instances", [
        {
          sid: `${action === "terminate" ? "Terminate" : "Stop"}ThisEnvsInstances`,
          effect: "Allow",
          actions: [...GUARD_INSTANCE_ACTIONS[action]],
          resources: [`arn:${context.partition}:ec2:${context.region}:${context.accountId}:instance/*`],
          condition: [
            { test: "StringEquals", variable: "aws:ResourceTag/Project", values: [props.project] },
            { test: "StringEquals", variable: "aws:ResourceTag/Environment", values: [props.environment] },
          ],
        },
      ]),
      grantToRole(this, role, "publish_alerts", [
        { sid: "PublishToTheAlertsTopic", effect: "Allow", actions: [...PUBLISH_ACTIONS], resources: [this.topic.arn] },
        {
          sid: "UseTheTopicKeyThroughSns",
          effect: "Allow",
          actions: [...TOPIC_KEY_ACTIONS],
          resources: [this.keyArn],
          condition: [
            { test: "StringEquals", variable: "kms:EncryptionContext:aws:sns:topicArn", values: [this.topicArn] },
            { test: "StringEquals", variable: "kms:ViaService", values: [`sns.${context.region}.${context.dnsSuffix}`] },
          ],
        },
      ]),
      grantToRole(this, role, "write_logs", [
        {
          sid: "WriteOwnLogGroup",
          effect: "Allow",
          actions: [...LOG_WRITE_ACTIONS],
          resources: [this.guardLogGroup.arn, `${this.guardLogGroup.arn}:*`],
        },
      ]),
    ];
    if (props.fleet) {
      grants.push(
        grantToRole(this, role, "terminate_fleet_members", [
          {
            sid: "TerminateMembersOfThisEnvsFleet",
            effect: "Allow",
            actions: [...TERMINATE_GROUP_MEMBER_ACTIONS],
            resources: [props.fleet.autoScalingGroupArn],
          },
        ]),
      );
    }
    return grants;
  }

  /** An EventBridge rule targeting the guard, with the permission for EventBridge to invoke it. */
  private invokeGuardOn(
    id: string,
    name: string,
    rule: { readonly name: string; readonly description: string; readonly scheduleExpression?: string; readonly eventPattern?: string },
  ): CloudwatchEventRule {
    const context = AwsContext.of(this);
    const created = address(new CloudwatchEventRule(this, `${id}Rule`, { ...rule, state: "ENABLED" }), "safety", name);
    address(
      new CloudwatchEventTarget(this, `${id}Target`, { rule: created.name, targetId: "runtime-guard", arn: this.guard.arn }),
      "safety",
      name,
    );
    address(
      new LambdaPermission(this, `${id}Permission`, {
        statementId: `invoke-from-${rule.name}`,
        action: "lambda:InvokeFunction",
        functionName: this.guard.functionName,
        principal: `events.${context.dnsSuffix}`,
        sourceArn: created.arn,
        sourceAccount: context.accountId,
      }),
      "safety",
      name,
    );
    return created;
  }

  /** The idle-GPU alarm on the single instance (same count), acting only while `auto_shutdown` is true. */
  private idleAlarm(
    props: TrainingSafetyProps,
    idle: Required<Omit<IdleGpuProps, "enabled">>,
    context: AwsContext,
    alarmPrefix: string,
  ): CloudwatchMetricAlarm {
    const { compute } = props;
    const instance = compute.instance;
    const instanceAction = `arn:${context.partition}:automate:${context.region}:ec2:${idle.action}`;
    const periods = (idle.minutes * 60) / IDLE_GPU_PERIOD_SECONDS;
    return address(
      new CloudwatchMetricAlarm(this, "IdleGpu", {
        count: compute.count,
        alarmName: `${alarmPrefix}idle-gpu`,
        alarmDescription:
          `Every GPU of the ${props.project}/${props.environment} training instance stayed under ${idle.thresholdPercent}% for ${idle.minutes} minutes: ` +
          `it is ${idle.action === "terminate" ? "terminated" : "stopped"} (only notified when auto_shutdown is false). ` +
          "Missing data never counts as idle: the instance is safe while it boots and before the CloudWatch agent reports.",
        namespace: compute.launchSpec.metricsNamespace,
        metricName: GPU_UTILIZATION_METRIC,
        // The agent's per-instance aggregate (aggregation_dimensions [["InstanceId"]]): Maximum = the busiest GPU.
        dimensions: { InstanceId: `\${${instance.terraformResourceType}.${instance.friendlyUniqueId}[count.index].id}` },
        statistic: "Maximum",
        period: IDLE_GPU_PERIOD_SECONDS,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        threshold: idle.thresholdPercent,
        comparisonOperator: "LessThanThreshold",
        // notBreaching: an empty period (booting, agent not up yet, agent restarting) counts as busy, so only real
        // samples under the threshold in every period of the window can act. "breaching" would kill every instance
        // before its agent starts; "missing" would still act on a window with gaps. The max-runtime guard covers an
        // instance whose agent never reports.
        treatMissingData: "notBreaching",
        alarmActions: Token.asList(
          Fn.conditional(props.variables.autoShutdown.booleanValue, [instanceAction, this.topic.arn], [this.topic.arn]),
        ),
      }),
      "safety",
      "idle_gpu",
    );
  }

  /**
   * The stalled-run alarm on the single instance (same count), on the runtime's per-instance `ProgressStalled`,
   * acting like the idle-GPU alarm (only while `auto_shutdown` is true) unless its action is "notify".
   */
  private stalledAlarm(props: TrainingSafetyProps, action: SafetyAction | "notify", context: AwsContext, alarmPrefix: string): CloudwatchMetricAlarm {
    const { compute } = props;
    const instance = compute.instance;
    const minutes = compute.launchSpec.stallMinutes;
    const what =
      action === "notify"
        ? "notified only"
        : `${action === "terminate" ? "terminated" : "stopped"} (only notified when auto_shutdown is false; the run resumes from its last checkpoint on a new instance)`;
    const actions =
      action === "notify"
        ? [this.topic.arn]
        : Token.asList(
            Fn.conditional(
              props.variables.autoShutdown.booleanValue,
              [`arn:${context.partition}:automate:${context.region}:ec2:${action}`, this.topic.arn],
              [this.topic.arn],
            ),
          );
    return address(
      new CloudwatchMetricAlarm(this, "StalledRun", {
        count: compute.count,
        alarmName: `${alarmPrefix}stalled-run`,
        alarmDescription:
          `The run on the ${props.project}/${props.environment} training instance made no new step for ${minutes} minutes (or twice the longest gap between its progress reports, ` +
          `or the run's StallMinutes tag / stall_minutes field) while the instance runs, e.g. hung in a collective with busy GPUs: it is ${what}. ` +
          "A run that never reports progress is never alarmed: the signal starts at its first report, and missing data never counts.",
        ...this.stalledRunCondition(compute),
        dimensions: { InstanceId: `\${${instance.terraformResourceType}.${instance.friendlyUniqueId}[count.index].id}` },
        alarmActions: actions,
      }),
      "safety",
      "stalled_run",
    );
  }

  /**
   * What both stalled-run alarms evaluate: the runtime's `ProgressStalled` (1 while stalled) at its 1-minute cadence, 2
   * of 3 periods; no data (booting, a run that never reported, the run ended) is never a stall.
   */
  private stalledRunCondition(compute: TrainingCompute) {
    return {
      namespace: compute.launchSpec.metricsNamespace,
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

  /** The fleet's stalled-run alarm: any node's run stalled (the group's maximum), notify only (no EC2 action on a group). */
  private fleetStalledAlarm(props: TrainingSafetyProps, fleet: SafetyFleet, alarmPrefix: string): CloudwatchMetricAlarm {
    return address(
      new CloudwatchMetricAlarm(this, "FleetStalledRun", {
        alarmName: `${alarmPrefix}fleet-stalled-run`,
        alarmDescription:
          `A run on a node of the ${props.project}/${props.environment} fleet made no new step for ${props.compute.launchSpec.stallMinutes} minutes (or its run's own stall window) while the node runs. ` +
          "Notify only: find the node with gti status, then gti stop or scale the group. Runs that never report progress are never alarmed.",
        ...this.stalledRunCondition(props.compute),
        dimensions: { AutoScalingGroupName: fleet.autoScalingGroup.name },
        alarmActions: [this.topic.arn],
      }),
      "safety",
      "fleet_stalled_run",
    );
  }

}
