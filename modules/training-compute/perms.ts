/**
 * The IAM actions the training instance's role gets from this module, as named lists (like aws-cdk's `perms.ts`),
 * kept to what the instance really calls: the SSM agent (Session Manager only), the CloudWatch agent, the runtime's
 * AWS CLI calls (`runtime/`). Storage and registry access come from those modules' grants.
 */

/**
 * Session Manager, and nothing else of Systems Manager (no Run Command, no inventory, no parameters): exactly AWS's
 * managed `AWSCloud9SSMInstanceProfile` set. The agent registers the instance, then opens the session channels.
 */
export const SSM_REGISTER_ACTIONS = ["ssm:UpdateInstanceInformation"] as const;

/** Session Manager's control and data channels. AWS authorizes them only on `*` (no resource type). */
export const SSM_SESSION_CHANNEL_ACTIONS = [
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
] as const;

/**
 * The CloudWatch agent shipping the runtime's three log files: create its streams (`<instance id>/setup`, ...) and
 * put events, in the environment's log group only. It never creates groups (the group is managed here, with a
 * retention): no `logs:CreateLogGroup`.
 */
export const LOG_WRITE_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"] as const;

/** The CloudWatch agent's GPU, CPU, memory and disk metrics. No resource type: scoped by `cloudwatch:namespace`. */
export const METRIC_WRITE_ACTIONS = ["cloudwatch:PutMetricData"] as const;

/**
 * The CloudWatch agent resolves `${aws:AutoScalingGroupName}` (`runtime/cloudwatch-agent.json`'s append_dimensions)
 * from the instance's `aws:autoscaling:groupName` tag through DescribeTags. EC2 Describe* calls take no resource ARN.
 */
export const TAG_READ_ACTIONS = ["ec2:DescribeTags"] as const;

/** The runtime reads the Hugging Face token at run time (`aws secretsmanager get-secret-value`), never writes it. */
export const SECRET_READ_ACTIONS = ["secretsmanager:GetSecretValue"] as const;

/**
 * Shutting itself down when training ends (`aws ec2 terminate-instances` on its own id); stop for persistent spot
 * requests, where terminating would make the request launch a replacement.
 */
export const SELF_SHUTDOWN_ACTIONS = ["ec2:TerminateInstances", "ec2:StopInstances"] as const;

/**
 * The runtime assumes the container role for each run with the session tag `RunId` (`aws sts assume-role --tags`):
 * TagSession is authorized separately from AssumeRole.
 */
export const CONTAINER_ROLE_ASSUME_ACTIONS = ["sts:AssumeRole", "sts:TagSession"] as const;
