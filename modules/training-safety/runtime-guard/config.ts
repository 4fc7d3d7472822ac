/**
 * Runtime guard configuration, read from the Lambda's environment variables once per container (cold start).
 *
 * | variable          | required | meaning                                                                                 |
 * | ----------------- | -------- | --------------------------------------------------------------------------------------- |
 * | `PROJECT`         | yes      | Value of the `Project` tag of this env's instances (exact match, no `*`, `?` or `\`).   |
 * | `ENVIRONMENT`     | yes      | Value of the `Environment` tag of this env's instances (same rules).                    |
 * | `TOPIC_ARN`       | yes      | ARN of the standard (not FIFO) SNS topic that receives the run summaries.               |
 * | `ACTION`          | yes      | What to do with an instance over its limit: `terminate` or `stop`.                      |
 * | `DRY_RUN`         | yes      | `true`: only report what would be done; `false`: act. (Case-insensitive.)               |
 * | `MAX_RUNTIME_TAG` | no       | Tag key holding an instance's limit in hours (default `MaxRuntimeHours`).               |
 *
 * Every problem is collected and reported at once in a {@link GuardConfigError}. `DRY_RUN` has no default on purpose:
 * whether a Lambda may terminate GPUs is too important to leave to a forgotten variable.
 */

/** What the guard does with an instance that ran past its limit. */
export type GuardAction = "terminate" | "stop";

/** The validated configuration. */
export interface GuardConfig {
  /** `Project` tag value of this env's instances. */
  readonly project: string;
  /** `Environment` tag value of this env's instances. */
  readonly environment: string;
  /** SNS topic for summaries. */
  readonly topicArn: string;
  /** Action on over-limit instances. */
  readonly action: GuardAction;
  /** Report only, touch nothing. */
  readonly dryRun: boolean;
  /** Tag key of the per-instance limit in hours. */
  readonly maxRuntimeTag: string;
}

/** The environment variables the guard reads (names, for the Terraform module and docs). */
export const ENV_VARS = ["PROJECT", "ENVIRONMENT", "TOPIC_ARN", "ACTION", "DRY_RUN", "MAX_RUNTIME_TAG"] as const;

/** Default of `MAX_RUNTIME_TAG`. */
export const DEFAULT_MAX_RUNTIME_TAG = "MaxRuntimeHours";

/** One bad environment variable. */
export interface GuardConfigProblem {
  readonly variable: (typeof ENV_VARS)[number];
  readonly value: string | undefined;
  readonly rule: string;
}

/** The Lambda's environment variables are missing or wrong; the message lists every problem. */
export class GuardConfigError extends Error {
  public override readonly name = "GuardConfigError";

  public constructor(public readonly problems: readonly GuardConfigProblem[]) {
    super(
      [
        `Invalid runtime guard configuration (Lambda environment variables), ${problems.length} problem${problems.length === 1 ? "" : "s"}:`,
        ...problems.map((p) => `  - ${p.variable} ${p.value === undefined ? "is missing" : `= ${JSON.stringify(p.value)}`}: ${p.rule}`),
        "Fix: set the variables on the function (the training-safety module does this from the env config).",
      ].join("\n"),
    );
  }
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** Characters AWS allows in tag keys (letters, numbers, spaces and `_ . : / = + - @`). */
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
/** EC2 filter values treat `*` and `?` as wildcards and `\` as an escape: a tag filter must match exactly one value. */
const FILTER_SPECIAL = /[*?\\]/;

/**
 * Validates the environment variables.
 *
 * @throws GuardConfigError listing every problem
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): GuardConfig {
  const problems: GuardConfigProblem[] = [];
  const problem = (variable: GuardConfigProblem["variable"], rule: string): void => {
    problems.push({ variable, value: env[variable], rule });
  };

  const tagValue = (variable: "PROJECT" | "ENVIRONMENT", tag: string): string => {
    const value = env[variable];
    if (value === undefined || value === "") {
      problem(variable, `required: the value of the \`${tag}\` tag that this env's instances carry`);
    } else if (value.trim() !== value || value.length > 256) {
      problem(variable, "must be a tag value of 1-256 characters without leading or trailing spaces");
    } else if (FILTER_SPECIAL.test(value)) {
      problem(variable, "must not contain *, ? or \\ (EC2 filters treat them as wildcards and would match other envs' instances)");
    }
    return value ?? "";
  };
  const project = tagValue("PROJECT", "Project");
  const environment = tagValue("ENVIRONMENT", "Environment");

  const topicArn = env.TOPIC_ARN ?? "";
  if (!env.TOPIC_ARN) {
    problem("TOPIC_ARN", "required: the ARN of the SNS topic to notify, e.g. arn:aws:sns:eu-west-1:123456789012:alerts");
  } else if (topicArn.endsWith(".fifo")) {
    problem("TOPIC_ARN", "must be a standard SNS topic, not a FIFO topic");
  } else if (!TOPIC_ARN.test(topicArn)) {
    problem("TOPIC_ARN", "must be an SNS topic ARN, e.g. arn:aws:sns:eu-west-1:123456789012:alerts");
  }

  const action = env.ACTION;
  if (action !== "terminate" && action !== "stop") {
    problem("ACTION", action === undefined ? 'required: "terminate" or "stop"' : 'must be "terminate" or "stop" (lowercase)');
  }

  const dryRunText = env.DRY_RUN?.toLowerCase();
  if (dryRunText !== "true" && dryRunText !== "false") {
    problem("DRY_RUN", env.DRY_RUN === undefined ? 'required: "true" or "false"' : 'must be "true" or "false"');
  }

  const maxRuntimeTag = env.MAX_RUNTIME_TAG === undefined ? DEFAULT_MAX_RUNTIME_TAG : env.MAX_RUNTIME_TAG;
  if (!TAG_KEY.test(maxRuntimeTag) || maxRuntimeTag.toLowerCase().startsWith("aws:")) {
    problem(
      "MAX_RUNTIME_TAG",
      `must be a tag key of 1-128 letters, digits, spaces or _ . : / = + - @, not starting with "aws:" (default ${DEFAULT_MAX_RUNTIME_TAG})`,
    );
  }

  if (problems.length > 0) throw new GuardConfigError(problems);
  return {
    project,
    environment,
    topicArn,
    action: action as GuardAction,
    dryRun: dryRunText === "true",
    maxRuntimeTag,
  };
}
