/**
 * Test support for training-safety: a module stack with compute (and its storage, registry, variables), an optional
 * fixture auto scaling group standing in for the fleet, the safety module and the policy packs, synthesized.
 */
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import type { TerraformStack } from "cdktf";
import { TrainingSafety, type TrainingSafetyProps } from "../../../modules/training-safety";
import { address } from "../../../src/naming";
import type { SynthesizedStack } from "../synth";
import { type TrainingVariableDefaults } from "../../../src/variables";
import { buildCompute, ENVIRONMENT, PREFIX, PROJECT } from "../compute/stack";
import { synthModule } from "../module-stack";

export { ENVIRONMENT, PREFIX, PROJECT };

/** Name of the fixture fleet group (the contract's `<project>-<env>-fleet`). */
export const FLEET_GROUP = `${PREFIX}-fleet`;
/** The fixture fleet group's ARN as TrainingFleet builds it, from the name. */
export const FLEET_GROUP_ARN = `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/${FLEET_GROUP}`;

export interface SafetyStackOptions {
  /** Safety props besides the constructs. */
  readonly safety?: Partial<Omit<TrainingSafetyProps, "instances" | "autoShutdown" | "useSpot" | "fleet" | "namePrefix" | "project" | "environment">>;
  /** Give the module a fixture fleet group. @default false */
  readonly fleet?: boolean;
  readonly defaults?: TrainingVariableDefaults;
}

export interface SafetyStack {
  readonly stack: TerraformStack;
  readonly safety: TrainingSafety;
  readonly json: SynthesizedStack;
}

/** Builds compute (+ fixture fleet) and safety on a fresh stack with the policy packs, and synthesizes it. */
export function synthSafety(options: SafetyStackOptions = {}): SafetyStack {
  const { stack, built, json } = synthModule((s) => {
    const { compute, variables } = buildCompute(s, { defaults: options.defaults });
    const fleet = options.fleet
      ? {
          autoScalingGroup: address(
            new AutoscalingGroup(s, "FixtureFleet", { name: FLEET_GROUP, minSize: 0, maxSize: 2, availabilityZones: ["us-east-1a"] }),
            "fleet",
          ),
          autoScalingGroupArn: FLEET_GROUP_ARN,
        }
      : undefined;
    return new TrainingSafety(s, "Safety", {
      namePrefix: PREFIX,
      project: PROJECT,
      environment: ENVIRONMENT,
      instances: compute,
      autoShutdown: variables.autoShutdown.booleanValue,
      useSpot: variables.useSpot.booleanValue,
      ...(fleet ? { fleet } : {}),
      ...options.safety,
    });
  });
  return { stack, safety: built, json };
}
