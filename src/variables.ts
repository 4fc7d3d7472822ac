/**
 * The Terraform variables ops teams flip at apply time (`terraform apply -var create_instance=true`), without
 * re-synthesizing. Names, types and validation messages are a user-facing contract (docs/terraform-interface.md):
 * renaming one breaks every tfvars file and script written against it.
 *
 * {@link TrainingVariables} is created once per environment stack and handed to the modules that read the variables
 * (training-compute today; the spot fleet shares `use_spot` and `spot_max_price` and adds its own here). The defaults
 * come from the environment's configuration (`compute.*` in `envs/<env>.ts`), so each env has sensible values while
 * every value can still be overridden per apply.
 *
 * Every variable is `nullable = false` (`-var x=null` is refused instead of silently meaning "no value") and carries
 * `validation` blocks whose messages name the value, the rule and the fix, like the config schema's. The rules are
 * the schema's, from the same constants, so a value the env file may not hold cannot be passed at apply time either.
 */
import { type IResolvable, TerraformVariable, VariableType } from "cdktf";
import { Construct } from "constructs";
import { GPU_INSTANCE_FAMILIES, GPU_INSTANCE_TYPE_NAMES } from "./gpu-instance-types";
import { defineVariable, hclString, wholeNumberInRange } from "./variable-helpers";
import {
  IMAGE_TAG_PATTERN,
  MAX_RUNTIME_HOURS_RANGE,
  ROOT_VOLUME_SIZE_GB_RANGE,
  RUN_ID_VARIABLE_PATTERN,
  SPOT_MAX_PRICE_PATTERN,
  VARIABLE_NAMES,
} from "./variable-rules";

export { defineVariable, hclString, wholeNumberInRange };
/** The names and value rules live in ./variable-rules (no cdktf: the config schema and `gti` read them). */
export { IMAGE_TAG_PATTERN, MAX_RUNTIME_HOURS_RANGE, ROOT_VOLUME_SIZE_GB_RANGE, RUN_ID_VARIABLE_PATTERN, SPOT_MAX_PRICE_PATTERN, VARIABLE_NAMES };

/** Defaults of the variables, usually the environment's `compute` settings. Every field is optional. */
export interface TrainingVariableDefaults {
  /** Default of `create_instance`. @default false: no instance (no bill) until asked */
  readonly createInstance?: boolean;
  /** Default of `use_spot`. @default true */
  readonly useSpot?: boolean;
  /** Default of `instance_type`; must be an NVIDIA GPU type on x86_64. @default "g5.xlarge" */
  readonly instanceType?: string;
  /** Default of `auto_shutdown`. @default true: the instance terminates itself when training ends */
  readonly autoShutdown?: boolean;
  /** Default of `max_runtime_hours` (whole hours, 1..168). @default 12 */
  readonly maxRuntimeHours?: number;
  /** Default of `spot_max_price` ("" or a positive price in USD per hour). @default "": capped at the on-demand price */
  readonly spotMaxPrice?: string;
  /** Default of `root_volume_size_gb` (whole GiB, 100..16384). @default 200 */
  readonly rootVolumeSizeGb?: number;
  /** Default of `training_image_tag`. @default "latest" */
  readonly trainingImageTag?: string;
}

export interface TrainingVariablesProps {
  /** The defaults (the env's `compute` settings). @default the schema's defaults, listed on each field */
  readonly defaults?: TrainingVariableDefaults;
}

/** The defaults when an environment sets nothing (the config schema's). */
export const DEFAULT_VARIABLE_VALUES: Required<TrainingVariableDefaults> = {
  createInstance: false,
  useSpot: true,
  instanceType: "g5.xlarge",
  autoShutdown: true,
  maxRuntimeHours: 12,
  spotMaxPrice: "",
  rootVolumeSizeGb: 200,
  trainingImageTag: "latest",
};

/** The training variables as the tokens modules reference: modules take these, never the variables construct. */
export interface TrainingVariableTokens {
  /** `var.create_instance` (bool). */
  readonly createInstance: IResolvable;
  /** `var.use_spot` (bool). */
  readonly useSpot: IResolvable;
  /** `var.instance_type`. */
  readonly instanceType: string;
  /** `var.auto_shutdown` (bool). */
  readonly autoShutdown: IResolvable;
  /** `var.max_runtime_hours`. */
  readonly maxRuntimeHours: number;
  /** `var.spot_max_price`. */
  readonly spotMaxPrice: string;
  /** `var.root_volume_size_gb`. */
  readonly rootVolumeSizeGb: number;
  /** `var.training_image_tag`. */
  readonly trainingImageTag: string;
  /** `var.run_id`. */
  readonly runId: string;
}

