/** A sandbox that runs templates/entrypoint.sh, for real, against temporary directories with a stub `python` on PATH. */
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { ENTRYPOINT } from "./paths";

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
