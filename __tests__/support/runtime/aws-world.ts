/** The "AWS world" the `aws` stub reads and changes (auto-scaling groups and their instances), for fleet tests. */

/** One instance of a fleet, for {@link fleetWorld}. */
export interface FleetNode {
  id: string;
  ip: string;
  /** EC2 LaunchTime, e.g. "2025-01-01T10:00:00+00:00". */
  launched: string;
  /** Its lifecycle state in the group ("InService", "Pending:Wait", ...); null: not a member of the group. */
  state?: string | null;
  /** EC2 state name. @default "running" */
  ec2State?: string;
}

/** What the `aws` stub knows about EC2 Auto Scaling and EC2 (API shapes; stubs/fake-aws.cjs). */
export interface AwsWorld {
  groups: {
    AutoScalingGroupName: string;
    DesiredCapacity: number;
    LifecycleHooks: string[];
    Instances: { InstanceId: string; LifecycleState: string }[];
  }[];
  instances: {
    InstanceId: string;
    PrivateIpAddress: string;
    LaunchTime: string;
    State: { Name: string };
    Tags: { Key: string; Value: string }[];
  }[];
}

/** A group `asg` (termination hook `<asg>-drain`) of desired capacity `desired` with these instances. */
export function fleetWorld(asg: string, desired: number, nodes: FleetNode[]): AwsWorld {
  return {
    groups: [
      {
        AutoScalingGroupName: asg,
        DesiredCapacity: desired,
        LifecycleHooks: [`${asg}-drain`],
        Instances: nodes.filter((n) => n.state !== null).map((n) => ({ InstanceId: n.id, LifecycleState: n.state ?? "InService" })),
      },
    ],
    instances: nodes.map((n) => ({
      InstanceId: n.id,
      PrivateIpAddress: n.ip,
      LaunchTime: n.launched,
      State: { Name: n.ec2State ?? "running" },
      Tags: n.state === null ? [] : [{ Key: "aws:autoscaling:groupName", Value: asg }],
    })),
  };
}
