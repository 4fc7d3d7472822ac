/** Tests of training-safety: alerts topic and its key. */
import { describe, expect, it } from "vitest";
import { resourceOf, resourcesOf } from "../../support/synth";
import { type Statement, statementsOf } from "../../support/module-stack";
import { PREFIX } from "../../support/safety/stack";
import {
  ACCOUNT,
  BYO_KEY,
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
