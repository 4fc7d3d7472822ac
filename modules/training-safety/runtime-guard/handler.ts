/**
 * Runtime guard Lambda entry point (bundled to `index.js`; runtime `nodejs22.x`, handler `index.handler`).
 *
 * Every hour (EventBridge schedule) it lists this env's pending/running EC2 instances by their `Project` and
 * `Environment` tags and enforces each one's max runtime, read from its `MaxRuntimeHours` tag (hours since the last
 * start): over the limit -> terminate or stop (per `ACTION`; only reported when `DRY_RUN=true`); no tag or an invalid
 * one -> reported, left alone. A summary goes to the SNS topic whenever something was (or would be) acted on, failed,
 * or is untagged/invalid; all-clear runs stay quiet. Logs are JSON lines.
 *
 * An auto scaling group member over its limit is terminated through its group (TerminateInstanceInAutoScalingGroup,
 * desired capacity decremented), whatever `ACTION` says. The same function receives EC2 spot interruption warnings and
 * rebalance recommendations (EventBridge) and alerts the topic for this env's instances (`instance-events.ts`).
 *
 * Environment variables (validated at cold start, see `config.ts`):
 *   PROJECT          Project tag value of this env's instances (required)
 *   ENVIRONMENT      Environment tag value of this env's instances (required)
 *   TOPIC_ARN        SNS topic for summaries (required, standard topic)
 *   ACTION           terminate | stop (required)
 *   DRY_RUN          true | false (required)
 *   MAX_RUNTIME_TAG  tag key of the limit (default MaxRuntimeHours)
 *
 * IAM the function needs: ec2:DescribeInstances (resource "*"); ec2:TerminateInstances or ec2:StopInstances on
 * instances tagged with this env (condition on aws:ResourceTag/Project and /Environment);
 * autoscaling:TerminateInstanceInAutoScalingGroup on this env's fleet group; sns:Publish on TOPIC_ARN (and the
 * topic key's kms:GenerateDataKey* / kms:Decrypt); its log group.
 *
 * Invocation result: resolves with the run's `GuardSummary` (or an instance event's `InstanceEventResult`); rejects
 * (counted in the Errors metric) when the configuration is invalid, the instances cannot be listed, or the SNS
 * message could not be published.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { createHandler } from "./guard";

/**
 * The SDK clients, created once per container (region and credentials come from the Lambda environment). Exported so
 * a test can replace their `send` on the bundled code; nothing else should touch them.
 */
export const clients = { ec2: new EC2Client({}), sns: new SNSClient({}), autoScaling: new AutoScalingClient({}) };

/** The Lambda handler. */
export const handler = createHandler({ env: process.env, ec2: clients.ec2, sns: clients.sns, autoScaling: clients.autoScaling });
