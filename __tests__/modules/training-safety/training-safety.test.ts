/**
 * training-safety at synth: the alerts topic and its key, the runtime guard (function, role, rules, invoke config),
 * the idle-GPU and guard-error alarms, the budget, the dashboard, the outputs, and the wiring in every env stack.
 * Property assertions on the synthesized JSON (module stacks with the policy packs; synthesis fails on a violation).
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
import { realEnvironment } from "../../support/envs";
import { type Statement, statementsOf } from "../../support/module-stack";
import { ENVIRONMENT, FLEET_GROUP, FLEET_GROUP_ARN, PREFIX, PROJECT, synthSafety } from "../../support/safety/stack";
import { synthEnvironment } from "../../support/stacks";

const COUNT = "${var.create_instance ? 1 : 0}";
const ACCOUNT = "${data.aws_caller_identity.current.account_id}";
const REGION = "${data.aws_region.current.name}";
const PARTITION = "${data.aws_partition.current.partition}";
const TOPIC = "${aws_sns_topic.safety_alerts.arn}";
const TOPIC_ARN_BUILT = `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${PREFIX}-alerts`;
const KEY = "${aws_kms_key.safety_alerts.arn}";
const GUARD_ROLE = "${aws_iam_role.safety_guard.arn}";
const EMAILS = ["ml-ops@example.com", "oncall@example.com"];
const BYO_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** Defaults: no fleet, no e-mails, a created key. */
const defaults = synthSafety();
/** Everything set the other way: fleet, e-mails, an existing key, stop, dry run, reserved concurrency. */
const custom = synthSafety({
  fleet: true,
  defaults: { useSpot: false },
  safety: {
    alertEmails: EMAILS,
    monthlyBudgetUsd: 250,
    kmsKeyArn: BYO_KEY,
    guard: { schedule: "cron(0 * * * ? *)", action: "stop", dryRun: true, reservedConcurrency: 2 },
    idleGpu: { thresholdPercent: 10, minutes: 30, action: "stop" },
    logRetentionDays: 14,
  },
});

