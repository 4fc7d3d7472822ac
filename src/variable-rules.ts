/**
 * The names and value rules of the Terraform variables (src/variables.ts, src/fleet-variables.ts), without cdktf: the
 * config schema and `gti` read them, and `gti` starts faster without loading cdktf (docs/performance.md). The
 * variables' modules re-export them.
 */

/**
 * Value rules of the Terraform variables (src/variables.ts), which the config schema (`src/config/sections/compute.ts`)
 * applies at synth as well.
 * Patterns are written in the syntax JavaScript and Terraform's RE2 share.
 */

/** `max_runtime_hours` / `compute.maxRuntimeHours`: one hour to one week. */
export const MAX_RUNTIME_HOURS_RANGE = { min: 1, max: 168 } as const;

/** `root_volume_size_gb` / `compute.rootVolumeSizeGb`: the GPU AMI needs about 100 GiB; gp3 allows 16 TiB. */
export const ROOT_VOLUME_SIZE_GB_RANGE = { min: 100, max: 16384 } as const;

/** `spot_max_price` / `compute.spotMaxPrice`: empty (the on-demand cap) or a price in USD per hour (above 0). */
export const SPOT_MAX_PRICE_PATTERN = "^$|^[0-9]+([.][0-9]+)?$";

/** `training_image_tag` / `compute.trainingImageTag`: what Docker and ECR accept as a tag. */
export const IMAGE_TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

/**
 * A run id the instance runtime accepts (`runtime/lib/common.sh`: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`), and the
 * outputs bucket layout allows (`RUN_ID_PATTERN`); empty means "generate one" (`run_id`).
 */
export const RUN_ID_VARIABLE_PATTERN = "^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";

/** The variable names, exactly as ops teams write them. */
export const VARIABLE_NAMES = {
  createInstance: "create_instance",
  useSpot: "use_spot",
  instanceType: "instance_type",
  autoShutdown: "auto_shutdown",
  maxRuntimeHours: "max_runtime_hours",
  spotMaxPrice: "spot_max_price",
  rootVolumeSizeGb: "root_volume_size_gb",
  trainingImageTag: "training_image_tag",
  runId: "run_id",
} as const;

/** The fleet's variable names, exactly as ops teams write them. */
export const FLEET_VARIABLE_NAMES = {
  desiredInstances: "desired_instances",
  onDemandBaseCapacity: "on_demand_base_capacity",
} as const;
