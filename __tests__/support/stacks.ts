/** Builds the project's stacks for tests, exactly as main.ts wires them, and synthesizes them in memory. */
import type { EnvironmentConfig } from "../../src/config/schema";
import { BootstrapStack } from "../../stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "../../stacks/environment-stack";
import { type SynthesizedStack, synthJson, testApp } from "./synth";

/** One environment's stack on a fresh app, synthesized (aspects and validations run). */
export function synthEnvironment(config: EnvironmentConfig): { stack: TrainingEnvironmentStack; json: SynthesizedStack } {
  const stack = new TrainingEnvironmentStack(testApp(), { config });
  return { stack, json: synthJson(stack) };
}

/** The bootstrap stack for a set of environments on a fresh app, synthesized. */
export function synthBootstrap(environments: readonly EnvironmentConfig[]): { stack: BootstrapStack; json: SynthesizedStack } {
  const stack = new BootstrapStack(testApp(), { environments });
  return { stack, json: synthJson(stack) };
}
