/**
 * The Terraform variables of spot fleet mode, on the stacks of environments with `fleet.enabled` (dev, prod) only:
 * `desired_instances` and `on_demand_base_capacity`. The fleet also reads the shared `use_spot`, `spot_max_price`,
 * `max_runtime_hours`, `training_image_tag`, `auto_shutdown` and `run_id` ({@link TrainingVariables}); it never reads
 * `instance_type` (the env's ordered `fleet.instanceTypes` are its types).
 *
 * Names, types and validation messages are a user-facing contract, like {@link TrainingVariables}'s. The limits are the
 * env's `fleet.maxInstances`, written into the validation at synth: a value over the env's maximum fails the plan with a
 * message naming the value, the rule and the fix.
 */
import { VariableType, type TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { defineVariable, wholeNumberInRange } from "./variable-helpers";
import { FLEET_VARIABLE_NAMES } from "./variable-rules";

/** The fleet's variable names (./variable-rules: no cdktf, `gti` reads them). */
export { FLEET_VARIABLE_NAMES };

export interface FleetVariablesProps {
  /** The env's `fleet.maxInstances`: the largest `desired_instances` and `on_demand_base_capacity` accepted. */
  readonly maxInstances: number;
  /** The env's name, quoted in the validation messages (where to raise the maximum). */
  readonly environment: string;
  /** Default of `desired_instances` (the env's `fleet.desiredInstances`). @default 0: scaled to zero, nothing billed */
  readonly desiredInstances?: number;
  /** Default of `on_demand_base_capacity` (the env's `fleet.onDemandBaseCapacity`). @default 0: all spot */
  readonly onDemandBaseCapacity?: number;
}

/**
 * `desired_instances` and `on_demand_base_capacity`.
 *
 * @example
 * const fleetVariables = new FleetVariables(stack, "FleetVariables", { maxInstances: 8, environment: "prod" });
 * fleetVariables.desiredInstances.numberValue; // ${var.desired_instances}
 * @throws Error when a default is outside 0..maxInstances (the config schema refuses such envs first)
 */
/** The fleet variables as the tokens the fleet module references (never the variables construct). */
export interface FleetVariableTokens {
  /** `var.desired_instances`. */
  readonly desiredInstances: number;
  /** `var.on_demand_base_capacity`. */
  readonly onDemandBaseCapacity: number;
  /** The env's maximum fleet size (a plain number). */
  readonly maxInstances: number;
}

export class FleetVariables extends Construct {
  /** `desired_instances` (number): fleet size, 0 to the env's maximum. */
  public readonly desiredInstances: TerraformVariable;
  /** `on_demand_base_capacity` (number): on-demand nodes before any spot node, 0 to `desired_instances`. */
  public readonly onDemandBaseCapacity: TerraformVariable;
  /** The env's maximum, as written into the validations. */
  public readonly maxInstances: number;

  /** The variables as tokens, for the fleet module. */
  public get tokens(): FleetVariableTokens {
    return {
      desiredInstances: this.desiredInstances.numberValue,
      onDemandBaseCapacity: this.onDemandBaseCapacity.numberValue,
      maxInstances: this.maxInstances,
    };
  }

  public constructor(scope: Construct, id: string, props: FleetVariablesProps) {
    super(scope, id);
    const max = props.maxInstances;
    const desired = props.desiredInstances ?? 0;
    const base = props.onDemandBaseCapacity ?? 0;
    if (!Number.isInteger(max) || max < 1 || ![desired, base].every((v) => Number.isInteger(v) && v >= 0 && v <= max)) {
      throw new Error(
        `FleetVariables: maxInstances ${max} must be a whole number >= 1 and the defaults (desired ${desired}, on-demand base ${base}) whole numbers in 0..${max}`,
      );
    }
    this.maxInstances = max;
    const n = FLEET_VARIABLE_NAMES;
    const raise = `or raise fleet.maxInstances in envs/${props.environment}.ts and synthesize again`;

    this.desiredInstances = defineVariable(
      this,
      n.desiredInstances,
      VariableType.NUMBER,
      desired,
      // The same text in every env (the README lists one row per variable): the maximum is in the validation message.
      [
        "Number of GPU instances in the training fleet, from 0 (scaled to zero: no instance, no GPU bill) to the env's fleet.maxInstances.",
        "Set it back to 0 once a job is done: finished nodes leave the group by themselves.",
      ],
      [
        {
          condition: wholeNumberInRange(n.desiredInstances, 0, max),
          errorMessage:
            `desired_instances = \${var.${n.desiredInstances}} is not a whole number from 0 to ${max}, the fleet's maximum ` +
            `(fleet.maxInstances of env "${props.environment}"). Fix: pick a value in 0..${max}, ${raise}.`,
        },
      ],
    );
    this.onDemandBaseCapacity = defineVariable(
      this,
      n.onDemandBaseCapacity,
      VariableType.NUMBER,
      base,
      [
        "On-demand instances the fleet keeps before any spot instance (never interrupted); whole number, 0 to desired_instances.",
        "Above it, use_spot decides: all spot, or all on demand.",
      ],
      [
        {
          condition: wholeNumberInRange(n.onDemandBaseCapacity, 0, max),
          errorMessage:
            `on_demand_base_capacity = \${var.${n.onDemandBaseCapacity}} is not a whole number from 0 to ${max}, the fleet's maximum ` +
            `(fleet.maxInstances of env "${props.environment}"). Fix: pick a value in 0..${max}, ${raise}.`,
        },
        {
          // A cross-variable validation (Terraform >= 1.9).
          condition: `\${var.${n.onDemandBaseCapacity} <= var.${n.desiredInstances}}`,
          errorMessage:
            `on_demand_base_capacity = \${var.${n.onDemandBaseCapacity}} exceeds desired_instances = \${var.${n.desiredInstances}}: ` +
            "the on-demand base is part of the fleet, not added to it. Fix: lower on_demand_base_capacity (e.g. to 0 when scaling to zero), or raise desired_instances.",
        },
      ],
    );
  }
}
