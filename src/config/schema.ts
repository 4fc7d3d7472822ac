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

/** Tags the stack sets itself on every resource (`default_tags`); an env's extra tags may not redefine them. */
export const RESERVED_TAG_KEYS = ["Project", "Environment", "ManagedBy", "Repository"] as const;

/**
 * Tags the modules set on some resources themselves (the Name of each resource; on instances the run id, max runtime,
 * auto-shutdown and fleet mode the runtime and the safety guard read): an env tag with one of these keys would be
 * overridden there and mislabel everything else.
 */
export const MODULE_TAG_KEYS = ["Name", "RunId", "MaxRuntimeHours", "AutoShutdown", "GtiFleetMode"] as const;

/**
 * AWS allows 50 user tags per resource. An instance carries the stack's 4 default tags and up to 5 module tags
 * ({@link MODULE_TAG_KEYS}), which leaves 41 for the env's own.
 */
export const MAX_ENV_TAGS = 50 - RESERVED_TAG_KEYS.length - MODULE_TAG_KEYS.length;

/**
 * Tag keys every resource accepts: AWS's tag characters (letters, digits, spaces and `_ . : / = + - @`) narrowed to
 * what instance metadata can expose (the instances read their tags there: no spaces, no `/`).
 */
const TAG_KEY_PATTERN = /^[A-Za-z0-9+\-=._:@]+$/;

/** Tag values: letters, digits and spaces in any script, and `_ . : / = + - @` (AWS's rule for most services). */
const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Every AWS tag rule a key and its value break (empty when valid). */
export function tagProblems(key: string, value: string): { rule: string; fix: string }[] {
  const problems: { rule: string; fix: string }[] = [];
  if (/^aws:/i.test(key)) {
    problems.push({
      rule: 'the "aws:" prefix is reserved for AWS, which rejects such keys on every resource at apply',
      fix: `rename the key without the prefix, e.g. "${key.slice(4) || "owner"}"`,
    });
  }
  if (key.length < 1 || key.length > 128) {
    problems.push({ rule: `a tag key is 1 to 128 characters (this one has ${key.length})`, fix: "shorten the key" });
  }
  if (key.length > 0 && !TAG_KEY_PATTERN.test(key)) {
    problems.push({
      rule: "a tag key may hold only letters, digits and + - = . _ : @ (AWS's tag characters, without the spaces and / that instance metadata cannot show)",
      fix: `rename it, e.g. "${key.replace(/[^A-Za-z0-9+\-=._:@]+/g, "-").replace(/^-+|-+$/g, "") || "cost-center"}"`,
    });
  } else if (key === "." || key === ".." || key === "_index") {
    problems.push({ rule: `"${key}" cannot be read from instance metadata`, fix: "pick another key" });
  }
  if (value.length > 256) {
    problems.push({ rule: `a tag value is at most 256 characters (this one has ${value.length})`, fix: "shorten the value" });
  }
  if (!TAG_VALUE_PATTERN.test(value)) {
    problems.push({
      rule: "a tag value may hold only letters, digits, spaces and _ . : / = + - @",
      fix: "remove the other characters",
    });
  }
  return problems;
}

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
    repository: z
      .string()
      .min(1, { error: rule("must not be empty", `set it to e.g. "github.com/<your-org>/gpu-training-infra"`) })
      .max(256, { error: rule("a tag value is at most 256 characters", "shorten it") })
      .refine((value) => !/[$%]\{/.test(value), {
        error: rule("holds ${ or %{, which Terraform would read as an expression", "write the repository's address without them"),
      }),
    /**
     * Extra tags on every resource (merged into the provider's default_tags): at most {@link MAX_ENV_TAGS}, keys of
     * 1-128 letters, digits and `+ - = . _ : @` not starting with `aws:`, values of up to 256 characters.
     * @default {}
     */
    tags: z
      .record(z.string(), z.string())
      .superRefine((tags, ctx) => {
        const keys = Object.keys(tags);
        if (keys.length > MAX_ENV_TAGS) {
          ctx.addIssue({
            code: "custom",
            message: rule(
              `${keys.length} tags, but AWS allows 50 per resource and the stack and modules set up to ${50 - MAX_ENV_TAGS} themselves`,
              `keep at most ${MAX_ENV_TAGS} tags`,
            ),
          });
        }
        for (const [key, value] of Object.entries(tags)) {
          if ((RESERVED_TAG_KEYS as readonly string[]).includes(key)) {
            ctx.addIssue({
              code: "custom",
              path: [key],
              message: rule(`the stack sets the ${key} tag itself`, `remove tags.${key}, or change the field it comes from`),
            });
          } else if ((MODULE_TAG_KEYS as readonly string[]).includes(key)) {
            ctx.addIssue({
              code: "custom",
              path: [key],
              message: rule(`the modules set the ${key} tag themselves`, `remove tags.${key}, or use another key`),
            });
          }
          for (const problem of tagProblems(key, value)) {
            ctx.addIssue({ code: "custom", path: [key], message: rule(problem.rule, problem.fix) });
          }
        }
      })
      .default({}),
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
