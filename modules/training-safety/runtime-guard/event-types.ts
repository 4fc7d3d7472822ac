/**
 * The EC2 events the guard's second entry path handles (`instance-events.ts`), in a file of their own: the Terraform
 * side (the EventBridge rule's pattern) imports them without loading the AWS SDK at synth time.
 */

/** The EventBridge `detail-type`s of the instance-event path, and how results name them. */
export const INSTANCE_EVENT_TYPES = {
  "EC2 Spot Instance Interruption Warning": "spot-interruption-warning",
  "EC2 Instance Rebalance Recommendation": "rebalance-recommendation",
} as const;

export type InstanceEventDetailType = keyof typeof INSTANCE_EVENT_TYPES;
export type InstanceEventKind = (typeof INSTANCE_EVENT_TYPES)[InstanceEventDetailType];

/** The EventBridge pattern matching them (source `aws.ec2`, either detail-type). */
export function instanceEventPattern(): { readonly source: readonly string[]; readonly "detail-type": readonly string[] } {
  return { source: ["aws.ec2"], "detail-type": Object.keys(INSTANCE_EVENT_TYPES) };
}
