/**
 * Finds the environments in `envs/`, validates each against the schema, and reports every problem of every file at
 * once, each attributed to the file that actually holds the value (the env file, or the shared `_*.ts` file it
 * spreads), with its line and column: never a stack trace.
 *
 * Adding an environment means adding one file: every `envs/*.ts` is an environment, except files whose name starts
 * with `_` (shared settings such as `_shared.ts`).
 *
 * {@link loadProject} never throws for a configuration mistake: syntax errors, a typo in an identifier, a file that
 * throws, a default export that is not an object, schema violations and cross-environment conflicts all become
 * {@link ConfigIssue}s. {@link loadEnvironments} is the strict form (throws them all in one error).
 */
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join, relative, resolve as resolvePath, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { type ConfigIssue, ConfigError, ConfigIssuesError, type ConfigProblem, GtiError } from "../errors";
import { countIssues, formatIssuesByFile, mergeIssues, sortIssues } from "./report";
import { type EnvironmentConfig, environmentSchema } from "./schema";
import { crossEnvironmentIssues, duplicateNameFix } from "./cross-environment";
import { importIssue, syntaxIssue } from "./file-issues";
import { defaultExport, describeKind, isObject, isPlainObject, toProblems } from "./schema-problems";
import { type SourceIndex, type SourceLocation, indexSource, locateField } from "./source";

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
  /** Where a field's value is written (the env file or a shared file). @default the env file, no line */
  readonly locate?: (field: string) => SourceLocation;
}

/** A valid environment and where its values are written. */
export interface LoadedEnvironment {
  /** The environment (and stack) name. */
  readonly name: string;
  /** The env file, as shown in messages, e.g. `envs/dev.ts`. */
  readonly file: string;
  /** The validated configuration, every default filled in. */
  readonly config: EnvironmentConfig;
  /** The object the file exports, as written. */
  readonly input: unknown;
  /** Where the value of a field (e.g. `state.bucket`) is written: the env file or the shared file it spreads. */
  locate(field: string): SourceLocation;
}

/** Everything {@link loadProject} found. */
export interface LoadedProject {
  /** The environments folder. */
  readonly dir: string;
  /** Every environment file's name (valid or not), sorted. */
  readonly names: readonly string[];
  /** The valid environments, sorted by name. */
  readonly environments: readonly LoadedEnvironment[];
  /** Every problem found, merged (a shared file's problem once, naming the environments it affects). */
  readonly issues: readonly ConfigIssue[];
  /** Names of the environments with at least one error. */
  readonly failed: ReadonlySet<string>;
}

/**
 * Validates one environment's raw object.
 * @throws ConfigError listing every problem, when the object breaks any rule
 */
export function parseEnvironment(input: unknown, source: EnvironmentSource): EnvironmentConfig {
  const result = validateEnvironment(input, source);
  if (!result.config) throw new ConfigError(source.env, source.file, result.problems);
  return result.config;
}

/** Validates one environment's raw object: the config, or every problem (each located when `source.locate` is given). */
export function validateEnvironment(
  input: unknown,
  source: EnvironmentSource,
): { readonly config?: EnvironmentConfig; readonly problems: readonly ConfigProblem[] } {
  const locate = source.locate ?? (() => ({ file: source.file }));
  const result = environmentSchema.safeParse(input);
  const problems: ConfigProblem[] = result.success
    ? []
    : result.error.issues.flatMap((issue) => toProblems(issue, input, source, locate)).map((p) => ({ ...locate(p.field), ...p }));
  // The name must match the file even while other fields are wrong: every problem is listed at once.
  const name = isObject(input) ? input.name : undefined;
  if (typeof name === "string" && name !== source.env && !problems.some((p) => p.field === "name")) {
    problems.push({
      ...locate("name"),
      field: "name",
      value: name,
      rule: `the environment name must match its file name (${source.file}), since it is also the stack name`,
      fix: `set name: "${source.env}", or rename the file to ${name}.ts`,
    });
  }
  return result.success && problems.length === 0 ? { config: result.data, problems } : { problems };
}

/**
 * Checks rules that span environments: one state bucket for all (the bootstrap stack creates exactly one).
 * @throws ConfigError naming the environment that disagrees
 */
export function checkEnvironmentSet(envs: readonly EnvironmentConfig[], files: ReadonlyMap<string, string> = new Map()): void {
  if (envs.length === 0) {
    throw new GtiError(
      "No environments found: envs/ holds no environment file. Fix: add one, e.g. envs/dev.ts exporting " +
        "`export default defineEnvironment({ name: \"dev\", ... })` (see envs/training.ts).",
    );
  }
  const [problem] = crossEnvironmentIssues(
    envs.map((config) => {
      const file = files.get(config.name) ?? `envs/${config.name}.ts`;
      return { name: config.name, file, config, input: config, locate: () => ({ file }) };
    }),
  ).filter((issue) => issue.field === "state.bucket" || issue.field === "state.region");
  if (problem) {
    const env = problem.environments[0] ?? "";
    throw new ConfigError(env, problem.file, [{ field: "state", value: envs.find((e) => e.name === env)?.state, rule: problem.rule, fix: problem.fix }]);
  }
}

/** Loads, validates and cross-checks every environment file in `dir`, sorted by name; throws every problem at once. */
export async function loadEnvironments(dir: string = envsDir()): Promise<EnvironmentConfig[]> {
  const project = await loadProject(dir);
  const errors = project.issues.filter((issue) => issue.severity === "error");
  if (errors.length > 0) {
    throw new ConfigIssuesError(errors, `Invalid configuration: ${countIssues(errors)}.\n\n${formatIssuesByFile(errors)}`);
  }
  return project.environments.map((env) => env.config);
}

