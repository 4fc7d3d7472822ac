/**
 * Finds the environments in `envs/`, validates each against the schema and turns schema failures into one
 * readable {@link ConfigError} per environment (env, field, value, rule, fix), never a stack trace.
 *
 * Adding an environment means adding one file: every `envs/*.ts` is an environment, except files whose name starts
 * with `_` (shared settings such as `_shared.ts`).
 */
import { readdirSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import { ConfigError, GtiError, type ConfigProblem } from "../errors";
import { type EnvironmentConfig, environmentSchema } from "./schema";
import { FIX_SEPARATOR } from "./sections/common";

/** The `envs/` folder of this project. */
export const DEFAULT_ENVS_DIR = join(__dirname, "..", "..", "envs");

/** The environments folder to load: `GTI_ENVS_DIR` when set (tests, or envs kept elsewhere), else `envs/`. */
export function envsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.GTI_ENVS_DIR || DEFAULT_ENVS_DIR;
}

/** Where an environment came from, for messages. */
export interface EnvironmentSource {
  /** Environment name as far as it is known (the file name before parsing). */
  readonly env: string;
  /** File path shown in messages, e.g. `envs/dev.ts`. */
  readonly file: string;
}

/**
 * Validates one environment's raw object.
 * @throws ConfigError listing every problem, when the object breaks any rule
 */
export function parseEnvironment(input: unknown, source: EnvironmentSource): EnvironmentConfig {
  const result = environmentSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(source.env, source.file, result.error.issues.flatMap((issue) => toProblems(issue, input, source)));
  }
  if (result.data.name !== source.env) {
    throw new ConfigError(source.env, source.file, [
      {
        field: "name",
        value: result.data.name,
        rule: `the environment name must match its file name (${source.file}), since it is also the stack name`,
        fix: `set name: "${source.env}", or rename the file to envs/${result.data.name}.ts`,
      },
    ]);
  }
  return result.data;
}

/**
 * Checks rules that span environments: one state bucket for all (the bootstrap stack creates exactly one).
 * @throws ConfigError naming the environment that disagrees
 */
export function checkEnvironmentSet(envs: readonly EnvironmentConfig[], files: ReadonlyMap<string, string> = new Map()): void {
  const [first, ...rest] = envs;
  if (!first) {
    throw new GtiError(
      "No environments found: envs/ holds no environment file. Fix: add one, e.g. envs/dev.ts exporting " +
        "`export default defineEnvironment({ name: \"dev\", ... })` (see envs/training.ts).",
    );
  }
  for (const env of rest) {
    if (env.state.bucket !== first.state.bucket || env.state.region !== first.state.region) {
      throw new ConfigError(env.name, files.get(env.name) ?? `envs/${env.name}.ts`, [
        {
          field: "state",
          value: env.state,
          rule: `every environment must use the one state bucket the bootstrap stack creates; "${first.name}" uses ${JSON.stringify(first.state)}`,
          fix: "use the same state settings in every env (they come from envs/_shared.ts by default)",
        },
      ]);
    }
  }
}

/** Loads, validates and cross-checks every environment file in `dir`, sorted by name. */
export async function loadEnvironments(dir: string = envsDir()): Promise<EnvironmentConfig[]> {
  const files = readdirSync(dir)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && !file.startsWith("_") && !file.includes(".test."))
    .sort();
  const shownPaths = new Map<string, string>();
  const envs: EnvironmentConfig[] = [];
  for (const file of files) {
    const env = basename(file, ".ts");
    const shown = relative(join(dir, ".."), join(dir, file));
    shownPaths.set(env, shown);
    const module: unknown = await import(pathToFileURL(join(dir, file)).href);
    const exported = defaultExport(module);
    if (exported === undefined) {
      throw new GtiError(
        `${shown} has no default export. Fix: end it with \`export default defineEnvironment({ name: "${env}", ... })\`.`,
      );
    }
    envs.push(parseEnvironment(exported, { env, file: shown }));
  }
  checkEnvironmentSet(envs, shownPaths);
  return envs;
}

/** The default export of a module imported from TypeScript, through any CommonJS interop wrapping. */
function defaultExport(module: unknown): unknown {
  let current = module;
  while (isObject(current) && "default" in current && (current.__esModule === true || isModuleNamespace(current))) {
    current = current.default;
  }
  return current === module ? undefined : current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isModuleNamespace(value: object): boolean {
  return Object.prototype.toString.call(value) === "[object Module]";
}

function toProblems(issue: z.core.$ZodIssue, input: unknown, source: EnvironmentSource): ConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return {
        field: formatPath(path),
        value: valueAt(input, path),
        rule: "unknown field",
        fix: `remove it, or check the spelling against the schema in src/config/ (${source.file})`,
      };
    });
  }
  const field = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  if (value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
    return [{ field, value, rule: "is required", fix: `add ${field} to ${source.file}` }];
  }
  const separator = issue.message.indexOf(FIX_SEPARATOR);
  if (separator >= 0) {
    return [
      {
        field,
        value,
        rule: issue.message.slice(0, separator),
        fix: issue.message.slice(separator + FIX_SEPARATOR.length),
      },
    ];
  }
  return [{ field, value, ...genericRuleAndFix(issue, field, source) }];
}

/** Rule and fix for the schema's built-in checks (types, enums, ranges), which carry no fix of their own. */
function genericRuleAndFix(
  issue: z.core.$ZodIssue,
  field: string,
  source: EnvironmentSource,
): { rule: string; fix: string } {
  switch (issue.code) {
    case "invalid_type":
      return { rule: `must be ${article(issue.expected)} ${issue.expected}`, fix: `set ${field} to ${article(issue.expected)} ${issue.expected}` };
    case "invalid_value":
      return {
        rule: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
        fix: `pick one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "too_small":
      return { rule: issue.message, fix: `use a value of at least ${String(issue.minimum)}` };
    case "too_big":
      return { rule: issue.message, fix: `use a value of at most ${String(issue.maximum)}` };
    default:
      return { rule: issue.message, fix: `correct ${field} in ${source.file}` };
  }
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (!isObject(current)) return undefined;
    current = current[part as string];
  }
  return current;
}
