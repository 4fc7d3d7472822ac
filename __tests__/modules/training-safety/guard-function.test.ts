/**
 * Tests of training-safety: the runtime guard function; training-safety: the guard's role (least privilege);
 * training-safety: what invokes the guard.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runtimeGuardBuild, runtimeGuardEnvironment } from "../../../modules/training-safety/runtime-guard/deployment";
import { INSTANCE_EVENT_TYPES } from "../../../modules/training-safety/runtime-guard/event-types";
import { GtiError } from "../../../src/errors";
import { policyReportOf } from "../../../src/policy";
import { isStarResourceAction } from "../../../src/policy/rules/iam";
import { type SynthesizedStack, resourceOf, resourcesOf } from "../../support/synth";
import { type Statement, statementsOf } from "../../support/module-stack";
import { ENVIRONMENT, FLEET_GROUP_ARN, PREFIX, PROJECT, synthSafety } from "../../support/safety/stack";
import {
  ACCOUNT,
  GUARD_ROLE,
  KEY,
  PARTITION,
  REGION,
  TOPIC,
  TOPIC_ARN_BUILT,
  conditionsOf,
  custom,
  defaults,
  statement,
} from "../../support/safety/synth-fixtures";

/** Every statement of the guard's inline policies, with the grant's name. */
function guardStatements(json: SynthesizedStack): Array<Statement & { grant: string }> {
  const policies = resourcesOf(json, "aws_iam_role_policy");
  return Object.keys(policies)
    .filter((name) => name.startsWith("safety_guard_"))
    .flatMap((name) => statementsOf(json, name).map((s) => ({ ...s, grant: name.replace("safety_guard_", "") })));
}

function lambdaOf(json: SynthesizedStack): Record<string, unknown> {
  return resourceOf(json, "aws_lambda_function", "safety_guard");
}

describe("training-safety: the runtime guard function", () => {
  it("GIVEN the module WHEN synthesized THEN the guard is nodejs22.x on arm64, 120 s, 256 MB, from the bundled zip asset", () => {
    const fn = lambdaOf(defaults.json);
    expect(fn).toMatchObject({
      function_name: `${PREFIX}-runtime-guard`,
      runtime: "nodejs22.x",
      handler: "index.handler",
      architectures: ["arm64"],
      timeout: 120,
      memory_size: 256,
      role: GUARD_ROLE,
    });
    expect(fn.filename).toMatch(/^assets\/Safety_GuardCode_[0-9A-F]+\/[0-9A-F]+\/runtime-guard\.zip$/);
  });

  it("GIVEN the bundled zip WHEN hashed THEN source_code_hash is its base64 SHA-256 (what AWS reports)", () => {
    const zip = readFileSync(runtimeGuardBuild().zip);
    expect(lambdaOf(defaults.json).source_code_hash).toBe(createHash("sha256").update(zip).digest("base64"));
  });

  it("GIVEN the config WHEN synthesized THEN the environment variables are runtimeGuardEnvironment's, with the topic and the compute's tag key", () => {
    expect((lambdaOf(custom.json).environment as { variables: unknown }).variables).toEqual(
      runtimeGuardEnvironment({ project: PROJECT, environment: ENVIRONMENT, topicArn: TOPIC, action: "stop", dryRun: true, maxRuntimeTag: "MaxRuntimeHours" }),
    );
  });

  it("GIVEN the module WHEN synthesized THEN the function's log group is /aws/lambda/<fn> with the retention, created before the function", () => {
    expect(resourceOf(custom.json, "aws_cloudwatch_log_group", "safety_guard")).toMatchObject({
      name: `/aws/lambda/${PREFIX}-runtime-guard`,
      retention_in_days: 14,
    });
    expect(lambdaOf(defaults.json).depends_on).toEqual([
      "aws_cloudwatch_log_group.safety_guard",
      "aws_iam_role_policy.safety_guard_find_instances",
      "aws_iam_role_policy.safety_guard_act_on_instances",
      "aws_iam_role_policy.safety_guard_publish_alerts",
      "aws_iam_role_policy.safety_guard_write_logs",
    ]);
  });

  it("GIVEN async invocations WHEN one fails THEN it is not retried and goes to the alerts topic", () => {
    expect(resourceOf(defaults.json, "aws_lambda_function_event_invoke_config", "safety_guard")).toMatchObject({
      function_name: "${aws_lambda_function.safety_guard.function_name}",
      maximum_retry_attempts: 0,
      maximum_event_age_in_seconds: 3600,
      destination_config: { on_failure: { destination: TOPIC } },
    });
  });

  it("GIVEN no reserved concurrency WHEN synthesized THEN none is set and GTI-LAMBDA-002 is suppressed with the reason", () => {
    expect(lambdaOf(defaults.json).reserved_concurrent_executions).toBeUndefined();
    const suppressed = policyReportOf(defaults.stack)?.suppressed ?? [];
    expect(suppressed.map((s) => [s.ruleId, s.address])).toEqual([["GTI-LAMBDA-002", "aws_lambda_function.safety_guard"]]);
    expect(suppressed[0]?.reason).toMatch(/fewer than 10 unreserved executions/);
  });

  it("GIVEN a reserved concurrency WHEN synthesized THEN it is set and nothing is suppressed", () => {
    expect(lambdaOf(custom.json).reserved_concurrent_executions).toBe(2);
    expect(policyReportOf(custom.stack)?.suppressed).toEqual([]);
  });

  it("GIVEN idle minutes that are not whole alarm periods WHEN the module is built THEN it fails naming the value", () => {
    expect(() => synthSafety({ safety: { idleGpu: { minutes: 42 } } })).toThrow(GtiError);
    expect(() => synthSafety({ safety: { idleGpu: { minutes: 42 } } })).toThrow(/Idle-GPU minutes 42 .* must be a multiple of 5/);
  });
});

