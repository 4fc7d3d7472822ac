/**
 * The runtime guard `aws_lambda_function.safety_guard` (`<prefix>-runtime-guard`, nodejs22.x, arm64, its zip bundled
 * at synth): on a schedule (EventBridge rule) it terminates or stops this env's instances running longer than their
 * `MaxRuntimeHours` tag (fleet members through their group), and publishes what it did. A second rule sends EC2 spot
 * interruption warnings and rebalance recommendations to the same function, which alerts only for this env's
 * instances (events carry no tags, so an EventBridge pattern cannot filter them). Failed async invocations go to the
 * alerts topic (no retries: the next run is the retry); its errors are alarmed (`safety_guard_errors`).
 */
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { Construct } from "constructs";
import { INSTANCE_TAGS } from "../training-compute/contract";
import { AwsContext } from "../../src/aws-context";
import { type Grant, grantToRole } from "../../src/iam";
import { address } from "../../src/naming";
import { suppressRule } from "../../src/policy";
import type { IAlertsTopic } from "./alerts-topic";
import {
  DESCRIBE_INSTANCES_ACTIONS,
  GUARD_INSTANCE_ACTIONS,
  LOG_WRITE_ACTIONS,
  PUBLISH_ACTIONS,
  TERMINATE_GROUP_MEMBER_ACTIONS,
  TOPIC_KEY_ACTIONS,
} from "./perms";
import { RUNTIME_GUARD, runtimeGuardEnvironment } from "./runtime-guard/deployment";
import { instanceEventPattern } from "./runtime-guard/event-types";

/** What the guard or an alarm does to an instance. */
export type SafetyAction = "terminate" | "stop";

/** Timeout of the guard (seconds): a run lists and acts on at most a few dozen instances, 5 at a time. */
export const RUNTIME_GUARD_TIMEOUT_SECONDS = 120;
/**
 * Memory of the guard (MB). 256 rather than the 128 minimum: Lambda's CPU scales with memory, and initialising three
 * SDK clients on 128 MB doubles the cold start; either way an hourly run stays inside the free tier.
 */
export const RUNTIME_GUARD_MEMORY_MB = 256;
/** Oldest an async event may get in Lambda's queue (e.g. throttled) before it goes to the on-failure destination. */
export const RUNTIME_GUARD_MAX_EVENT_AGE_SECONDS = 3600;

/** The guard's code, bundled at synth. */
export interface GuardCode {
  /** Path of the zip as the synthesized JSON names it (a `TerraformAsset`'s path). */
  readonly path: string;
  /** SHA-256 of the zip, hex. */
  readonly zipSha256: string;
}

export interface GuardFunctionProps {
  /** The function's name (`<prefix>-runtime-guard`); the log group is `/aws/lambda/<name>`. */
  readonly functionName: string;
  /** Start of the rule names (`<prefix>-guard-schedule`, `<prefix>-instance-events`). */
  readonly namePrefix: string;
  /** The prefix of this env's alarm names (the guard-errors alarm). */
  readonly alarmNamePrefix: string;
  /** The `Project` and `Environment` tag values of the instances the guard may act on. */
  readonly project: string;
  readonly environment: string;
  /** The execution role (its trust lets Lambda assume it); the guard's grants go on it. */
  readonly role: IamRole;
  /** Where the guard publishes. */
  readonly alerts: IAlertsTopic;
  readonly code: GuardCode;
  /** EventBridge schedule expression of the max-runtime check. */
  readonly schedule: string;
  /** What happens to a single instance over its max runtime. */
  readonly action: SafetyAction;
  /** Only report what would be done. */
  readonly dryRun: boolean;
  /** Reserved concurrency. @default none: the account's unreserved pool */
  readonly reservedConcurrency?: number;
  /** Retention of the log group, in days. */
  readonly logRetentionDays: number;
  /** ARN of the fleet's group, whose members the guard may terminate. @default no fleet permission */
  readonly fleetGroupArn?: string;
}

