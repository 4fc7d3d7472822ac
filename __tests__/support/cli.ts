/**
 * Running `gti` in tests: in-process (`runGti`, cheap: buffers for stdout/stderr, the test's clock and sleep) or as a
 * process exactly as a user runs it (`spawnGti`: bin/gti.cjs, exit code, stdout, stderr). Plus fixtures: env files in
 * a temporary envs/ folder, a deployed stack's state object, stub terraform binaries.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { runCli } from "../../src/cli/main";
import { stateKey } from "../../src/state";

export const PROJECT = join(__dirname, "..", "..");
export const GTI_BIN = join(PROJECT, "bin", "gti.cjs");

export interface GtiResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InProcessOptions {
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Pretend stderr is a terminal (progress bars). */
  readonly tty?: boolean;
}

/** Runs `gti argv` in this process with `env` (merged over process.env). */
export async function runGti(argv: readonly string[], env: Record<string, string> = {}, options: InProcessOptions = {}): Promise<GtiResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: Object.assign(
      {
        write: (chunk: string) => {
          stderr += chunk;
          return true;
        },
      },
      options.tty ? { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true } : {},
    ),
    env: { ...process.env, ...env },
    now: options.now,
    sleep: options.sleep ?? (() => Promise.resolve()),
  });
  return { code, stdout, stderr };
}

/** Runs `bin/gti.cjs argv` as a process, the way `npx gti` does. */
export function spawnGti(argv: readonly string[], env: Record<string, string> = {}, cwd = PROJECT): Promise<GtiResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GTI_BIN, ...argv], { cwd, env: { ...process.env, ...env, GTI_DEBUG: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Writes one plain-object env file per entry into `dir` (a GTI_ENVS_DIR), returning `dir`. */
export function writeEnvFiles(dir: string, envs: readonly Record<string, unknown>[]): string {
  mkdirSync(dir, { recursive: true });
  for (const env of envs) writeFileSync(join(dir, `${String(env.name)}.ts`), `export default ${JSON.stringify(env, null, 2)};\n`);
  return dir;
}

/** A valid env with no placeholder values, named `name`, with `overrides` (shallow). */
export function labEnv(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    region: "us-east-1",
    repository: "github.com/acme/gpu-training-infra",
    state: { bucket: "acme-gti-tfstate", region: "us-east-1" },
    compute: { instanceType: "g5.xlarge", maxRuntimeHours: 12, rootVolumeSizeGb: 200 },
    safety: { monthlyBudgetUsd: 150 },
    ...overrides,
  };
}

/** Creates the state bucket (versioned) and writes the env's state object with `outputs` (strings). */
export async function seedState(
  s3: S3Client,
  bucket: string,
  env: string,
  outputs: Readonly<Record<string, string>> | undefined,
): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw error;
  }
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
  if (!outputs) return;
  const state = {
    version: 4,
    terraform_version: "1.11.4",
    outputs: Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { value, type: "string" }])),
    resources: [],
  };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: stateKey(env), Body: JSON.stringify(state) }));
}

/**
 * A stub `terraform` (a shell script) that reports `version`, answers `init` with `initExit` (printing `initError`)
 * and `output` with `outputJson`, and records every call's arguments in `<dir>/calls.log`. Returns its path.
 */
export function stubTerraform(
  dir: string,
  options: { readonly version?: string; readonly initExit?: number; readonly initError?: string; readonly outputJson?: string } = {},
): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "terraform");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      `echo "$@" >> "${join(dir, "calls.log")}"`,
      'case "$1" in',
      `  version) echo '{"terraform_version":"${options.version ?? "1.11.4"}"}' ;;`,
      `  init) ${options.initExit ? `echo "${options.initError ?? "Error: boom"}" >&2; exit ${options.initExit}` : "echo initialised"} ;;`,
      ...(options.outputJson ? [`  output) cat <<'JSON'\n${options.outputJson}\nJSON\n ;;`] : []),
      "  *) echo \"terraform $*\" ;;",
      "esac",
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

/** No stack trace line in `text`. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+\(.*:\d+:\d+\)$/m.test(text) || /^\s+at .+:\d+:\d+$/m.test(text);
}

/** An S3 client for the emulator (path-style addressing). */
export function emulatorS3(endpoint: string): S3Client {
  return new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
}
