/**
 * Finding the terraform binary and checking its version: shared by the test harness (`__tests__/support/terraform.ts`) and
 * the operator's command line (`gti doctor`, `gti stop --release`), so both apply the same rule.
 *
 * Environment variables: `TERRAFORM_BIN` (the binary; default `terraform` on PATH, then `/usr/local/bin/terraform`).
 */
import { execFile, spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { REQUIRED_TERRAFORM_VERSION } from "./state";

/** Oldest terraform the synthesized JSON accepts: the version in {@link REQUIRED_TERRAFORM_VERSION} (`>= X.Y.Z`). */
export const MINIMUM_TERRAFORM_VERSION = REQUIRED_TERRAFORM_VERSION.replace(/^>=\s*/, "");

/** Where terraform was found, or what was searched. */
export interface TerraformBinary {
  /** Path of an executable terraform, when found. */
  readonly path?: string;
  /** What was searched, when not found (for messages). */
  readonly searched: string;
}

/** Finds terraform: `TERRAFORM_BIN`, then PATH, then `/usr/local/bin/terraform`. Never throws. */
export function findTerraformBinary(env: NodeJS.ProcessEnv = process.env): TerraformBinary {
  if (env.TERRAFORM_BIN) {
    return isExecutable(env.TERRAFORM_BIN)
      ? { path: env.TERRAFORM_BIN, searched: "" }
      : { searched: `TERRAFORM_BIN=${env.TERRAFORM_BIN} is not an executable file` };
  }
  const pathDirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  const candidates = [...pathDirs.map((dir) => join(dir, "terraform")), "/usr/local/bin/terraform"];
  const found = candidates.find(isExecutable);
  return found
    ? { path: found, searched: "" }
    : { searched: "no terraform executable on PATH or at /usr/local/bin/terraform (set TERRAFORM_BIN to its path)" };
}

/** `terraform version -json`: the version, or why it could not be read. Never throws. */
export function readTerraformVersion(
  binary: string,
  env: NodeJS.ProcessEnv = process.env,
): { readonly version: string } | { readonly error: string } {
  const run = spawnSync(binary, ["version", "-json"], { encoding: "utf8", timeout: 30_000, env: quietTerraformEnv(env) });
  try {
    const version = (JSON.parse(run.stdout) as { terraform_version?: string }).terraform_version;
    if (version) return { version };
  } catch {
    // falls through to the error below
  }
  return { error: `${binary} did not report its version (exit ${run.status}): ${firstLine(run.stderr || run.error?.message)}` };
}

/** True when `version` satisfies {@link MINIMUM_TERRAFORM_VERSION}. */
export function isSupportedTerraformVersion(version: string): boolean {
  return compareVersions(version, MINIMUM_TERRAFORM_VERSION) >= 0;
}

/** Compares dotted versions (`1.10.0` vs `1.9.8`) numerically on their first three parts. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** `env` plus what keeps terraform from prompting or phoning home. */
export function quietTerraformEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
}

/** The first non-empty line of `text`, for one-line messages. */
export function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n").map((l) => l.trim()).find(Boolean) ?? "(no output)";
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The hashicorp/aws version `@cdktf/provider-aws` was generated from (and pins in `required_providers`). */
export function boundAwsProviderVersion(): string {
  const manifest = JSON.parse(readFileSync(require.resolve("@cdktf/provider-aws/package.json"), "utf8")) as {
    cdktf: { provider: { version: string } };
  };
  return manifest.cdktf.provider.version;
}

/**
 * Proves terraform can install hashicorp/aws `version` with the CLI configuration in `env` (`TF_CLI_CONFIG_FILE`, or
 * the user's `~/.terraformrc`): `terraform init` on an empty configuration that requires it, in a temporary folder.
 * Never throws.
 */
export function probeAwsProvider(
  binary: string,
  version: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }> {
  const dir = mkdtempSync(join(tmpdir(), "gti-terraform-probe-"));
  writeFileSync(
    join(dir, "main.tf.json"),
    JSON.stringify({ terraform: { required_providers: { aws: { source: "hashicorp/aws", version } } } }),
  );
  return new Promise((resolve) => {
    execFile(
      binary,
      ["init", "-backend=false", "-input=false", "-no-color"],
      { cwd: dir, encoding: "utf8", timeout: timeoutMs, env: quietTerraformEnv(env), maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        if (!error) resolve({ ok: true });
        else resolve({ ok: false, error: errorLine(stderr || stdout || error.message) });
      },
    );
  });
}

/** Terraform's `Error: ...` line (with the line after it), else the first line. */
function errorLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const index = lines.findIndex((l) => l.startsWith("Error:"));
  return index >= 0 ? lines.slice(index, index + 3).join(" ") : firstLine(text);
}
