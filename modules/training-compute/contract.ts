/**
 * What operators and tools read from a training instance and its runtime, as plain values (no constructs, so the
 * command line `gti` imports them without loading cdktf): the instance's tag keys, the log group and the metrics
 * namespace the runtime writes, and the GPU metric of the CloudWatch agent (`runtime/cloudwatch-agent.json`).
 */

/** Tag keys the instance carries (besides the provider's default tags), and what reads them. */
export const INSTANCE_TAGS = {
  /** The run id (the runtime's fallback when `GTI_RUN_ID` is empty; searchable in the console). */
  runId: "RunId",
  /** Hours after which the safety guard acts (`modules/training-safety/runtime-guard`, `MAX_RUNTIME_TAG`). */
  maxRuntimeHours: "MaxRuntimeHours",
  /** Whether the instance terminates itself when training ends. */
  autoShutdown: "AutoShutdown",
} as const;

/** The log group of an environment's instances (`GTI_LOG_GROUP`): streams `<instance id>/setup|training|runtime`. */
export function logGroupName(environment: string): string {
  return `/gpu-training/${environment}`;
}

/** The CloudWatch metrics namespace the instances' agent writes (`GTI_METRICS_NAMESPACE`). */
export function metricsNamespace(environment: string): string {
  return `GpuTraining/${environment}`;
}

/** The log streams the CloudWatch agent writes per instance (`runtime/cloudwatch-agent.json`), by log file. */
export const LOG_STREAM_SUFFIXES = ["setup", "training", "runtime"] as const;

/** One of {@link LOG_STREAM_SUFFIXES}. */
export type LogStreamSuffix = (typeof LOG_STREAM_SUFFIXES)[number];

/** The CloudWatch agent's GPU utilisation metric (`nvidia_gpu` measurement `utilization_gpu`). */
export const GPU_UTILIZATION_METRIC = "nvidia_smi_utilization_gpu";
