/**
 * The alerts topic's key policy and topic policy: who may publish to the topic, and use its key to do so.
 *
 * Publishers: CloudWatch alarms of this env (idle GPU, guard errors), AWS Budgets of this account, and the runtime
 * guard's role (its summaries, spot alerts and failed invocations through the on-failure destination). EventBridge is
 * deliberately absent: its rules invoke the guard function, nothing sends events to the topic directly.
 *
 * The service statements carry the confused-deputy conditions AWS documents for SNS publishers (`aws:SourceAccount`,
 * `aws:SourceArn`), and the key statements are bound to this topic's encryption context, so the key cannot encrypt
 * for anything else.
 */
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { PUBLISH_ACTIONS, TOPIC_KEY_ACTIONS } from "./perms";

/** ARNs and names the policies are scoped to (tokens are fine). */
export interface AlertsPolicyScopes {
  /** The topic's ARN, built from its name (the key policy cannot refer to the topic, which refers to the key). */
  readonly topicArn: string;
  readonly account: string;
  /** `arn:<partition>:iam::<account>:root`: the account, administering the key through IAM. */
  readonly accountRootArn: string;
  /** `arn:<partition>:cloudwatch:<region>:<account>:alarm:<project>-<env>-*`: this env's alarms. */
  readonly alarmArns: string;
  /** `arn:<partition>:budgets::<account>:*`: this account's budgets. */
  readonly budgetArns: string;
  /** `sns.<region>.<dns suffix>`: the `kms:ViaService` of SNS. */
  readonly snsService: string;
  /** `<name>.<dns suffix>`: a service principal. */
  readonly service: (name: string) => string;
}

/** The key policy: the account administers; CloudWatch alarms, Budgets and the guard's role encrypt for this topic. */
export function alertsKeyStatements(scopes: AlertsPolicyScopes, guardRoleArn: string): DataAwsIamPolicyDocumentStatement[] {
  const topicContext = { test: "StringEquals", variable: "kms:EncryptionContext:aws:sns:topicArn", values: [scopes.topicArn] };
  const fromService = (sid: string, service: string, sourceArns: string): DataAwsIamPolicyDocumentStatement => ({
    sid,
    effect: "Allow",
    actions: [...TOPIC_KEY_ACTIONS],
    // In a key policy "*" means this key.
    resources: ["*"],
    principals: [{ type: "Service", identifiers: [scopes.service(service)] }],
    condition: [
      topicContext,
      { test: "StringEquals", variable: "aws:SourceAccount", values: [scopes.account] },
      { test: "ArnLike", variable: "aws:SourceArn", values: [sourceArns] },
    ],
  });
  return [
    {
      // AWS's default first statement: the account administers the key through IAM (without it nobody could).
      sid: "AccountAdministersTheKey",
      effect: "Allow",
      actions: ["kms:*"],
      resources: ["*"],
      principals: [{ type: "AWS", identifiers: [scopes.accountRootArn] }],
    },
    fromService("CloudWatchAlarmsPublishToTheAlertsTopic", "cloudwatch", scopes.alarmArns),
    fromService("BudgetsPublishToTheAlertsTopic", "budgets", scopes.budgetArns),
    {
      sid: "RuntimeGuardPublishesToTheAlertsTopic",
      effect: "Allow",
      actions: [...TOPIC_KEY_ACTIONS],
      resources: ["*"],
      principals: [{ type: "AWS", identifiers: [guardRoleArn] }],
      condition: [topicContext, { test: "StringEquals", variable: "kms:ViaService", values: [scopes.snsService] }],
    },
  ];
}

/**
 * The topic policy: exactly CloudWatch alarms of this env and Budgets of this account may publish; nobody without TLS.
 * (The guard's role publishes with its IAM permission: same account.)
 */
export function alertsTopicStatements(scopes: AlertsPolicyScopes): DataAwsIamPolicyDocumentStatement[] {
  const fromService = (sid: string, service: string, sourceArns: string): DataAwsIamPolicyDocumentStatement => ({
    sid,
    effect: "Allow",
    actions: [...PUBLISH_ACTIONS],
    resources: [scopes.topicArn],
    principals: [{ type: "Service", identifiers: [scopes.service(service)] }],
    condition: [
      { test: "StringEquals", variable: "aws:SourceAccount", values: [scopes.account] },
      { test: "ArnLike", variable: "aws:SourceArn", values: [sourceArns] },
    ],
  });
  return [
    fromService("CloudWatchAlarmsOfThisEnvPublish", "cloudwatch", scopes.alarmArns),
    fromService("BudgetsOfThisAccountPublish", "budgets", scopes.budgetArns),
    {
      sid: "DenyPublishingWithoutTls",
      effect: "Deny",
      actions: [...PUBLISH_ACTIONS],
      resources: [scopes.topicArn],
      principals: [{ type: "*", identifiers: ["*"] }],
      condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
    },
  ];
}
