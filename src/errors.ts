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
  /** The file holding the value (the env file, or the shared file it spreads), when known. */
  readonly file?: string;
  /** 1-based line of the value's key in {@link file}, when known. */
  readonly line?: number;
  /** 1-based column of the value's key in {@link file}, when known. */
  readonly column?: number;
}

/**
 * One problem of a whole configuration run (every env file and shared file at once), attributed to the file that
 * actually holds the value: what `npm run synth` prints, grouped by file.
 */
export interface ConfigIssue {
  /** `error` stops synth (of the environments it touches); `warning` is printed only. */
  readonly severity: "error" | "warning";
  /** File shown to the user, e.g. `envs/_shared.ts`. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /** The environments the problem affects (a shared file's problem affects every env spreading it). */
  readonly environments: readonly string[];
  /** Dotted field path, e.g. `state.bucket`; absent for a problem of the file itself (syntax, a throw). */
  readonly field?: string;
  /** The value found (only meaningful with {@link field}); `undefined` when missing. */
  readonly value?: unknown;
  /** What is wrong. */
  readonly rule: string;
  /** What to change. */
  readonly fix: string;
  /** Source lines around the spot (syntax errors, throws), already formatted. */
  readonly excerpt?: readonly string[];
  /** The original error (its stack trace is printed only with GTI_DEBUG=1 or --debug). */
  readonly cause?: unknown;
}

/** Configuration problems of a whole run (every env and shared file), each attributed to its file. */
export class ConfigIssuesError extends GtiError {
  public override readonly name = "ConfigIssuesError";

  public constructor(
    public readonly issues: readonly ConfigIssue[],
    message: string,
  ) {
    super(message);
  }
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