/** The runtime guard function, its log group, grants, triggers and error alarm. */
export class GuardFunction extends Construct {
  /** `aws_lambda_function.safety_guard`. */
  public readonly function: LambdaFunction;
  /** `aws_cloudwatch_log_group.safety_guard`. */
  public readonly logGroup: CloudwatchLogGroup;
  /** The guard's grants (inline policies on its role). */
  public readonly grants: readonly Grant[];
  /** `aws_cloudwatch_event_rule.safety_guard_schedule`. */
  public readonly scheduleRule: CloudwatchEventRule;
  /** `aws_cloudwatch_event_rule.safety_instance_events`. */
  public readonly instanceEventsRule: CloudwatchEventRule;
  /** `aws_cloudwatch_metric_alarm.safety_guard_errors`. */
  public readonly errorsAlarm: CloudwatchMetricAlarm;

  public constructor(scope: Construct, id: string, props: GuardFunctionProps) {
    super(scope, id);
    const { functionName, project, environment } = props;
    this.logGroup = address(
      new CloudwatchLogGroup(this, "GuardLogGroup", { name: `/aws/lambda/${functionName}`, retentionInDays: props.logRetentionDays }),
      "safety",
      "guard",
    );
    this.grants = this.grant(props);
    this.function = address(
      new LambdaFunction(this, "Guard", {
        functionName,
        description: `Runtime guard of ${project}/${environment}: enforces MaxRuntimeHours (${props.schedule}), forwards this env's spot warnings.`,
        role: props.role.arn,
        runtime: RUNTIME_GUARD.runtime,
        handler: RUNTIME_GUARD.handler,
        // Pure JavaScript: Graviton is 20% cheaper per GB-second and runs the same bundle.
        architectures: ["arm64"],
        filename: props.code.path,
        // What AWS reports for the zip (base64 SHA-256): a changed bundle updates the function, an unchanged one nothing.
        sourceCodeHash: Buffer.from(props.code.zipSha256, "hex").toString("base64"),
        timeout: RUNTIME_GUARD_TIMEOUT_SECONDS,
        memorySize: RUNTIME_GUARD_MEMORY_MB,
        reservedConcurrentExecutions: props.reservedConcurrency,
        environment: {
          variables: runtimeGuardEnvironment({
            project,
            environment,
            topicArn: props.alerts.arn,
            action: props.action,
            dryRun: props.dryRun,
            maxRuntimeTag: INSTANCE_TAGS.maxRuntimeHours,
          }),
        },
        // The group exists before the first run (else Lambda creates it, unmanaged, kept forever) and so do the grants.
        dependsOn: [this.logGroup, ...this.grants.map((g) => g.policy)],
      }),
      "safety",
      "guard",
    );
    if (props.reservedConcurrency === undefined) {
      suppressRule(
        this.function,
        "GTI-LAMBDA-002",
        "AWS refuses any reservation that leaves an account fewer than 10 unreserved executions, and new accounts have a quota of exactly 10, so a default reservation would fail the first apply there; the function runs hourly plus one short run per spot event (safety.guard.reservedConcurrency sets one where the quota allows)",
      );
    }
    address(
      new LambdaFunctionEventInvokeConfig(this, "GuardInvokeConfig", {
        functionName: this.function.functionName,
        // No retries: a failed run is retried by the next scheduled one, and a retry would only repeat its alert.
        maximumRetryAttempts: 0,
        maximumEventAgeInSeconds: RUNTIME_GUARD_MAX_EVENT_AGE_SECONDS,
        destinationConfig: { onFailure: { destination: props.alerts.arn } },
      }),
      "safety",
      "guard",
    );
    this.scheduleRule = this.invokeOn("GuardSchedule", "guard_schedule", {
      name: `${props.namePrefix}-guard-schedule`,
      description: `Runs the runtime guard of ${project}/${environment} (${props.schedule}).`,
      scheduleExpression: props.schedule,
    });
    this.instanceEventsRule = this.invokeOn("InstanceEvents", "instance_events", {
      name: `${props.namePrefix}-instance-events`,
      description: `Sends EC2 spot interruption warnings and rebalance recommendations to the runtime guard of ${project}/${environment}, which alerts for this env's instances only.`,
      eventPattern: JSON.stringify(instanceEventPattern()),
    });
    this.errorsAlarm = address(
      new CloudwatchMetricAlarm(this, "GuardErrors", {
        alarmName: `${props.alarmNamePrefix}runtime-guard-errors`,
        alarmDescription:
          `The runtime guard of ${project}/${environment} failed (could not list instances, could not publish, or bad configuration): ` +
          `instances may be running past their limit unchecked. Logs: /aws/lambda/${functionName}.`,
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: this.function.functionName },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        // No invocation in a period is not an error (the guard runs hourly).
        treatMissingData: "notBreaching",
        alarmActions: [props.alerts.arn],
      }),
      "safety",
      "guard_errors",
    );
  }

  /** The guard's inline policies: list instances, act on this env's, terminate fleet members, publish, write logs. */
  private grant(props: GuardFunctionProps): Grant[] {
    const context = AwsContext.of(this);
    const { role, alerts, action } = props;
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
          resources: [context.formatArn({ service: "ec2", resource: "instance/*" })],
          condition: [
            { test: "StringEquals", variable: "aws:ResourceTag/Project", values: [props.project] },
            { test: "StringEquals", variable: "aws:ResourceTag/Environment", values: [props.environment] },
          ],
        },
      ]),
      grantToRole(this, role, "publish_alerts", [
        { sid: "PublishToTheAlertsTopic", effect: "Allow", actions: [...PUBLISH_ACTIONS], resources: [alerts.arn] },
        {
          sid: "UseTheTopicKeyThroughSns",
          effect: "Allow",
          actions: [...TOPIC_KEY_ACTIONS],
          resources: [alerts.keyArn],
          condition: [
            { test: "StringEquals", variable: "kms:EncryptionContext:aws:sns:topicArn", values: [alerts.knownArn] },
            { test: "StringEquals", variable: "kms:ViaService", values: [`sns.${context.region}.${context.dnsSuffix}`] },
          ],
        },
      ]),
      grantToRole(this, role, "write_logs", [
        {
          sid: "WriteOwnLogGroup",
          effect: "Allow",
          actions: [...LOG_WRITE_ACTIONS],
          resources: [this.logGroup.arn, `${this.logGroup.arn}:*`],
        },
      ]),
    ];
    if (props.fleetGroupArn !== undefined) {
      grants.push(
        grantToRole(this, role, "terminate_fleet_members", [
          {
            sid: "TerminateMembersOfThisEnvsFleet",
            effect: "Allow",
            actions: [...TERMINATE_GROUP_MEMBER_ACTIONS],
            resources: [props.fleetGroupArn],
          },
        ]),
      );
    }
    return grants;
  }

  /** An EventBridge rule targeting the guard, with the permission for EventBridge to invoke it. */
  private invokeOn(
    id: string,
    name: string,
    rule: { readonly name: string; readonly description: string; readonly scheduleExpression?: string; readonly eventPattern?: string },
  ): CloudwatchEventRule {
    const context = AwsContext.of(this);
    const created = address(new CloudwatchEventRule(this, `${id}Rule`, { ...rule, state: "ENABLED" }), "safety", name);
    address(
      new CloudwatchEventTarget(this, `${id}Target`, { rule: created.name, targetId: "runtime-guard", arn: this.function.arn }),
      "safety",
      name,
    );
    address(
      new LambdaPermission(this, `${id}Permission`, {
        statementId: `invoke-from-${rule.name}`,
        action: "lambda:InvokeFunction",
        functionName: this.function.functionName,
        principal: `events.${context.dnsSuffix}`,
        sourceArn: created.arn,
        sourceAccount: context.accountId,
      }),
      "safety",
      name,
    );
    return created;
  }
}
