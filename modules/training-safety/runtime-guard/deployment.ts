/**
 * What the Terraform side (the training-safety module) needs to deploy the runtime guard, without loading the
 * Lambda's own code or the AWS SDK at synth time.
 *
 * @example
 * // A ready zip as a FILE asset (cdktf copies it; an ARCHIVE asset of the build's `dir` also works but cdktf
 * // zips it by spawning a Node process, ~0.2 s per stack).
 * const code = new TerraformAsset(this, "runtime-guard-code", { path: runtimeGuardBuild().zip, type: AssetType.FILE });
 * new LambdaFunction(this, "runtime-guard", {
 *   filename: code.path, runtime: RUNTIME_GUARD.runtime, handler: RUNTIME_GUARD.handler, timeout: 120,
 *   environment: { variables: runtimeGuardEnvironment({ project, environment, topicArn: topic.arn, action: "terminate", dryRun: false }) },
 *   ...
 * });
 */
import { join } from "node:path";
import { buildLambdaBundle, type BundleLambdaOptions, type LambdaBundle } from "../../../src/lambda-bundle";
import { DEFAULT_MAX_RUNTIME_TAG, type GuardAction } from "./config";

/** The guard's Lambda settings. */
export const RUNTIME_GUARD = {
  /** Bundle (and cache directory) name. */
  name: "runtime-guard",
  /** Absolute path of the entry file that {@link runtimeGuardBuild} bundles. */
  entry: join(__dirname, "handler.ts"),
  runtime: "nodejs22.x",
  handler: "index.handler",
} as const;

let defaultBuild: LambdaBundle | undefined;

/**
 * Bundles the guard (cached) and returns the build: the zip's path and SHA-256 (for `source_code_hash`), sizes.
 * With the default cache, the build is checked once per process (one synth: the sources do not change meanwhile) and
 * shared by every stack.
 */
export function runtimeGuardBuild(options: Pick<BundleLambdaOptions, "cacheDir" | "force"> = {}): LambdaBundle {
  if (options.cacheDir === undefined && !options.force) {
    defaultBuild ??= buildLambdaBundle({ entry: RUNTIME_GUARD.entry, name: RUNTIME_GUARD.name });
    return defaultBuild;
  }
  return buildLambdaBundle({ entry: RUNTIME_GUARD.entry, name: RUNTIME_GUARD.name, ...options });
}

export interface RuntimeGuardSettings {
  /** `Project` tag value of the env's instances. */
  readonly project: string;
  /** `Environment` tag value of the env's instances. */
  readonly environment: string;
  /** SNS topic ARN (a Terraform reference is fine). */
  readonly topicArn: string;
  readonly action: GuardAction;
  readonly dryRun: boolean;
  /** Tag key of the per-instance limit (default `MaxRuntimeHours`); must match the tag the compute module sets. */
  readonly maxRuntimeTag?: string;
}

/** The Lambda's environment variables (validated by the function at cold start, see `config.ts`). */
export function runtimeGuardEnvironment(settings: RuntimeGuardSettings): Record<string, string> {
  return {
    PROJECT: settings.project,
    ENVIRONMENT: settings.environment,
    TOPIC_ARN: settings.topicArn,
    ACTION: settings.action,
    DRY_RUN: settings.dryRun ? "true" : "false",
    MAX_RUNTIME_TAG: settings.maxRuntimeTag ?? DEFAULT_MAX_RUNTIME_TAG,
  };
}
