/**
 * The IAM actions a fleet node's role (the shared instance role of the launch spec) gets from this module, as named
 * lists, kept to what the runtime calls in fleet modes (`runtime/`, README "Fleet mode").
 */

/**
 * Peer discovery of a multi-node fleet (`aws ec2 describe-instances` filtered by the group's `aws:autoscaling:groupName`
 * tag) and the group's desired size (`aws autoscaling describe-auto-scaling-groups`). Neither call supports
 * resource-level permissions: AWS only grants them on `*` (both families are in the policy pack's allowlist,
 * `STAR_RESOURCE_ACTION_PREFIXES` in src/policy/rules/iam.ts). They read, never change, anything.
 */
export const FLEET_DISCOVERY_ACTIONS = ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"] as const;

/**
 * Leaving the group cleanly, on this group only (resource type `autoScalingGroup`):
 * - `CompleteLifecycleAction`: the spot watcher, once a terminating node has drained (final checkpoint sync), lets the
 *   group terminate it before the termination hook's heartbeat timeout;
 * - `RecordLifecycleActionHeartbeat`: a drain that needs longer than the timeout extends it;
 * - `TerminateInstanceInAutoScalingGroup`: a node whose run ended leaves the group and lowers its desired capacity
 *   (`--should-decrement-desired-capacity`), so the group does not launch a replacement.
 */
export const FLEET_LIFECYCLE_ACTIONS = [
  "autoscaling:CompleteLifecycleAction",
  "autoscaling:RecordLifecycleActionHeartbeat",
  "autoscaling:TerminateInstanceInAutoScalingGroup",
] as const;