function statement(json: SynthesizedStack, document: string, sid: string): Statement {
  const found = statementsOf(json, document).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${document}: ${statementsOf(json, document).map((s) => s.sid).join(", ")}`);
  return found;
}

function conditionsOf(s: Statement): Record<string, string[]> {
  return Object.fromEntries((s.condition ?? []).map((c) => [`${c.test} ${c.variable}`, c.values]));
}

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

function dashboardOf(json: SynthesizedStack): { widgets: Array<{ type: string; x: number; y: number; width: number; height: number; properties: Record<string, unknown> }> } {
  return JSON.parse(resourceOf(json, "aws_cloudwatch_dashboard", "safety").dashboard_body as string);
}

describe("training-safety: alerts topic and its key", () => {
  it("GIVEN no key in the config WHEN synthesized THEN the topic is encrypted with a created, rotated customer managed key and an alias", () => {
    expect(resourceOf(defaults.json, "aws_sns_topic", "safety_alerts")).toMatchObject({ name: `${PREFIX}-alerts`, kms_master_key_id: KEY });
    expect(resourceOf(defaults.json, "aws_kms_key", "safety_alerts")).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(resourceOf(defaults.json, "aws_kms_alias", "safety_alerts")).toMatchObject({
      name: `alias/${PREFIX}-alerts`,
      target_key_id: "${aws_kms_key.safety_alerts.key_id}",
    });
  });

  it("GIVEN the key policy WHEN read THEN only the account (administration), CloudWatch alarms, Budgets and the guard's role may use the key", () => {
    const statements = statementsOf(defaults.json, "safety_alerts_key");
    expect(statements.map((s) => [s.sid, s.principals?.map((p) => `${p.type}:${p.identifiers.join(",")}`)])).toEqual([
      ["AccountAdministersTheKey", [`AWS:arn:${PARTITION}:iam::${ACCOUNT}:root`]],
      ["CloudWatchAlarmsPublishToTheAlertsTopic", ["Service:cloudwatch.${data.aws_partition.current.dns_suffix}"]],
      ["BudgetsPublishToTheAlertsTopic", ["Service:budgets.${data.aws_partition.current.dns_suffix}"]],
      ["RuntimeGuardPublishesToTheAlertsTopic", [`AWS:${GUARD_ROLE}`]],
    ]);
    for (const s of statements.slice(1)) expect(s.actions).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
  });

  it("GIVEN the key policy's service statements WHEN read THEN each is bound to this topic, this account and its own source ARNs", () => {
    expect(conditionsOf(statement(defaults.json, "safety_alerts_key", "CloudWatchAlarmsPublishToTheAlertsTopic"))).toEqual({
      "StringEquals kms:EncryptionContext:aws:sns:topicArn": [TOPIC_ARN_BUILT],
      "StringEquals aws:SourceAccount": [ACCOUNT],
      "ArnLike aws:SourceArn": [`arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${PREFIX}-*`],
    });
    expect(conditionsOf(statement(defaults.json, "safety_alerts_key", "BudgetsPublishToTheAlertsTopic"))).toEqual({
      "StringEquals kms:EncryptionContext:aws:sns:topicArn": [TOPIC_ARN_BUILT],
      "StringEquals aws:SourceAccount": [ACCOUNT],
      "ArnLike aws:SourceArn": [`arn:${PARTITION}:budgets::${ACCOUNT}:*`],
    });
    expect(conditionsOf(statement(defaults.json, "safety_alerts_key", "RuntimeGuardPublishesToTheAlertsTopic"))).toEqual({
      "StringEquals kms:EncryptionContext:aws:sns:topicArn": [TOPIC_ARN_BUILT],
      "StringEquals kms:ViaService": [`sns.${REGION}.\${data.aws_partition.current.dns_suffix}`],
    });
  });

  it("GIVEN the topic policy WHEN read THEN exactly CloudWatch alarms of this env and Budgets of this account may publish, never without TLS", () => {
    expect(resourceOf(defaults.json, "aws_sns_topic_policy", "safety_alerts")).toMatchObject({
      arn: TOPIC,
      policy: "${data.aws_iam_policy_document.safety_alerts_topic.json}",
    });
    const statements = statementsOf(defaults.json, "safety_alerts_topic");
    expect(statements.map((s) => [s.sid, s.effect, s.actions, s.resources])).toEqual([
      ["CloudWatchAlarmsOfThisEnvPublish", "Allow", ["sns:Publish"], [TOPIC_ARN_BUILT]],
      ["BudgetsOfThisAccountPublish", "Allow", ["sns:Publish"], [TOPIC_ARN_BUILT]],
      ["DenyPublishingWithoutTls", "Deny", ["sns:Publish"], [TOPIC_ARN_BUILT]],
    ]);
    expect(conditionsOf(statements[0] as Statement)).toEqual({
      "StringEquals aws:SourceAccount": [ACCOUNT],
      "ArnLike aws:SourceArn": [`arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${PREFIX}-*`],
    });
    expect(conditionsOf(statements[2] as Statement)).toEqual({ "Bool aws:SecureTransport": ["false"] });
  });

  it("GIVEN e-mails WHEN synthesized THEN one e-mail subscription per address, keyed by the address", () => {
    expect(resourceOf(custom.json, "aws_sns_topic_subscription", "safety_alerts_email")).toMatchObject({
      for_each: '${toset(["ml-ops@example.com", "oncall@example.com"])}',
      protocol: "email",
      endpoint: "${each.value}",
      topic_arn: TOPIC,
    });
  });

  it("GIVEN no e-mails WHEN synthesized THEN there is no subscription", () => {
    expect(resourcesOf(defaults.json, "aws_sns_topic_subscription")).toEqual({});
  });

  it("GIVEN an existing key WHEN synthesized THEN no key is created and the topic and the guard's grant use that key", () => {
    expect(resourcesOf(custom.json, "aws_kms_key")).toEqual({});
    expect(resourcesOf(custom.json, "aws_kms_alias")).toEqual({});
    expect(resourceOf(custom.json, "aws_sns_topic", "safety_alerts").kms_master_key_id).toBe(BYO_KEY);
    expect(statement(custom.json, "safety_guard_publish_alerts", "UseTheTopicKeyThroughSns").resources).toEqual([BYO_KEY]);
  });
});

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

describe("training-safety: alarms", () => {
  const idle = resourceOf(defaults.json, "aws_cloudwatch_metric_alarm", "safety_idle_gpu");

  it("GIVEN the instance's count WHEN synthesized THEN the idle-GPU alarm has the same count and watches that instance", () => {
    expect(idle.count).toBe(COUNT);
    expect(idle.dimensions).toEqual({ InstanceId: "${aws_instance.compute_training[count.index].id}" });
  });

  it("GIVEN the agent's metric WHEN synthesized THEN the alarm reads the busiest GPU in GpuTraining/<env> over 12 five-minute periods under 5%", () => {
    expect(idle).toMatchObject({
      namespace: `GpuTraining/${ENVIRONMENT}`,
      metric_name: "nvidia_smi_utilization_gpu",
      statistic: "Maximum",
      period: 300,
      evaluation_periods: 12,
      datapoints_to_alarm: 12,
      threshold: 5,
      comparison_operator: "LessThanThreshold",
    });
  });

  it("GIVEN missing data (booting, agent not up) WHEN evaluated THEN it never counts as idle", () => {
    expect(idle.treat_missing_data).toBe("notBreaching");
  });

  it("GIVEN auto_shutdown WHEN the alarm fires THEN it terminates the instance and notifies; with auto_shutdown false it only notifies", () => {
    expect(idle.alarm_actions).toBe(
      `\${var.auto_shutdown ? ["arn:${PARTITION}:automate:${REGION}:ec2:terminate", aws_sns_topic.safety_alerts.arn] : [aws_sns_topic.safety_alerts.arn]}`,
    );
  });

  it("GIVEN idle settings WHEN synthesized THEN threshold, periods and the stop action follow them", () => {
    const alarm = resourceOf(custom.json, "aws_cloudwatch_metric_alarm", "safety_idle_gpu");
    expect(alarm).toMatchObject({ threshold: 10, evaluation_periods: 6, datapoints_to_alarm: 6 });
    expect(alarm.alarm_actions).toContain(`automate:${REGION}:ec2:stop`);
  });

  it("GIVEN the idle alarm disabled WHEN synthesized THEN there is none", () => {
    const { json } = synthSafety({ safety: { idleGpu: { enabled: false } } });
    expect(resourcesOf(json, "aws_cloudwatch_metric_alarm")).not.toHaveProperty("safety_idle_gpu");
  });

  it("GIVEN the guard WHEN it errors THEN an alarm on its Errors metric notifies the topic", () => {
    expect(resourceOf(defaults.json, "aws_cloudwatch_metric_alarm", "safety_guard_errors")).toMatchObject({
      alarm_name: `${PREFIX}-runtime-guard-errors`,
      namespace: "AWS/Lambda",
      metric_name: "Errors",
      dimensions: { FunctionName: "${aws_lambda_function.safety_guard.function_name}" },
      statistic: "Sum",
      threshold: 1,
      comparison_operator: "GreaterThanOrEqualToThreshold",
      treat_missing_data: "notBreaching",
      alarm_actions: [TOPIC],
    });
  });
});

describe("training-safety: budget", () => {
  it("GIVEN the config WHEN synthesized THEN a monthly COST budget of the amount filters on the env's cost allocation tag", () => {
    expect(resourceOf(custom.json, "aws_budgets_budget", "safety_monthly")).toMatchObject({
      name: `${PREFIX}-monthly`,
      budget_type: "COST",
      limit_amount: "250",
      limit_unit: "USD",
      time_unit: "MONTHLY",
      cost_filter: [{ name: "TagKeyValue", values: [`user:Environment$${ENVIRONMENT}`] }],
      depends_on: ["aws_sns_topic_policy.safety_alerts"],
    });
  });

  it("GIVEN e-mails WHEN synthesized THEN 80% actual and 100% forecasted notify the topic and the e-mails", () => {
    const common = { comparison_operator: "GREATER_THAN", threshold_type: "PERCENTAGE", subscriber_sns_topic_arns: [TOPIC], subscriber_email_addresses: EMAILS };
    expect(resourceOf(custom.json, "aws_budgets_budget", "safety_monthly").notification).toEqual([
      { ...common, threshold: 80, notification_type: "ACTUAL" },
      { ...common, threshold: 100, notification_type: "FORECASTED" },
    ]);
  });

  it("GIVEN no e-mails WHEN synthesized THEN the notifications go to the topic only", () => {
    const notifications = resourceOf(defaults.json, "aws_budgets_budget", "safety_monthly").notification as Array<Record<string, unknown>>;
    expect(notifications.map((n) => [n.subscriber_sns_topic_arns, n.subscriber_email_addresses])).toEqual([
      [[TOPIC], undefined],
      [[TOPIC], undefined],
    ]);
  });
});

describe("training-safety: dashboard and outputs", () => {
  const body = dashboardOf(defaults.json);
  const text = JSON.stringify(body);

  it("GIVEN the dashboard body WHEN parsed THEN it is JSON whose widgets tile the 24-column grid without overlapping", () => {
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x += 1) {
        for (let y = w.y; y < w.y + w.height; y += 1) {
          expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it("GIVEN the dashboard WHEN read THEN it graphs GPU utilisation and memory, CPU, memory, disk from the env's namespace", () => {
    for (const metric of ["nvidia_smi_utilization_gpu", "nvidia_smi_memory_used", "cpu_usage_active", "mem_used_percent", "disk_used_percent"]) {
      expect(text).toContain(JSON.stringify(`{GpuTraining/${ENVIRONMENT},InstanceId} MetricName="${metric}"`).slice(1, -1));
    }
    expect(text).toContain('"value":5,"label":"idle-GPU alarm threshold"');
  });

  it("GIVEN the dashboard WHEN read THEN network is graphed for the single instance by its id (or a placeholder)", () => {
    expect(text).toContain('["AWS/EC2","NetworkIn","InstanceId","${local.safety_dashboard_instance_id}"');
    expect(defaults.json.locals?.safety_dashboard_instance_id).toBe('${coalesce(one(aws_instance.compute_training[*].id), "i-none")}');
  });

  it("GIVEN the dashboard WHEN read THEN Logs Insights shows the guard's actions and the training log errors", () => {
    const queries = body.widgets.filter((w) => w.type === "log").map((w) => w.properties.query as string);
    expect(queries).toEqual([
      expect.stringMatching(new RegExp(`^SOURCE '/aws/lambda/${PREFIX}-runtime-guard' \\| .*filter ispresent\\(instanceId\\)`)),
      expect.stringMatching(new RegExp(`^SOURCE '/gpu-training/${ENVIRONMENT}' \\| .*traceback`)),
    ]);
  });

  it("GIVEN no fleet WHEN read THEN no fleet widget; GIVEN a fleet THEN its group's instances and network are graphed", () => {
    expect(text).not.toContain("AWS/AutoScaling");
    const fleetText = JSON.stringify(dashboardOf(custom.json));
    expect(fleetText).toContain('["AWS/AutoScaling","GroupInServiceInstances","AutoScalingGroupName","${aws_autoscaling_group.fleet.name}"');
    expect(fleetText).toContain('["AWS/EC2","NetworkIn","AutoScalingGroupName","${aws_autoscaling_group.fleet.name}"');
    expect(FLEET_GROUP).toBe(`${PREFIX}-fleet`);
  });

  it("GIVEN the module WHEN synthesized THEN alerts_topic_arn and dashboard_url are outputs with descriptions", () => {
    expect(defaults.json.output?.alerts_topic_arn).toMatchObject({ value: TOPIC, description: expect.stringContaining("SNS topic") });
    expect(defaults.json.output?.dashboard_url).toMatchObject({
      value: `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#dashboards/dashboard/\${aws_cloudwatch_dashboard.safety.dashboard_name}`,
      description: expect.stringContaining("CloudWatch dashboard"),
    });
  });
});

describe("training-safety in the environment stacks", () => {
  it.each(["training", "dev", "prod"])("GIVEN env %s WHEN synthesized THEN its safety nets follow its config and pass the policy packs", async (name) => {
    const env = await realEnvironment(name);
    const { stack, json } = synthEnvironment(env);
    expect(stack.safety.node.path).toBe(`${name}/Safety`);
    expect(resourceOf(json, "aws_budgets_budget", "safety_monthly").limit_amount).toBe(String(env.safety.monthlyBudgetUsd));
    expect(resourceOf(json, "aws_cloudwatch_event_rule", "safety_guard_schedule").schedule_expression).toBe(env.safety.guard.schedule);
    expect(Object.keys(json.output ?? {})).toEqual(expect.arrayContaining(["alerts_topic_arn", "dashboard_url"]));
    expect(policyReportOf(stack)?.violations).toEqual([]);
  });
});
