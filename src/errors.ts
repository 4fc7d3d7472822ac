/**
 * Errors that reach a user at synth time.
 *
 * Every error this project throws on purpose is a {@link GtiError}: `main.ts` prints its message (no stack trace) and
 * exits non-zero. A message says what is wrong, the value, the rule and the fix, so nobody has to read our code to
 * act on it.
 */
export class GtiError extends Error {
  public override readonly name: string = "GtiError";
}

/** One problem found in an environment's configuration. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `compute.instanceType`. */
  readonly field: string;
  /** The value found there, as written in the env file (`undefined` when missing). */
  readonly value: unknown;
  /** The rule the value breaks. */
  readonly rule: string;
  /** What to change. */
  readonly fix: string;
}

/** Bad configuration in one environment (or across environments); lists every problem found at once. */
export class ConfigError extends GtiError {
  public override readonly name = "ConfigError";

  public constructor(
    /** The environment, e.g. `dev`. */
    public readonly env: string,
    /** The file the environment came from, relative to the project, e.g. `envs/dev.ts`. */
    public readonly file: string,
    public readonly problems: readonly ConfigProblem[],
  ) {
    super(formatConfigProblems(env, file, problems));
  }
}

/** Renders a value for an error message: JSON, shortened, `(missing)` when undefined. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function formatConfigProblems(env: string, file: string, problems: readonly ConfigProblem[]): string {
  const noun = problems.length === 1 ? "problem" : "problems";
  const lines = problems.map(
    (p) => `  - env "${env}", field ${p.field} = ${describeValue(p.value)}: ${p.rule}. Fix: ${p.fix}`,
  );
  return [`Invalid configuration for environment "${env}" (${file}), ${problems.length} ${noun}:`, ...lines].join("\n");
}