/**
 * The stack's training variables: `create_instance`, `use_spot`, `instance_type`, `auto_shutdown`,
 * `max_runtime_hours`, `spot_max_price`, `root_volume_size_gb`, `training_image_tag` and `run_id`.
 *
 * @example
 * const variables = new TrainingVariables(stack, "Variables", { defaults: config.compute });
 * variables.createInstance.booleanValue; // ${var.create_instance}
 */
export class TrainingVariables extends Construct {
  /** `create_instance` (bool): the training instance, and everything that exists only with it, is created. */
  public readonly createInstance: TerraformVariable;
  /** `use_spot` (bool): spot market options on the instance (and the fleet's spot share). */
  public readonly useSpot: TerraformVariable;
  /** `instance_type` (string): the GPU instance type. */
  public readonly instanceType: TerraformVariable;
  /** `auto_shutdown` (bool): the instance terminates itself when training ends. */
  public readonly autoShutdown: TerraformVariable;
  /** `max_runtime_hours` (number): the `MaxRuntimeHours` tag the safety guard enforces. */
  public readonly maxRuntimeHours: TerraformVariable;
  /** `spot_max_price` (string): the spot price cap; "" is the on-demand price. */
  public readonly spotMaxPrice: TerraformVariable;
  /** `root_volume_size_gb` (number): size of the gp3 root volume. */
  public readonly rootVolumeSizeGb: TerraformVariable;
  /** `training_image_tag` (string): the ECR image tag the instance runs. */
  public readonly trainingImageTag: TerraformVariable;
  /** `run_id` (string): resume (or name) a specific run; "" generates one per instance lifetime. */
  public readonly runId: TerraformVariable;
  /** The defaults in force (the props' values over the schema's). */
  public readonly defaults: Required<TrainingVariableDefaults>;

  /** The variables as tokens, for the modules. */
  public get tokens(): TrainingVariableTokens {
    return {
      createInstance: this.createInstance.booleanValue,
      useSpot: this.useSpot.booleanValue,
      instanceType: this.instanceType.stringValue,
      autoShutdown: this.autoShutdown.booleanValue,
      maxRuntimeHours: this.maxRuntimeHours.numberValue,
      spotMaxPrice: this.spotMaxPrice.stringValue,
      rootVolumeSizeGb: this.rootVolumeSizeGb.numberValue,
      trainingImageTag: this.trainingImageTag.stringValue,
      runId: this.runId.stringValue,
    };
  }

