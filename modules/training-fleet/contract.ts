/** The fleet's modes, tags and metrics, as plain values (no constructs): `gti` and the runtime read them too. */

/** `fleet.mode`: one torchrun job across all nodes, or one run per node. */
export type FleetMode = "independent" | "multi-node";

/** The runtime mode (`GTI_MODE`) of each fleet mode. */
export const FLEET_RUNTIME_MODES: Readonly<Record<FleetMode, string>> = {
  independent: "fleet-independent",
  "multi-node": "fleet-multinode",
};

/** Tag keys fleet nodes carry besides the instance's (`INSTANCE_TAGS`) and the default tags. */
export const FLEET_TAGS = {
  /** The runtime mode of the node (`fleet-independent` or `fleet-multinode`). */
  mode: "GtiFleetMode",
} as const;

/** Group metrics collected every minute (Auto Scaling group metrics are free, unlike detailed instance monitoring). */
export const FLEET_GROUP_METRICS = [
  "GroupMinSize",
  "GroupMaxSize",
  "GroupDesiredCapacity",
  "GroupInServiceInstances",
  "GroupPendingInstances",
  "GroupStandbyInstances",
  "GroupTerminatingInstances",
  "GroupTotalInstances",
  "GroupInServiceCapacity",
  "GroupPendingCapacity",
  "GroupStandbyCapacity",
  "GroupTerminatingCapacity",
  "GroupTotalCapacity",
] as const;

/** The lifecycle transition of the drain hook. */
export const TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING";
