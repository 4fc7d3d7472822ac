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
import { transformSync } from "esbuild";
import type { z } from "zod";
import { type ConfigIssue, ConfigError, ConfigIssuesError, type ConfigProblem, GtiError, describeValue } from "../errors";
import { countIssues, formatIssuesByFile, mergeIssues, sortIssues } from "./report";
import { type EnvironmentConfig, environmentSchema } from "./schema";
import { FIX_SEPARATOR } from "./sections/common";
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
interface EnvsFile {
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
    files.set(resolvePath(path), { name: file, path, shown, text, source: indexSource(shown, text), syntaxError: syntaxIssue(shown, text) });
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

/** A name/file mismatch that names another env file's environment: say so (two files would define one stack). */
function duplicateNameFix(problem: ConfigProblem, env: string, names: readonly string[], folder: string): string {
  if (typeof problem.value === "string" && problem.value !== env && names.includes(problem.value)) {
    return `set name: "${env}" ("${problem.value}" is the name of ${join(folder, `${problem.value}.ts`)}: two files cannot define one stack)`;
  }
  return problem.fix;
}

/** Rules between environments: one state bucket, and no two envs claiming the same bucket or ECR repository name. */
function crossEnvironmentIssues(envs: readonly LoadedEnvironment[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const [first] = envs;
  if (!first) return issues;
  for (const env of envs.slice(1)) {
    for (const key of ["bucket", "region"] as const) {
      if (env.config.state[key] !== first.config.state[key]) {
        const field = `state.${key}`;
        issues.push({
          severity: "error",
          ...env.locate(field),
          environments: [env.name],
          field,
          value: env.config.state[key],
          rule: `every environment must use the one state bucket the bootstrap stack creates; "${first.name}" (${first.file}) uses ${JSON.stringify(first.config.state[key])}`,
          fix: "use the same state settings in every env (they come from envs/_shared.ts by default)",
        });
      }
    }
  }
  const claims = new Map<string, LoadedEnvironment>();
  for (const env of envs) {
    const named: [field: string, value: string | undefined, scope: string][] = [
      ["storage.dataBucketName", env.config.storage.dataBucketName, "S3 bucket names are global"],
      ["storage.outputsBucketName", env.config.storage.outputsBucketName, "S3 bucket names are global"],
      ["registry.repositoryName", env.config.registry.repositoryName, `ECR repository names are unique per account and region (${env.config.region})`],
    ];
    for (const [field, value, scope] of named) {
      if (value === undefined) continue;
      const key = field.startsWith("registry") ? `ecr:${env.config.region}:${value}` : `s3:${value}`;
      const other = claims.get(key);
      if (other && other.name !== env.name) {
        issues.push({
          severity: "error",
          ...env.locate(field),
          environments: [env.name],
          field,
          value,
          rule: `"${value}" is also used by environment "${other.name}" (${other.file}), and ${scope}`,
          fix: `give each environment its own name, or leave ${field} out for the default <project>-<env>-... name`,
        });
      } else {
        claims.set(key, env);
      }
    }
  }
  return issues;
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

/** A syntax error of a file (what esbuild, which tsx runs, refuses), with the line and a caret; undefined when it compiles. */
function syntaxIssue(shown: string, text: string): ConfigIssue | undefined {
  try {
    transformSync(text, { loader: "ts", sourcefile: shown, logLevel: "silent" });
    return undefined;
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number; lineText: string } | null }[] })
      .errors?.[0];
    if (!first) throw error;
    const location = first.location ?? undefined;
    return {
      severity: "error",
      file: shown,
      line: location?.line,
      column: location === undefined ? undefined : location.column + 1,
      environments: [],
      rule: `syntax error: ${first.text}`,
      fix: syntaxFix(first.text),
      excerpt: location ? caretExcerpt(location.line, location.lineText, location.column) : undefined,
      cause: error,
    };
  }
}

function syntaxFix(text: string): string {
  if (/Unexpected ","|but found ","/.test(text)) return "remove the extra comma (two commas in a row, or a comma where a value belongs)";
  if (/Expected "[)}\]]" but found/.test(text) || /Unexpected end of file/.test(text)) {
    return "close every bracket you open: check the {, [ and ( before this spot";
  }
  if (/Unterminated string/.test(text)) return "close the string with the quote it starts with";
  return "correct the TypeScript at that spot (an env file is one object literal: `key: value,` per field)";
}

function caretExcerpt(line: number, lineText: string, column: number): string[] {
  const gutter = `${line} | `;
  return [`${gutter}${lineText}`, `${" ".repeat(gutter.length + column)}^`];
}

