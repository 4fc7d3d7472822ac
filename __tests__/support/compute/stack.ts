/**
 * Test support for training-compute: a module stack with the storage and registry it needs, the variables, the
 * policy packs, and readers for the synthesized user data (the cloud-config as the instance receives it).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { TerraformStack } from "cdktf";
import { parse as parseYaml } from "yaml";
import { RUNTIME_BUNDLE_CACHE_DIR, TrainingCompute, type TrainingComputeProps, unescapeTemplate } from "../../../modules/training-compute";
import { TrainingRegistry } from "../../../modules/training-registry";
import { TrainingStorage } from "../../../modules/training-storage";
import { applyPolicy, policyReportOf } from "../../../src/policy";
import type { SynthesizedStack } from "../synth";
import { type TrainingVariableDefaults, TrainingVariables } from "../../../src/variables";
import { synthModule } from "../module-stack";

export const PREFIX = "acme-dev";
export const PROJECT = "acme";
export const ENVIRONMENT = "dev";

/** What a test may change: the compute props (besides the constructs), and the variables' defaults. */
export interface ComputeStackOptions {
  readonly compute?: Partial<Omit<TrainingComputeProps, "storage" | "registry" | "variables">>;
  readonly defaults?: TrainingVariableDefaults;
}

export interface ComputeStack {
  readonly stack: TerraformStack;
  readonly compute: TrainingCompute;
  readonly variables: TrainingVariables;
  readonly json: SynthesizedStack;
}

/** Builds storage, registry, variables and compute on a fresh stack with the policy packs, and synthesizes it. */
export function synthCompute(options: ComputeStackOptions = {}): ComputeStack {
  const { stack, built, json } = synthModule((s) => buildCompute(s, options));
  return { stack, ...built, json };
}

/** The constructs of {@link synthCompute}, on a given stack (not synthesized). */
export function buildCompute(stack: TerraformStack, options: ComputeStackOptions = {}): { compute: TrainingCompute; variables: TrainingVariables } {
  applyPolicy(stack);
  const storage = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX });
  const registry = new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX });
  const variables = new TrainingVariables(stack, "Variables", { defaults: options.defaults });
  const compute = new TrainingCompute(stack, "Compute", {
    namePrefix: PREFIX,
    project: PROJECT,
    environment: ENVIRONMENT,
    storage,
    registry,
    variables: variables.tokens,
    ...options.compute,
  });
  return { compute, variables };
}

/** The policy packs' violations of a synthesized stack (empty when compliant). */
export function violationsOf(stack: TerraformStack): readonly unknown[] {
  const report = policyReportOf(stack);
  if (!report) throw new Error("the stack was not checked by the policy packs");
  return report.violations;
}

/** A local's value in the synthesized JSON. */
export function localOf(json: SynthesizedStack, name: string): string {
  const value = json.locals?.[name];
  if (typeof value !== "string") throw new Error(`no string local.${name} (have ${Object.keys(json.locals ?? {}).join(", ")})`);
  return value;
}

/**
 * The cloud-config of a runtime mode as Terraform evaluates it, interpolations of other values left as written
 * (`${aws_s3_bucket.storage_data.bucket}`), escapes (`$${`, `%%{`) resolved.
 */
export function evaluatedUserData(json: SynthesizedStack, mode = "single"): string {
  return unescapeTemplate(localOf(json, `compute_user_data_${mode}`));
}

/** `aws_s3_object.compute_runtime` as synthesized. */
export function runtimeObjectOf(json: SynthesizedStack): { bucket: string; key: string; source: string; [key: string]: unknown } {
  const object = (json.resource as Record<string, Record<string, unknown>> | undefined)?.aws_s3_object?.compute_runtime;
  if (!object) throw new Error("no aws_s3_object.compute_runtime");
  return object as { bucket: string; key: string; source: string };
}

/**
 * The runtime bundle as it reaches S3: the file the object's `source` asset was made from (cdktf copies it as
 * `assets/<id>/<hash>/<name>`; the name is the bundle's SHA-256, and the file is in the bundle cache).
 */
export function runtimeBundleOf(json: SynthesizedStack): string {
  return readFileSync(join(RUNTIME_BUNDLE_CACHE_DIR, basename(runtimeObjectOf(json).source)), "utf8");
}

/** Runs a runtime bundle as the fetch script does (`bash bundle DIR`), in `dir` (a temp dir); returns `dir/out`. */
export function unpackBundle(bundle: string, dir: string): string {
  writeFileSync(join(dir, "bundle.sh"), bundle);
  execFileSync("bash", [join(dir, "bundle.sh"), join(dir, "out")], { stdio: ["ignore", "pipe", "pipe"] });
  return join(dir, "out");
}

/** One `write_files` entry of a cloud-config. */
export interface WriteFile {
  readonly path: string;
  readonly owner?: string;
  readonly permissions?: string;
  readonly encoding?: string;
  readonly content: string;
}

/** The parsed cloud-config of a runtime mode. */
export interface CloudConfig {
  readonly write_files: WriteFile[];
  readonly runcmd: unknown[];
  readonly [key: string]: unknown;
}

export function cloudConfigOf(json: SynthesizedStack, mode = "single"): CloudConfig {
  return parseYaml(evaluatedUserData(json, mode)) as CloudConfig;
}

/** The bytes a `write_files` entry writes. */
export function fileBytes(entry: WriteFile): Buffer {
  if (entry.encoding === "gz+b64") {
    return gunzipSync(Buffer.from(entry.content, "base64"));
  }
  if (entry.encoding !== undefined) throw new Error(`unexpected encoding ${entry.encoding} for ${entry.path}`);
  return Buffer.from(entry.content, "utf8");
}

/** The runtime configuration's lines as `[key, value]` (values as written, interpolations included). */
export function runtimeEnvOf(json: SynthesizedStack, mode = "single"): [string, string][] {
  const entry = cloudConfigOf(json, mode).write_files.find((f) => f.path === "/etc/gpu-training/runtime.env");
  if (!entry) throw new Error("no /etc/gpu-training/runtime.env in the user data");
  return entry.content
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const match = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line);
      if (!match) throw new Error(`not a KEY='value' line: ${line}`);
      return [match[1] as string, match[2] as string];
    });
}
