/** The safety nets' settings (the `safety.*` config sections map onto them) and what they need of the fleet. */
import type { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import type { SafetyAction } from "./guard-function";

/** The runtime guard's settings (`safety.guard`). */
export interface RuntimeGuardProps {
  /** EventBridge schedule expression of the max-runtime check. @default "rate(1 hour)" */
  readonly schedule?: string;
  /** What happens to a single instance over its max runtime (fleet members are always terminated through their group). @default "terminate" */
  readonly action?: SafetyAction;
  /** Only report what would be done. @default false */
  readonly dryRun?: boolean;
  /**
   * Reserved concurrency of the function. @default none: the account's unreserved pool (AWS refuses a reservation
   * that leaves fewer than 10 unreserved executions, and new accounts have exactly 10)
   */
  readonly reservedConcurrency?: number;
}

/** The idle-GPU alarm's settings (`safety.idleGpu`). */
export interface IdleGpuProps {
  /** Create the alarm (with the instance). @default true */
  readonly enabled?: boolean;
  /** Utilisation (%) of the busiest GPU under which the instance counts as idle. @default 5 */
  readonly thresholdPercent?: number;
  /** Minutes of idleness before the action, a multiple of 5 up to 1440. @default 60 */
  readonly minutes?: number;
  /** What the alarm does to the instance (unless `auto_shutdown` is false: then it only notifies). @default "terminate" */
  readonly action?: SafetyAction;
}

/** The stalled-run alarm's settings (`safety.stalledRun`; its minutes are the compute module's `stallMinutes`). */
export interface StalledRunProps {
  /** Create the alarm (with the instance; notify-only on the fleet's group). @default true */
  readonly enabled?: boolean;
  /**
   * What the alarm does to the single instance: only notify, or terminate / stop it (unless `auto_shutdown` is false:
   * then it only notifies). @default "terminate"
   */
  readonly action?: SafetyAction | "notify";
}

/** The fleet, for the guard's permission on its group, the fleet alarm and the dashboard. Satisfied by `TrainingFleet`. */
export interface SafetyFleet {
  readonly autoScalingGroup: AutoscalingGroup;
  /**
   * The group's ARN built from its literal name (`TrainingFleet.autoScalingGroupArn`), for the guard's permission: a
   * reference to `autoScalingGroup.arn` would defer the policy document to apply time whenever the group changes.
   */
  readonly autoScalingGroupArn: string;
}