/** A file of the environments folder, read and indexed. */
/** An env file (or shared file) as read from disk. */
export interface EnvsFile {
  readonly name: string;
  readonly path: string;
  readonly shown: string;
  readonly source: SourceIndex;
  readonly text: string;
  readonly syntaxError?: ConfigIssue;
}

/**
 * Reads every env and shared file of `dir` and reports everything wrong with them at once. Never throws for a
 * configuration mistake.
 */
export async function loadProject(dir: string = envsDir()): Promise<LoadedProject> {
  const all = readdirSync(dir)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && !file.includes(".test."))
    .sort();
  const shownRoot = join(dir, "..");
  const files = new Map<string, EnvsFile>();
  for (const file of all) {
    const path = join(dir, file);
    const shown = relative(shownRoot, path);
    const text = readFileSync(path, "utf8");
    files.set(resolvePath(path), { name: file, path, shown, text, source: indexSource(shown, text), syntaxError: syntaxIssue(shown, text, path) });
  }
  const byShown = new Map([...files.values()].map((f) => [f.shown, f]));
  const resolveImport = (from: SourceIndex, specifier: string): SourceIndex | undefined => {
    if (!specifier.startsWith(".")) return undefined;
    const origin = byShown.get(from.file);
    if (!origin) return undefined;
    const base = resolvePath(dirname(origin.path), specifier);
    return (files.get(base) ?? files.get(`${base}.ts`))?.source;
  };

  const issues: ConfigIssue[] = [];
  const envFiles = [...files.values()].filter((f) => !f.name.startsWith("_"));
  const names = envFiles.map((f) => basename(f.name, ".ts"));
  if (envFiles.length === 0) {
    issues.push({
      severity: "error",
      file: `${relative(shownRoot, dir) || dir}${sep}`,
      environments: [],
      rule: "No environments found: the folder holds no environment file",
      fix: 'add one, e.g. envs/dev.ts ending with `export default defineEnvironment({ name: "dev", ... })` (see envs/training.ts)',
    });
  }
  for (const f of files.values()) {
    if (f.syntaxError) issues.push({ ...f.syntaxError, environments: f.name.startsWith("_") ? importersOf(f, envFiles, resolveImport) : [basename(f.name, ".ts")] });
  }

  const loaded: LoadedEnvironment[] = [];
  for (const f of envFiles) {
    const env = basename(f.name, ".ts");
    if (f.syntaxError) continue;
    const brokenImport = localImports(f, resolveImport).find((s) => [...files.values()].some((o) => o.source === s && o.syntaxError));
    if (brokenImport) {
      issues.push({
        severity: "error",
        file: f.shown,
        environments: [env],
        rule: `not checked: it imports ${brokenImport.file}, which does not compile (see that file above)`,
        fix: `fix ${brokenImport.file} first`,
      });
      continue;
    }
    let module: unknown;
    try {
      module = await import(pathToFileURL(f.path).href);
    } catch (error) {
      issues.push(importIssue(error, f, env, dir, files));
      continue;
    }
    const exported = defaultExport(module);
    const at = f.source.defaultExportOffset !== undefined ? f.source.position(f.source.defaultExportOffset) : { line: 1, column: 1 };
    const example = `export default defineEnvironment({ name: "${env}", region: "us-east-1", ... })`;
    if (exported === undefined) {
      issues.push({
        severity: "error",
        file: f.shown,
        ...at,
        environments: [env],
        rule: "has no default export, so it defines no environment",
        fix: `end it with \`${example}\` (see envs/training.ts)`,
      });
      continue;
    }
    if (!isPlainObject(exported)) {
      issues.push({
        severity: "error",
        file: f.shown,
        ...at,
        environments: [env],
        rule: `the default export is ${describeKind(exported)}, not an environment object`,
        fix: `export an object: \`${example}\` (see envs/training.ts)`,
      });
      continue;
    }
    const locate = (field: string) => locateField(f.source, field, resolveImport);
    const result = validateEnvironment(exported, { env, file: f.shown, locate });
    for (const problem of result.problems) {
      issues.push({
        severity: "error",
        file: problem.file ?? f.shown,
        line: problem.line,
        column: problem.column,
        environments: [env],
        field: problem.field,
        value: problem.value,
        rule: problem.rule,
        fix: problem.field === "name" ? duplicateNameFix(problem, env, names, dirname(f.shown)) : problem.fix,
      });
    }
    if (result.config) loaded.push({ name: env, file: f.shown, config: result.config, input: exported, locate });
  }

  issues.push(...crossEnvironmentIssues(loaded));
  const merged = sortIssues(mergeIssues(issues));
  const failed = new Set(merged.filter((i) => i.severity === "error").flatMap((i) => i.environments));
  return {
    dir,
    names,
    environments: loaded.filter((env) => !failed.has(env.name)),
    issues: merged,
    failed,
  };
}

/** The `envs/` files an env file imports (relative imports that resolve to a file of the folder). */
function localImports(f: EnvsFile, resolveImport: (from: SourceIndex, specifier: string) => SourceIndex | undefined): SourceIndex[] {
  return [...f.source.imports.values()].map((i) => resolveImport(f.source, i.specifier)).filter((s): s is SourceIndex => s !== undefined);
}

/** The environments whose file imports the shared file `shared`. */
function importersOf(
  shared: EnvsFile,
  envFiles: readonly EnvsFile[],
  resolveImport: (from: SourceIndex, specifier: string) => SourceIndex | undefined,
): string[] {
  return envFiles.filter((f) => localImports(f, resolveImport).includes(shared.source)).map((f) => basename(f.name, ".ts"));
}