/** A file that failed to load (threw, referenced an undefined name, imported a missing file): one located problem. */
function importIssue(
  error: unknown,
  f: EnvsFile,
  env: string,
  dir: string,
  files: ReadonlyMap<string, EnvsFile>,
): ConfigIssue {
  const base = { severity: "error" as const, environments: [env], cause: error };
  const message = error instanceof Error ? error.message : String(error);
  const frame = firstFrameIn(error, dir, files);
  const where = frame ?? { file: f, line: undefined as number | undefined, column: undefined as number | undefined };

  const missing = /Cannot find module '([^']+)'/.exec(message);
  if (missing) {
    const specifier = missing[1] as string;
    const offset = f.source.strings.get(specifier)?.[0];
    return {
      ...base,
      file: f.shown,
      ...(offset !== undefined ? f.source.position(offset) : {}),
      rule: `imports "${specifier}", which does not exist`,
      fix: 'check the path: shared settings live next to the env files, in files starting with "_" (e.g. import { shared } from "./_shared")',
    };
  }

  const undefinedName = error instanceof ReferenceError ? /^(\S+) is not defined/.exec(message)?.[1] : undefined;
  if (undefinedName) {
    const target = where.file;
    const offset = target.source.identifiers.get(undefinedName)?.[0];
    const position = offset !== undefined ? target.source.position(offset) : { line: where.line, column: where.column };
    const known = [...target.source.imports.keys(), ...target.source.consts.keys(), "defineEnvironment"];
    const guess = closest(undefinedName, known);
    const origin = guess !== undefined ? target.source.imports.get(guess) : undefined;
    const lineText = position.line !== undefined ? target.text.split("\n")[position.line - 1] : undefined;
    return {
      ...base,
      file: target.shown,
      ...position,
      rule: `${undefinedName} is not defined (a typo, or a missing import)`,
      fix: guess
        ? `did you mean ${guess}${origin ? ` (imported from "${origin.specifier}")` : ""}? Replace ${undefinedName} with ${guess}`
        : `import ${undefinedName}, or correct its spelling`,
      excerpt: lineText !== undefined && position.column !== undefined ? caretExcerpt(position.line as number, lineText, position.column - 1) : undefined,
    };
  }

  const name = error instanceof Error ? error.name : typeof error;
  const lineText = where.line !== undefined ? where.file.text.split("\n")[where.line - 1] : undefined;
  return {
    ...base,
    file: where.file.shown,
    line: where.line,
    column: where.column,
    rule: `loading it threw ${name}: ${message}`,
    fix: "fix the code at that line: an env file only builds one object and exports it (no calls that can fail)",
    excerpt: lineText !== undefined && where.column !== undefined ? caretExcerpt(where.line as number, lineText, where.column - 1) : undefined,
  };
}

/** The first stack frame of an error inside the environments folder. */
function firstFrameIn(
  error: unknown,
  dir: string,
  files: ReadonlyMap<string, EnvsFile>,
): { file: EnvsFile; line: number; column: number } | undefined {
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  const root = resolvePath(dir);
  for (const match of stack.matchAll(/(?:file:\/\/)?((?:\/|[A-Za-z]:\\)[^\s():]+\.ts):(\d+):(\d+)/g)) {
    const path = resolvePath(match[1] as string);
    if (!path.startsWith(root + sep)) continue;
    const file = files.get(path);
    if (file) return { file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

/** The candidate closest to `word` (edit distance at most 2), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(word, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** The default export of a module imported from TypeScript, through any CommonJS interop wrapping. */
function defaultExport(module: unknown): unknown {
  let current = module;
  let unwrapped = false;
  while (isObject(current) && "default" in current && (current.__esModule === true || isModuleNamespace(current))) {
    current = current.default;
    unwrapped = true;
  }
  return unwrapped ? current : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return isObject(value) && !Array.isArray(value);
}

function isModuleNamespace(value: object): boolean {
  return Object.prototype.toString.call(value) === "[object Module]";
}

/** `null`, `an array`, `the number 3`, ... */
function describeKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function (call it, or export its result)";
  return `the ${typeof value} ${describeValue(value)}`;
}

function toProblems(
  issue: z.core.$ZodIssue,
  input: unknown,
  source: EnvironmentSource,
  locate: (field: string) => SourceLocation,
): ConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      const guess = closest(key, knownKeysAt(issue.path));
      return {
        field: formatPath(path),
        value: valueAt(input, path),
        rule: "unknown field",
        fix: guess
          ? `did you mean ${formatPath([...issue.path, guess])}? Rename it, or remove it`
          : `remove it, or check the spelling against the schema in src/config/ (docs/configuration.md lists every field)`,
      };
    });
  }
  const field = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  if (value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
    return [{ field, value, rule: "is required", fix: `add ${field} to ${locate(field).file}` }];
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

/** The field names the schema knows at a path (to suggest the closest one for a misspelt field). */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: unknown = environmentSchema;
  for (const part of [...path, undefined]) {
    // Unwrap defaults, optionals and pipes down to an object (or an array's element).
    for (let guard = 0; guard < 10; guard++) {
      const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return [];
      if (def.type === "object") break;
      const inner = def.innerType ?? def.in ?? (typeof part === "number" ? def.element : undefined);
      if (!inner) return [];
      schema = inner;
    }
    const shape = (schema as { _zod: { def: { shape?: Record<string, unknown> } } })._zod.def.shape ?? {};
    if (part === undefined) return Object.keys(shape);
    if (typeof part === "number") continue;
    schema = shape[String(part)];
    if (!schema) return [];
  }
  return [];
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
