/**
 * Test support for training-fleet: the compute module stack (storage, registry, variables, compute, policy packs) plus
 * the fleet's variables and the fleet, synthesized in memory.
 */
import type { TerraformStack } from "cdktf";
import { TrainingFleet, type TrainingFleetProps } from "../../../modules/training-fleet";
import { FleetVariables, type FleetVariablesProps } from "../../../src/fleet-variables";
import type { SynthesizedStack } from "../synth";
import { type ComputeStackOptions, ENVIRONMENT, PREFIX, PROJECT, buildCompute } from "../compute/stack";
import { synthModule } from "../module-stack";
import type { TrainingCompute } from "../../../modules/training-compute";

/** The default tags the test stack's nodes carry (what an env stack passes from its provider's default tags). */
export const TAGS = { Project: PROJECT, Environment: ENVIRONMENT, ManagedBy: "cdktf", Repository: "github.com/acme/infra", team: "ml" };

/** What a test may change: the fleet props (besides the constructs), the fleet variables, the compute options. */
export interface FleetStackOptions {
  readonly fleet?: Partial<Omit<TrainingFleetProps, "launchSpec" | "variables" | "fleetVariables">>;
  readonly fleetVariables?: Partial<Omit<FleetVariablesProps, "environment">>;
  readonly compute?: ComputeStackOptions;
}

export interface FleetStack {
  readonly stack: TerraformStack;
  readonly compute: TrainingCompute;
  readonly fleet: TrainingFleet;
  readonly fleetVariables: FleetVariables;
  readonly json: SynthesizedStack;
}

/** Builds compute and the fleet on a fresh stack (policy packs applied) and synthesizes it. */
export function synthFleet(options: FleetStackOptions = {}): FleetStack {
  const { stack, built, json } = synthModule((s) => buildFleet(s, options));
  return { stack, ...built, json };
}

/** The constructs of {@link synthFleet}, on a given stack (not synthesized). */
export function buildFleet(
  stack: TerraformStack,
  options: FleetStackOptions = {},
): { compute: TrainingCompute; fleet: TrainingFleet; fleetVariables: FleetVariables } {
  const { compute, variables } = buildCompute(stack, options.compute);
  const fleetVariables = new FleetVariables(stack, "FleetVariables", {
    maxInstances: 4,
    environment: ENVIRONMENT,
    ...options.fleetVariables,
  });
  const fleet = new TrainingFleet(stack, "Fleet", {
    namePrefix: PREFIX,
    launchSpec: compute.launchSpec,
    variables: variables.tokens,
    fleetVariables: fleetVariables.tokens,
    tags: TAGS,
    instanceTypes: ["g5.xlarge", "g6.xlarge"],
    ...options.fleet,
  });
  return { compute, fleet, fleetVariables };
}
