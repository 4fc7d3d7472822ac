/**
 * The IAM actions of the safety module, as named lists: what the runtime guard function calls, and what the AWS
 * services publishing to the alerts topic need of its KMS key.
 */

/** Listing this env's instances (and describing one for a spot event). EC2 Describe* calls take no resource ARN. */
export const DESCRIBE_INSTANCES_ACTIONS = ["ec2:DescribeInstances"] as const;

/** The guard's action on a single instance over its limit, per `safety.guard.action`. */
export const GUARD_INSTANCE_ACTIONS = {
  terminate: ["ec2:TerminateInstances"],
  stop: ["ec2:StopInstances"],
} as const;

/** Terminating a fleet member through its group (decrementing the desired capacity). */
export const TERMINATE_GROUP_MEMBER_ACTIONS = ["autoscaling:TerminateInstanceInAutoScalingGroup"] as const;

/** Publishing to the alerts topic. */
export const PUBLISH_ACTIONS = ["sns:Publish"] as const;

/**
 * What a publisher to an SSE-KMS topic needs of the key: SNS generates a data key for each message (reused up to 5
 * minutes) and decrypts it to deliver. `GenerateDataKey*` as the SNS documentation writes it.
 */
export const TOPIC_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"] as const;

/** Writing the function's own log streams. It never creates groups: the group is managed here, with a retention. */
export const LOG_WRITE_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"] as const;