  public constructor(scope: Construct, id: string, props: TrainingVariablesProps = {}) {
    super(scope, id);
    this.defaults = { ...DEFAULT_VARIABLE_VALUES, ...definedOnly(props.defaults ?? {}) };
    const d = this.defaults;
    const n = VARIABLE_NAMES;

    this.createInstance = this.variable(n.createInstance, VariableType.BOOL, d.createInstance, [
      "Create the GPU training instance (and its Elastic IP and run id).",
      "false destroys them; the buckets, repository, role and network stay.",
    ]);
    this.useSpot = this.variable(n.useSpot, VariableType.BOOL, d.useSpot, [
      "Run on spot capacity: the single instance through the env's compute.spot request, a fleet's nodes above",
      "on_demand_base_capacity (an interrupted run resumes from its last checkpoint). false runs everything on demand.",
    ]);
    this.instanceType = this.variable(
      n.instanceType,
      VariableType.STRING,
      d.instanceType,
      ["EC2 instance type of the training instance: an NVIDIA GPU type on x86_64, e.g. g5.xlarge."],
      [
        {
          // The pinned table of src/gpu-instance-types.ts, the list the config schema checks compute.instanceType against.
          condition: `\${contains([${GPU_INSTANCE_TYPE_NAMES.map(hclString).join(", ")}], var.${n.instanceType})}`,
          errorMessage:
            `instance_type = "\${var.${n.instanceType}}" is not an NVIDIA GPU instance type on x86_64 that the GPU Deep Learning AMI ` +
            `supports (families ${GPU_INSTANCE_FAMILIES.join(", ")}; no P3). Fix: pick one such as "g5.xlarge", "g6.xlarge" or "p4d.24xlarge".`,
        },
      ],
    );
    this.autoShutdown = this.variable(n.autoShutdown, VariableType.BOOL, d.autoShutdown, [
      "Terminate the instance when training ends (SUCCESS or FAILURE with everything uploaded).",
      "false keeps it running (and billing) for inspection.",
    ]);
    const hours = MAX_RUNTIME_HOURS_RANGE;
    this.maxRuntimeHours = this.variable(
      n.maxRuntimeHours,
      VariableType.NUMBER,
      d.maxRuntimeHours,
      [`Hours after which the safety guard stops or terminates the instance (its MaxRuntimeHours tag); whole hours, ${hours.min} to ${hours.max}.`],
      [
        {
          condition: wholeNumberInRange(n.maxRuntimeHours, hours.min, hours.max),
          errorMessage:
            `max_runtime_hours = \${var.${n.maxRuntimeHours}} must be a whole number of hours from ${hours.min} to ${hours.max}. ` +
            `Fix: pick a value in ${hours.min}..${hours.max} (a week at most).`,
        },
      ],
    );
    this.spotMaxPrice = this.variable(
      n.spotMaxPrice,
      VariableType.STRING,
      d.spotMaxPrice,
      ['Highest spot price in USD per hour, e.g. "0.50"; "" caps it at the on-demand price.'],
      [
        {
          condition:
            `\${can(regex(${hclString(SPOT_MAX_PRICE_PATTERN)}, var.${n.spotMaxPrice})) && ` +
            `(var.${n.spotMaxPrice} == "" || try(tonumber(var.${n.spotMaxPrice}) > 0, false))}`,
          errorMessage:
            `spot_max_price = "\${var.${n.spotMaxPrice}}" must be empty (capped at the on-demand price) or a price in USD per hour above 0. ` +
            'Fix: write it as "0.50", or "" for the on-demand cap.',
        },
      ],
    );
    const gb = ROOT_VOLUME_SIZE_GB_RANGE;
    this.rootVolumeSizeGb = this.variable(
      n.rootVolumeSizeGb,
      VariableType.NUMBER,
      d.rootVolumeSizeGb,
      [`Size of the encrypted gp3 root volume in GiB (Docker images, logs); whole GiB, ${gb.min} to ${gb.max}.`],
      [
        {
          condition: wholeNumberInRange(n.rootVolumeSizeGb, gb.min, gb.max),
          errorMessage:
            `root_volume_size_gb = \${var.${n.rootVolumeSizeGb}} must be a whole number of GiB from ${gb.min} to ${gb.max}. ` +
            `Fix: pick a value in ${gb.min}..${gb.max} (the GPU AMI alone needs about 100).`,
        },
      ],
    );
    this.trainingImageTag = this.variable(
      n.trainingImageTag,
      VariableType.STRING,
      d.trainingImageTag,
      ["Tag of the training image in the ECR repository, e.g. latest or a git SHA (reproducible)."],
      [
        {
          condition: `\${can(regex(${hclString(IMAGE_TAG_PATTERN)}, var.${n.trainingImageTag}))}`,
          errorMessage:
            `training_image_tag = "\${var.${n.trainingImageTag}}" is not a valid image tag. ` +
            'Fix: use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-" (e.g. "latest" or a git SHA).',
        },
      ],
    );
    this.runId = this.variable(
      n.runId,
      VariableType.STRING,
      "",
      [
        "Run id of the instance (runs/RUN_ID/ in the outputs bucket). An existing run's id resumes it from its last checkpoint;",
        '"" generates run-YYYYMMDD-hhmmss, kept until the instance is destroyed.',
      ],
      [
        {
          condition: `\${can(regex(${hclString(RUN_ID_VARIABLE_PATTERN)}, var.${n.runId}))}`,
          errorMessage:
            `run_id = "\${var.${n.runId}}" is not a valid run id. ` +
            'Fix: use 1-128 letters, digits, ".", "_" and "-", starting with a letter or digit, or "" to generate one.',
        },
      ],
    );
  }

  private variable(
    name: string,
    type: string,
    defaultValue: unknown,
    description: readonly string[],
    validation: { condition: string; errorMessage: string }[] = [],
  ): TerraformVariable {
    return defineVariable(this, name, type, defaultValue, description, validation);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