describe("training-safety: the guard's role (least privilege)", () => {
  it("GIVEN the role WHEN read THEN only Lambda can assume it", () => {
    expect(statementsOf(defaults.json, "safety_guard_trust")).toEqual([
      expect.objectContaining({ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.${data.aws_partition.current.dns_suffix}"] }] }),
    ]);
  });

  it("GIVEN the grants WHEN read THEN Resource \"*\" appears only for ec2:DescribeInstances (AWS allows nothing narrower)", () => {
    const star = guardStatements(defaults.json).filter((s) => s.resources?.includes("*"));
    expect(star.map((s) => [s.grant, s.actions])).toEqual([["find_instances", ["ec2:DescribeInstances"]]]);
    expect(star.every((s) => s.actions?.every(isStarResourceAction))).toBe(true);
  });

  it("GIVEN action terminate WHEN read THEN the guard may terminate (not stop) only this account's and region's instances tagged with this env", () => {
    const act = statement(defaults.json, "safety_guard_act_on_instances", "TerminateThisEnvsInstances");
    expect(act.actions).toEqual(["ec2:TerminateInstances"]);
    expect(act.resources).toEqual([`arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/*`]);
    expect(conditionsOf(act)).toEqual({
      "StringEquals aws:ResourceTag/Project": [PROJECT],
      "StringEquals aws:ResourceTag/Environment": [ENVIRONMENT],
    });
  });

  it("GIVEN action stop WHEN read THEN the guard may stop, and not terminate, this env's instances", () => {
    expect(statementsOf(custom.json, "safety_guard_act_on_instances").flatMap((s) => s.actions)).toEqual(["ec2:StopInstances"]);
  });

  it("GIVEN the publish grant WHEN read THEN sns:Publish on this topic only, and the key only through SNS for this topic", () => {
    expect(statement(defaults.json, "safety_guard_publish_alerts", "PublishToTheAlertsTopic")).toMatchObject({ actions: ["sns:Publish"], resources: [TOPIC] });
    const key = statement(defaults.json, "safety_guard_publish_alerts", "UseTheTopicKeyThroughSns");
    expect(key).toMatchObject({ actions: ["kms:Decrypt", "kms:GenerateDataKey*"], resources: [KEY] });
    expect(conditionsOf(key)).toEqual({
      "StringEquals kms:EncryptionContext:aws:sns:topicArn": [TOPIC_ARN_BUILT],
      "StringEquals kms:ViaService": [`sns.${REGION}.\${data.aws_partition.current.dns_suffix}`],
    });
  });

  it("GIVEN the log grant WHEN read THEN streams of its own log group only, never creating groups", () => {
    expect(statement(defaults.json, "safety_guard_write_logs", "WriteOwnLogGroup")).toMatchObject({
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: ["${aws_cloudwatch_log_group.safety_guard.arn}", "${aws_cloudwatch_log_group.safety_guard.arn}:*"],
    });
  });

  it("GIVEN no fleet WHEN read THEN the role has no Auto Scaling permission", () => {
    expect(guardStatements(defaults.json).flatMap((s) => s.actions ?? []).filter((a) => a.startsWith("autoscaling:"))).toEqual([]);
  });

  it("GIVEN a fleet WHEN read THEN the guard may terminate members through that group's ARN only, built from its name", () => {
    expect(statement(custom.json, "safety_guard_terminate_fleet_members", "TerminateMembersOfThisEnvsFleet")).toMatchObject({
      actions: ["autoscaling:TerminateInstanceInAutoScalingGroup"],
      resources: [FLEET_GROUP_ARN],
    });
  });
});

describe("training-safety: what invokes the guard", () => {
  it("GIVEN the schedule WHEN synthesized THEN an EventBridge rule runs the guard on it, with a permission for that rule and account only", () => {
    expect(resourceOf(custom.json, "aws_cloudwatch_event_rule", "safety_guard_schedule")).toMatchObject({
      name: `${PREFIX}-guard-schedule`,
      schedule_expression: "cron(0 * * * ? *)",
      state: "ENABLED",
    });
    expect(resourceOf(custom.json, "aws_cloudwatch_event_target", "safety_guard_schedule")).toMatchObject({
      rule: "${aws_cloudwatch_event_rule.safety_guard_schedule.name}",
      arn: "${aws_lambda_function.safety_guard.arn}",
    });
    expect(resourceOf(custom.json, "aws_lambda_permission", "safety_guard_schedule")).toMatchObject({
      action: "lambda:InvokeFunction",
      principal: "events.${data.aws_partition.current.dns_suffix}",
      source_arn: "${aws_cloudwatch_event_rule.safety_guard_schedule.arn}",
      source_account: ACCOUNT,
    });
  });

  it("GIVEN EC2's instance events WHEN synthesized THEN a rule sends spot interruption warnings and rebalance recommendations to the guard", () => {
    const rule = resourceOf(defaults.json, "aws_cloudwatch_event_rule", "safety_instance_events");
    expect(JSON.parse(rule.event_pattern as string)).toEqual({ source: ["aws.ec2"], "detail-type": Object.keys(INSTANCE_EVENT_TYPES) });
    expect(Object.keys(INSTANCE_EVENT_TYPES)).toEqual(["EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation"]);
    expect(resourceOf(defaults.json, "aws_cloudwatch_event_target", "safety_instance_events").arn).toBe("${aws_lambda_function.safety_guard.arn}");
    expect(resourceOf(defaults.json, "aws_lambda_permission", "safety_instance_events").source_arn).toBe("${aws_cloudwatch_event_rule.safety_instance_events.arn}");
  });
});
