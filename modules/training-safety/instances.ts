/** What the safety nets need of the env's single training instance. Satisfied by `TrainingCompute`. */
import type { TerraformCount } from "cdktf";

/** The single (counted) training instance, as references and plain values. */
export interface ITrainingInstances {
  /** `var.create_instance ? 1 : 0`: the alarms on the instance share it. */
  readonly count: TerraformCount;
  /** The instance id at `index` of the count (e.g. `count.index` inside a resource sharing it). A token. */
  instanceIdAt(index: number): string;
  /** The instance id, or null without an instance (`one(<instance>[*].id)`). A token. */
  readonly instanceIdExpression: string;
  /** The CloudWatch namespace the instance's agent and runtime write (`GpuTraining/<env>`). */
  readonly metricsNamespace: string;
  /** The training log group (`/gpu-training/<env>`). */
  readonly logGroupName: string;
  /** Minutes without a new step before a run counts as stalled. */
  readonly stallMinutes: number;
  /** The instance's spot request type: a one-time spot instance cannot be stopped. */
  readonly spotRequestType: "one-time" | "persistent";
}
