/**
 * One synth run of `main.ts`, around the cdktf app: load every env file, print every problem once (grouped by file,
 * attributed to the file holding the value) and every placeholder still in use, decide which stacks to synthesize,
 * and after synth remove stale stack folders and say what was written where.
 *
 * Which problems block what (docs/configuration.md, "When an environment is broken"):
 * - by default any error stops the run (exit 1), and nothing is written;
 * - with `GTI_STACKS` (set by `npm run deploy -- <stack>`, or by hand: `GTI_STACKS=training npx cdktf deploy
 *   training`), only errors touching a selected stack stop it. Each stack depends on its own env file (and the
 *   shared files it spreads) only, so a broken `dev.ts` cannot change what `training` deploys; the other envs'
 *   problems are still printed, their stacks are not written, and `bootstrap` (made from every env) is written only
 *   when every env is valid.
 *
 * Under the cdktf CLI (`cdktf synth`, `cdktf deploy`), which prints everything the app writes to stderr twice
 * (prefixed `[ERROR] default -`, then again in its closing report), messages go to stdout, which it prints once.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { App } from "cdktf";
import { type ConfigIssue, ConfigIssuesError } from "./errors";
import { type LoadedEnvironment, type LoadedProject, loadProject } from "./config/load";
import { findPlaceholders } from "./config/placeholders";
import { countIssues, formatIssuesByFile } from "./config/report";
import type { EnvironmentConfig } from "./config/schema";
import { BOOTSTRAP_STACK } from "./state";

/** The environment variable naming the stacks a run is for (comma-separated, `*` wildcards), e.g. `training`. */
export const STACKS_VARIABLE = "GTI_STACKS";

/** How this run was started. */
export interface RunOptions {
  /** Stack patterns from {@link STACKS_VARIABLE}; undefined: every stack. */
  readonly stacks?: readonly string[];
  /** Run by the cdktf CLI (`cdktf synth` / `deploy`), which sets `CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS`. */
  readonly underCdktfCli: boolean;
}

/** Reads the run options from the environment. */
export function runOptions(env: NodeJS.ProcessEnv = process.env): RunOptions {
  const stacks = env[STACKS_VARIABLE]
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return {
    stacks: stacks && stacks.length > 0 ? stacks : undefined,
    underCdktfCli: env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS === "true",
  };
}

/** What to synthesize. */
export interface RunPlan {
  /** The environments whose stacks are written. */
  readonly environments: readonly EnvironmentConfig[];
  /** Every environment, for the bootstrap stack; undefined when it is not written (some env is broken). */
  readonly bootstrapEnvironments?: readonly EnvironmentConfig[];
  readonly options: RunOptions;
}

/** Where messages go: stderr, or stdout under the cdktf CLI (see the file header). */
export function messageStream(options: RunOptions): NodeJS.WriteStream {
  return options.underCdktfCli ? process.stdout : process.stderr;
}

/**
 * Loads the env files, prints problems and placeholders, and returns what to synthesize.
 * @throws ConfigIssuesError when a problem blocks the run (its message lists every problem)
 */
export async function prepareRun(options: RunOptions = runOptions(), dir?: string): Promise<RunPlan> {
  const project = await loadProject(dir);
  const errors = project.issues.filter((issue) => issue.severity === "error");
  const selected = selectedEnvironments(project, options);
  const unknownPatterns = (options.stacks ?? []).filter((p) => !matchesAny(p, [...project.names, BOOTSTRAP_STACK]));
  const blocking = errors.filter((issue) => blocks(issue, selected, options));
  const out = messageStream(options);

  if (blocking.length > 0) {
    const notBlocking = errors.filter((issue) => !blocking.includes(issue));
    throw new ConfigIssuesError(blocking, failureMessage(blocking, notBlocking, project, options));
  }
  if (unknownPatterns.length > 0) {
    out.write(
      `\nWarning: ${STACKS_VARIABLE}=${options.stacks?.join(",")}: ${unknownPatterns.join(", ")} matches no environment file and not "${BOOTSTRAP_STACK}" ` +
        `(stacks: ${[...project.names, BOOTSTRAP_STACK].join(", ")}).\n`,
    );
  }
  if (errors.length > 0) {
    const skipped = [...project.failed].sort();
    out.write(
      `\nNot synthesized: ${skipped.join(", ")} and ${BOOTSTRAP_STACK} (${countIssues(errors)}; ${STACKS_VARIABLE}=${options.stacks?.join(",")} ` +
        `does not need them):\n\n${formatIssuesByFile(errors)}\n`,
    );
  }
  printPlaceholders(project.environments, out);
  const environments = project.environments.map((env) => env.config);
  return {
    environments,
    bootstrapEnvironments: errors.length === 0 ? environments : undefined,
    options,
  };
}

