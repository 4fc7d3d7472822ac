/**
 * The alerts topic `aws_sns_topic.safety_alerts` (`<prefix>-alerts`), encrypted with a customer managed KMS key
 * created here (`aws_kms_key.safety_alerts`, rotated yearly) or given. Not `alias/aws/sns`: CloudWatch alarms and AWS
 * Budgets cannot publish to a topic encrypted with that AWS managed key (its policy cannot name them). Key and topic
 * policies (policies.ts) let exactly CloudWatch alarms (this env's), AWS Budgets (this account's) and one publisher
 * role use it. E-mail subscriptions, one per address.
 */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { TerraformIterator } from "cdktf";
import { Construct } from "constructs";
import { AwsContext } from "../../src/aws-context";
import { address } from "../../src/naming";
import { type AlertsPolicyScopes, alertsKeyStatements, alertsTopicStatements } from "./policies";

/** What publishers need of the alerts topic. Satisfied by {@link AlertsTopic}. */
export interface IAlertsTopic {
  /** The topic's ARN as a reference to `aws_sns_topic.safety_alerts` (a token): alarm actions, destinations. */
  readonly arn: string;
  /** The same ARN built from the topic's name, known before the topic exists (key conditions). A token. */
  readonly knownArn: string;
  /** ARN of the topic's KMS key (created or given). */
  readonly keyArn: string;
}

export interface AlertsTopicProps {
  /** Start of generated names: the topic is `<namePrefix>-alerts`. */
  readonly namePrefix: string;
  /** The `Project` of this env (descriptions). */
  readonly project: string;
  /** The env's name (descriptions, display name). */
  readonly environment: string;
  /** The prefix of this env's alarm names: alarms named `<alarmNamePrefix>*` may publish. */
  readonly alarmNamePrefix: string;
  /** The role that may publish besides alarms and budgets (the runtime guard's). */
  readonly publisherRoleArn: string;
  /** Existing customer managed KMS key (ARN, same region). @default a key created here ($1/month) */
  readonly kmsKeyArn?: string;
  /** E-mail addresses subscribed to the topic. @default [] */
  readonly alertEmails?: readonly string[];
}

/** The env's alerts topic, its key and its subscriptions. */
export class AlertsTopic extends Construct implements IAlertsTopic {
  /** `aws_sns_topic.safety_alerts`. */
  public readonly topic: SnsTopic;
  /** `aws_sns_topic_policy.safety_alerts`: Budgets checks it when a budget is created (depend on it). */
  public readonly topicPolicy: SnsTopicPolicy;
  /** `aws_kms_key.safety_alerts`, unless `kmsKeyArn` was given. */
  public readonly key: KmsKey | undefined;
  public readonly arn: string;
  public readonly knownArn: string;
  public readonly keyArn: string;

  public constructor(scope: Construct, id: string, props: AlertsTopicProps) {
    super(scope, id);
    const context = AwsContext.of(this);
    const topicName = `${props.namePrefix}-alerts`;
    this.knownArn = context.formatArn({ service: "sns", resource: topicName });
    const scopes: AlertsPolicyScopes = {
      topicArn: this.knownArn,
      account: context.accountId,
      accountRootArn: context.formatArn({ service: "iam", region: "", resource: "root" }),
      alarmArns: context.formatArn({ service: "cloudwatch", resource: `alarm:${props.alarmNamePrefix}*` }),
      budgetArns: context.formatArn({ service: "budgets", region: "", resource: "*" }),
      snsService: `sns.${context.region}.${context.dnsSuffix}`,
      service: (name) => `${name}.${context.dnsSuffix}`,
    };

    // The topic's key: created (least-privilege policy, see policies.ts) or given.
    if (props.kmsKeyArn) {
      this.key = undefined;
      this.keyArn = props.kmsKeyArn;
    } else {
      const keyPolicy = address(
        new DataAwsIamPolicyDocument(this, "KeyPolicy", { statement: alertsKeyStatements(scopes, props.publisherRoleArn) }),
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
    this.arn = this.topic.arn;
    const topicPolicyDocument = address(
      new DataAwsIamPolicyDocument(this, "TopicPolicy", { statement: alertsTopicStatements(scopes) }),
      "safety",
      "alerts_topic",
    );
    this.topicPolicy = address(
      new SnsTopicPolicy(this, "AlertsTopicPolicy", { arn: this.topic.arn, policy: topicPolicyDocument.json }),
      "safety",
      "alerts",
    );
    const emails = [...(props.alertEmails ?? [])];
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
  }
}
