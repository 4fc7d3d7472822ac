/**
 * The one schema every environment is validated against at synth. Section schemas live in `sections/`, one per
 * module; this file composes them and holds the environment-wide fields and rules.
 *
 * `EnvironmentInput` is what an `envs/<name>.ts` file writes (defaults optional); `EnvironmentConfig` is what the
 * stacks and modules receive (every default filled in).
 */
import { z } from "zod";
import { accountId, awsRegion, bucketName, rule } from "./sections/common";
import { RUNTIME_TIMINGS, computeSchema, minimumDrainSeconds } from "./sections/compute";
import { fleetSchema } from "./sections/fleet";
import { registrySchema } from "./sections/registry";
import { safetySchema } from "./sections/safety";
import { storageSchema } from "./sections/storage";

/** Tags the stack sets itself; an env's extra tags may not redefine them. */
export const RESERVED_TAG_KEYS = ["Project", "Environment", "ManagedBy", "Repository"] as const;

export const environmentSchema = z
  .strictObject({
    /**
     * Environment name; also the stack name (`cdktf deploy <name>`) and part of resource names. With the project
     * name's 24-character limit, generated bucket names (`<project>-<env>-outputs-<account id>`) always fit S3's 63.
     */
    name: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, {
      error: rule(
        "an environment name is 1-16 lowercase letters, digits and hyphens, starting with a letter",
        `rename it, e.g. "dev" or "prod-eu", and rename the file to match`,
      ),
    }),
    /** Project name, used in resource names and the Project tag. @default "gpu-training-infra" */
    project: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/, {
        error: rule(
          "a project name is 3-24 lowercase letters, digits and hyphens, starting with a letter",
          `use e.g. "gpu-training-infra"`,
        ),
      })
      .default("gpu-training-infra"),
    /** AWS region of the environment's resources. */
    region: awsRegion,
    /** Refuse to run against any other account (AWS provider `allowed_account_ids`). @default [] (no guard) */
    allowedAccountIds: z.array(accountId).default([]),
    /** Where this infrastructure's code lives (the Repository tag). */
    repository: z.string().min(1, { error: rule("must not be empty", `set it to e.g. "github.com/acme/gpu-training-infra"`) }),
    /** Extra tags on every resource (merged into the provider's default_tags). @default {} */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
    /** Remote state location (created once by the bootstrap stack). Every environment must share it. */
    state: z.strictObject({
      /** Name of the S3 bucket holding Terraform state. */
      bucket: bucketName,
      /** Region of the state bucket. */
      region: awsRegion,
    }),
    storage: storageSchema.prefault({}),
    registry: registrySchema.prefault({}),
    compute: computeSchema.prefault({}),
    fleet: fleetSchema.prefault({}),
    safety: safetySchema.prefault({}),
  })
  .superRefine((env, ctx) => {
    // S3 SSE-KMS and ECR KMS encryption need a key in the resource's own region.
    for (const section of ["storage", "registry"] as const) {
      const keyArn = env[section].kmsKeyArn;
      const keyRegion = keyArn?.split(":")[3];
      if (keyArn && keyRegion !== env.region) {
        ctx.addIssue({
          code: "custom",
          path: [section, "kmsKeyArn"],
          message: rule(
            `the key is in ${keyRegion} but the environment's resources are in ${env.region}, and ${section === "storage" ? "S3" : "ECR"} only uses keys of its own region`,
            `use a key (or a multi-Region replica key) in ${env.region}`,
          ),
        });
      }
    }
    // SNS encrypts a topic with a key of its own region only.
    const safetyKeyRegion = env.safety.kmsKeyArn?.split(":")[3];
    if (env.safety.kmsKeyArn && safetyKeyRegion !== env.region) {
      ctx.addIssue({
        code: "custom",
        path: ["safety", "kmsKeyArn"],
        message: rule(
          `the key is in ${safetyKeyRegion} but the alerts topic is in ${env.region}, and SNS only uses keys of its own region`,
          `use a key in ${env.region}, or leave safety.kmsKeyArn out to let the stack create one`,
        ),
      });
    }
    // A one-time spot instance cannot be stopped (EC2 refuses StopInstances for it): a "stop" net would fail exactly
    // when it should save money, leaving the GPU running.
    if (env.compute.useSpot && env.compute.spot.requestType === "one-time") {
      // stalledRun.action left out follows idleGpu.action, reported there.
      const stalled = env.safety.stalledRun.enabled ? env.safety.stalledRun.action : undefined;
      for (const [field, action] of [["guard", env.safety.guard.action], ["idleGpu", env.safety.idleGpu.action], ["stalledRun", stalled]] as const) {
        if (action === "stop") {
          ctx.addIssue({
            code: "custom",
            path: ["safety", field, "action"],
            message: rule(
              'a one-time spot instance (compute.useSpot with compute.spot.requestType "one-time") cannot be stopped, so "stop" would fail and leave it running',
              `use "terminate" (the run resumes from its last checkpoint), or a persistent spot request, or compute.useSpot = false`,
            ),
          });
        }
      }
    }
    // A terminating fleet node gets drainTimeoutSeconds (the lifecycle hook's heartbeat timeout) for its final sync and
    // marker: shorter than the spot grace plus the sync reserve, the group kills it first and the run is orphaned.
    const drain = minimumDrainSeconds(env.compute.spotGraceSeconds);
    if (env.fleet.enabled && env.fleet.drainTimeoutSeconds < drain) {
      ctx.addIssue({
        code: "custom",
        path: ["fleet", "drainTimeoutSeconds"],
        message: rule(
          `a draining node needs at least ${drain} s (poll ${RUNTIME_TIMINGS.spotPollSeconds} + compute.spotGraceSeconds ${env.compute.spotGraceSeconds} + final sync max(grace, ${RUNTIME_TIMINGS.finalSyncSeconds}) + marker reserve ${RUNTIME_TIMINGS.markerReserveSeconds} + margin ${RUNTIME_TIMINGS.deadlineMarginSeconds}), or the group terminates it before its INTERRUPTED marker`,
          `set fleet.drainTimeoutSeconds to ${drain} or more (default 300), or lower compute.spotGraceSeconds`,
        ),
      });
    }
    for (const key of Object.keys(env.tags)) {
      if ((RESERVED_TAG_KEYS as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["tags", key],
          message: rule(`the stack sets the ${key} tag itself`, `remove tags.${key}, or change the field it comes from`),
        });
      }
    }
  });

/** What an `envs/<name>.ts` file exports: every field with a default may be left out. */
export type EnvironmentInput = z.input<typeof environmentSchema>;

/** A validated environment, every default filled in. */
export type EnvironmentConfig = z.output<typeof environmentSchema>;

/**
 * Identity function that types an environment file's object, so editors complete and check field names.
 * Values are validated at synth (`loadEnvironments`), where errors can name the env and the fix.
 */
export function defineEnvironment(config: EnvironmentInput): EnvironmentInput {
  return config;
}