/** The placeholder warnings: each example value still in use, once, with its file, field and fix. */
function printPlaceholders(environments: readonly LoadedEnvironment[], out: NodeJS.WriteStream): void {
  const findings = findPlaceholders(environments);
  if (findings.length === 0) return;
  const issues: ConfigIssue[] = findings.map((f) => ({
    severity: "warning",
    file: f.file,
    line: f.line,
    column: f.column,
    environments: f.environments,
    field: f.field,
    value: f.value,
    rule: f.reason,
    fix: f.fix,
  }));
  out.write(
    `\nPlaceholders: ${countIssues(issues, "example value")} still in use. Fine for synth, tests and a local dry run; ` +
      "terraform plan and apply refuse them in a real AWS account (docs/configuration.md, \"Placeholders\"):\n\n" +
      `${formatIssuesByFile(issues)}\n\n`,
  );
}

/** Names of the environments a run is for: every env file, or those matching the patterns. */
function selectedEnvironments(project: LoadedProject, options: RunOptions): ReadonlySet<string> {
  if (!options.stacks) return new Set(project.names);
  return new Set(project.names.filter((name) => options.stacks?.some((pattern) => glob(pattern).test(name))));
}

function blocks(issue: ConfigIssue, selected: ReadonlySet<string>, options: RunOptions): boolean {
  if (!options.stacks) return true;
  if (options.stacks.some((pattern) => glob(pattern).test(BOOTSTRAP_STACK))) return true;
  if (issue.environments.length === 0) return true;
  return issue.environments.some((env) => selected.has(env));
}

function matchesAny(pattern: string, names: readonly string[]): boolean {
  return names.some((name) => glob(pattern).test(name));
}

/** A cdktf stack pattern (`*` matches anything) as a regular expression. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

function failureMessage(
  blocking: readonly ConfigIssue[],
  notBlocking: readonly ConfigIssue[],
  project: LoadedProject,
  options: RunOptions,
): string {
  const all = [...blocking, ...notBlocking];
  const lines = [`Invalid configuration: ${countIssues(all)}.`, "", formatIssuesByFile(all), ""];
  const valid = project.environments.map((env) => env.name).filter((name) => !project.failed.has(name));
  if (options.stacks) {
    lines.push(`Nothing was synthesized: ${STACKS_VARIABLE}=${options.stacks.join(",")} needs the files above.`);
  } else if (valid.length > 0) {
    lines.push(
      `Nothing was synthesized. Fix the problems above, or work on a valid environment meanwhile (${valid.join(", ")}): ` +
        `npm run deploy -- <env> leaves the broken ones out (${STACKS_VARIABLE}=<env>; docs/configuration.md).`,
    );
  } else {
    lines.push("Nothing was synthesized. Fix the problems above and run again.");
  }
  if (options.underCdktfCli) {
    lines.push('(cdktf reports this as "app was expected to call \'synth()\', but didn\'t": synth stopped on purpose.)');
  }
  return lines.join("\n");
}

/**
 * After `app.synth()`: removes `<outdir>/stacks/<name>/` folders of stacks this run did not write (a removed env,
 * or one left out by a selection; the cdktf CLI does the same), and returns the stacks written.
 */
export function finishRun(app: App, options: RunOptions): { written: string[]; removed: string[] } {
  const stacksDir = join(app.outdir, "stacks");
  const written = app.node.children.map((child) => child.node.id).filter((id) => existsSync(join(stacksDir, id, "cdk.tf.json")));
  const removed: string[] = [];
  if (existsSync(stacksDir)) {
    for (const entry of readdirSync(stacksDir, { withFileTypes: true })) {
      if (entry.isDirectory() && !written.includes(entry.name)) {
        rmSync(join(stacksDir, entry.name), { recursive: true, force: true });
        removed.push(entry.name);
      }
    }
  }
  const show = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
  };
  const out = process.stdout;
  for (const stack of removed) out.write(`Removed ${show(join(stacksDir, stack))}/ (no such stack any more).\n`);
  if (options.underCdktfCli) {
    out.write(`Stacks written: ${written.join(", ")} (${show(stacksDir)}/<stack>/cdk.tf.json)\n`);
  } else {
    const width = Math.max(...written.map((s) => s.length));
    out.write(`Stacks written:\n${written.map((s) => `  ${s.padEnd(width)}  ${show(join(stacksDir, s, "cdk.tf.json"))}`).join("\n")}\n`);
  }
  return { written, removed };
}
