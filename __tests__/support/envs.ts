/** Environment fixtures for tests: the real env files, and valid inputs to mutate for negative tests. */
import { loadEnvironments, parseEnvironment } from "../../src/config/load";
import type { EnvironmentConfig, EnvironmentInput } from "../../src/config/schema";
import training from "../../envs/training";

let cached: Promise<EnvironmentConfig[]> | undefined;

/** The environments in envs/, loaded and validated exactly as `main.ts` does (cached per worker). */
export function realEnvironments(): Promise<EnvironmentConfig[]> {
  cached ??= loadEnvironments();
  return cached;
}

/** One real environment by name. */
export async function realEnvironment(name: string): Promise<EnvironmentConfig> {
  const found = (await realEnvironments()).find((env) => env.name === name);
  if (!found) throw new Error(`no environment "${name}" in envs/`);
  return found;
}

/** A deep copy of the `training` env file's object: a valid input to change one field of. */
export function validInput(): EnvironmentInput {
  return structuredClone(training) as EnvironmentInput;
}

/** Recursive partial, for overriding nested fields. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** `validInput()` with `overrides` merged in (objects merged, arrays and values replaced). */
export function inputWith(overrides: Record<string, unknown>): Record<string, unknown> {
  return merge(validInput() as Record<string, unknown>, overrides);
}

/** Parses `input` as the env `name` (default "training", matching `validInput`). */
export function parse(input: unknown, name = "training"): EnvironmentConfig {
  return parseEnvironment(input, { env: name, file: `envs/${name}.ts` });
}

/** A validated config built from the training env with overrides. */
export function configWith(overrides: Record<string, unknown>, name = "training"): EnvironmentConfig {
  return parse(inputWith(overrides), name);
}

function merge(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    out[key] =
      isPlainObject(value) && isPlainObject(current) ? merge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
