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

/**
 * Optional tag an operator may put on an instance (not set by Terraform): minutes without a new training step after
 * which the run counts as stalled, overriding the env's `safety.stalledRun.minutes` for the run (read by the runtime
 * at each attempt, `runtime/lib/progress.sh`).
 */
export const STALL_MINUTES_TAG = "StallMinutes";

/**
 * The training progress metrics the runtime publishes (`runtime/lib/progress.py`, Embedded Metric Format through the
 * CloudWatch agent) in the env's namespace: every one per run (dimension {@link RUN_ID_DIMENSION}); the stall signal
 * and its age also per instance (`InstanceId`), per fleet (`AutoScalingGroupName`) and env-wide (no dimension). Any
 * other numeric field of a progress line is a metric of its own name, per run.
 */
export const PROGRESS_METRICS = {
  step: "Step",
  totalSteps: "TotalSteps",
  percent: "ProgressPercent",
  stepsPerSecond: "StepsPerSecond",
  etaSeconds: "EtaSeconds",
  loss: "Loss",
  samplesPerSecond: "SamplesPerSecond",
  secondsSinceProgress: "SecondsSinceProgress",
  /** 1 while the run is stalled (no new step for its stall window), 0 otherwise; absent before the first report. */
  stalled: "ProgressStalled",
  malformedLines: "MalformedLines",
} as const;

/** The dimension of the per-run progress metrics. */
export const RUN_ID_DIMENSION = "RunId";

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

/**
 * The runtime's timing defaults that the configuration rules depend on (`runtime/lib/common.sh`; the runtime tests
 * assert they are the runtime's): the spot watcher's poll, the margin kept before AWS's deadline, the marker's
 * reserve, and the final sync budget of a requested stop.
 */
export const RUNTIME_TIMINGS = { spotPollSeconds: 5, deadlineMarginSeconds: 5, markerReserveSeconds: 10, finalSyncSeconds: 60 } as const;

/**
 * The seconds a node must be given to drain: notice it (a poll), the container's grace, the final sync (at least as
 * long as the grace: the runtime caps the grace at half the time left), the marker's reserve and the margin.
 */
export function minimumDrainSeconds(spotGraceSeconds: number): number {
  const t = RUNTIME_TIMINGS;
  return t.spotPollSeconds + spotGraceSeconds + Math.max(spotGraceSeconds, t.finalSyncSeconds) + t.markerReserveSeconds + t.deadlineMarginSeconds;
}

/** Minutes without a new training step before a run counts as stalled (`safety.stalledRun.minutes`, `StallMinutes`). */
export const STALL_MINUTES_RANGE = { min: 5, max: 1440 } as const;

/**
 * How a run id is generated when none is given (`run_id` empty): `run-<UTC timestamp>`, e.g. `run-20250131-143005`,
 * as a Terraform expression (a `terraform_data` input, frozen after creation by `ignore_changes`).
 */
export const GENERATED_RUN_ID = 'run-${formatdate("YYYYMMDD-hhmmss", timestamp())}';

/**
 * The run id in force, as a Terraform expression: the `run_id` variable when set, else the generated one. Both
 * arguments are tokens (`var.run_id`, the generated id's reference).
 */
export function runIdOrGenerated(runIdVariable: string, generated: string): string {
  return `\${${runIdVariable} != "" ? ${runIdVariable} : ${generated}}`;
}

/**
 * Tag keys EC2 accepts on an instance whose tags are readable from the instance metadata (`instance_metadata_tags =
 * "enabled"`): letters, digits and `+ - = . , _ : @`, no spaces or `/`, not `.`, `..` or `_index`. The provider's
 * default tags (Project, Environment, ... and the env's `tags`) land on the instance, so they must follow this too.
 *
 * @returns one problem per key that breaks the rule (empty when all are fine)
 */
export function instanceMetadataTagKeyProblems(keys: readonly string[]): string[] {
  return keys
    .filter((key) => !/^[A-Za-z0-9+\-=.,_:@]+$/.test(key) || key === "." || key === ".." || key === "_index")
    .map((key) => `tag key "${key}" cannot be read from instance metadata (only letters, digits and + - = . , _ : @; not ".", ".." or "_index")`);
}
