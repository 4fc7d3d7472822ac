/**
 * Runs the real `terraform` against synthesized stacks, offline: `init -backend=false` and `terraform test` (with
 * `mock_provider "aws"`; it validates the configuration first), and turns their JSON into readable reports.
 *
 * Detect, never assume: {@link detectTerraform} finds the binary and the hashicorp/aws provider (a filesystem mirror,
 * by default `/opt/tf-plugins`) and says exactly what is missing when it cannot; the tests then skip with that reason.
 *
 * Environment variables:
 * - `TERRAFORM_BIN`: the terraform binary (default: `terraform` on PATH, then `/usr/local/bin/terraform`).
 * - `TF_PROVIDER_MIRROR`: the provider mirror directory (default `/opt/tf-plugins`). Without a mirror holding the
 *   provider, terraform installs it from the network, if it can.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MINIMUM_TERRAFORM_VERSION,
  boundAwsProviderVersion,
  findTerraformBinary,
  isSupportedTerraformVersion,
  probeAwsProvider,
  quietTerraformEnv as quietEnv,
  readTerraformVersion,
} from "../../src/terraform-binary";

/** Oldest terraform the synthesized JSON accepts (`use_lockfile` needs 1.10; `mock_provider` needs 1.7). */
export { MINIMUM_TERRAFORM_VERSION };

/** Default location of the offline provider mirror on this project's machines. */
export const DEFAULT_PROVIDER_MIRROR = "/opt/tf-plugins";

/** The hashicorp/aws version `@cdktf/provider-aws` was generated from (and pins in `required_providers`). */
export { boundAwsProviderVersion };

/** A terraform binary and a way to get the AWS provider, ready to use. */
export interface TerraformToolchain {
  /** Path of the terraform binary. */
  readonly binary: string;
  /** Its version, e.g. `1.11.4`. */
  readonly version: string;
  /** hashicorp/aws version required by the synthesized JSON. */
  readonly awsProviderVersion: string;
  /** The filesystem mirror holding the provider, or undefined when installing from the network. */
  readonly mirror: string | undefined;
  /** A CLI config file (`TF_CLI_CONFIG_FILE`) pointing terraform at the mirror. */
  readonly cliConfigFile: string;
  /** One line saying what is used, for logs. */
  readonly description: string;
}

export type TerraformDetection =
  | { readonly available: true; readonly toolchain: TerraformToolchain }
  | { readonly available: false; readonly reason: string };

/**
 * Finds terraform and the provider. Never throws: a missing piece is reported as `available: false` with a reason
 * that names what was looked for and where.
 *
 * @param env environment variables to read (`TERRAFORM_BIN`, `TF_PROVIDER_MIRROR`, `PATH`)
 * @param workDir where to write the CLI config file
 */
export function detectTerraform(env: NodeJS.ProcessEnv = process.env, workDir?: string): TerraformDetection {
  const binary = findTerraformBinary(env);
  if (!binary.path) return { available: false, reason: `terraform not found: ${binary.searched}` };

  const versionRun = readTerraformVersion(binary.path, env);
  if ("error" in versionRun) return { available: false, reason: versionRun.error };
  const { version } = versionRun;
  if (!isSupportedTerraformVersion(version)) {
    return { available: false, reason: `terraform ${version} at ${binary.path} is older than ${MINIMUM_TERRAFORM_VERSION}` };
  }

  const awsProviderVersion = boundAwsProviderVersion();
  const mirrorRoot = env.TF_PROVIDER_MIRROR || DEFAULT_PROVIDER_MIRROR;
  const mirror = mirrorHoldsProvider(mirrorRoot, awsProviderVersion) ? mirrorRoot : undefined;
  const dir = workDir ?? mkdtempSync(join(tmpdir(), "gti-terraform-"));
  const cliConfigFile = join(dir, "terraform.rc");
  writeFileSync(cliConfigFile, cliConfig(mirror));
  const source = mirror
    ? `hashicorp/aws ${awsProviderVersion} from the filesystem mirror ${mirror}`
    : `hashicorp/aws ${awsProviderVersion} from the network (not in ${mirrorRoot})`;
  return {
    available: true,
    toolchain: {
      binary: binary.path,
      version,
      awsProviderVersion,
      mirror,
      cliConfigFile,
      description: `terraform ${version} (${binary.path}), ${source}`,
    },
  };
}

/**
 * Proves the provider can be installed by running `terraform init` on an empty configuration that requires it.
 * Only needed without a mirror (network install); with one, installation is a symlink and cannot fail this way.
 */
export async function probeProviderInstall(toolchain: TerraformToolchain): Promise<TerraformDetection> {
  const probe = await probeAwsProvider(toolchain.binary, toolchain.awsProviderVersion, {
    ...process.env,
    TF_CLI_CONFIG_FILE: toolchain.cliConfigFile,
  });
  if (probe.ok) return { available: true, toolchain };
  const where = toolchain.mirror ? `from the mirror ${toolchain.mirror}` : "from the network (no provider mirror found)";
  return { available: false, reason: `hashicorp/aws ${toolchain.awsProviderVersion} could not be installed ${where}: ${probe.error}` };
}

/** Output of one terraform command. */
export interface TerraformResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs terraform in `dir` with the toolchain's CLI config, never prompting, never phoning home.
 *
 * @param env variables added to the environment (e.g. test credentials for a local AWS API)
 */
export function runTerraform(
  toolchain: TerraformToolchain,
  dir: string,
  args: readonly string[],
  timeoutMs = 300_000,
  env: Readonly<Record<string, string>> = {},
): Promise<TerraformResult> {
  return new Promise((resolve) => {
    execFile(
      toolchain.binary,
      [...args],
      {
        cwd: dir,
        encoding: "utf8",
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...quietEnv(process.env), ...env, TF_CLI_CONFIG_FILE: toolchain.cliConfigFile },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr: error && !stderr ? String(error.message) : stderr });
      },
    );
  });
}

/** `terraform init -backend=false`; throws with terraform's own error text on failure. */
export async function terraformInit(toolchain: TerraformToolchain, dir: string): Promise<void> {
  const result = await runTerraform(toolchain, dir, ["init", "-backend=false", "-input=false", "-no-color"]);
  if (result.code !== 0) {
    throw new Error(`terraform init failed in ${dir}:\n${result.stderr || result.stdout}`);
  }
}

/** One diagnostic from terraform's JSON output. */
export interface TerraformDiagnostic {
  readonly severity: "error" | "warning";
  readonly summary: string;
  readonly detail: string;
  readonly address?: string;
  readonly file?: string;
  readonly line?: number;
  /** For `terraform test`: the test file and run block that produced it. */
  readonly testFile?: string;
  readonly testRun?: string;
  /** For `terraform test`: whether it came while running or while tearing down (destroying) a run's resources. */
  readonly phase?: "run" | "teardown";
}

/** Outcome of one `run` block. */
export interface TestRunResult {
  readonly file: string;
  readonly run: string;
  readonly status: "pass" | "fail" | "error" | "skip";
}

export interface TestReport {
  /** Every run block, in the order terraform ran them. */
  readonly runs: readonly TestRunResult[];
  /** Every diagnostic, tagged with its file, run and phase. */
  readonly diagnostics: readonly TerraformDiagnostic[];
  /**
   * Resources whose destruction at teardown was refused by `lifecycle { prevent_destroy = true }`: proof that the
   * protection is in the synthesized JSON and that Terraform honours it.
   */
  readonly protectedFromDestroy: readonly string[];
  /** Terraform's summary line counts. */
  readonly summary: { readonly passed: number; readonly failed: number; readonly errored: number; readonly skipped: number };
}

/** Options of {@link terraformTest}. */
export interface TerraformTestOptions {
  /** Only these test files (paths relative to the stack directory, e.g. `tests/modules.tftest.hcl`). */
  readonly files?: readonly string[];
  /** `-var` values for every run. */
  readonly variables?: Readonly<Record<string, string | number | boolean>>;
}

/** `terraform test -json` in `dir` (test files under `dir/tests`), parsed. */
export async function terraformTest(
  toolchain: TerraformToolchain,
  dir: string,
  options: TerraformTestOptions = {},
): Promise<TestReport> {
  const args = ["test", "-json", "-no-color"];
  for (const file of options.files ?? []) args.push(`-filter=${file}`);
  for (const [name, value] of Object.entries(options.variables ?? {})) args.push(`-var=${name}=${String(value)}`);
  const result = await runTerraform(toolchain, dir, args);
  const runs = new Map<string, TestRunResult>();
  const diagnostics: TerraformDiagnostic[] = [];
  const tearingDown = new Set<string>();
  let summary: TestReport["summary"] | undefined;
  for (const line of result.stdout.split("\n")) {
    if (!line.trim()) continue;
    let event: TestEvent;
    try {
      event = JSON.parse(line) as TestEvent;
    } catch {
      continue;
    }
    const file = event["@testfile"];
    const run = event["@testrun"];
    if (event.type === "test_file" && event.test_file?.progress === "teardown" && file) tearingDown.add(file);
    if (event.type === "test_run" && event.test_run?.progress === "complete" && event.test_run.status) {
      runs.set(`${event.test_run.path}#${event.test_run.run}`, {
        file: event.test_run.path,
        run: event.test_run.run,
        status: event.test_run.status,
      });
    }
    if (event.type === "diagnostic" && event.diagnostic) {
      diagnostics.push(
        toDiagnostic(event.diagnostic, { testFile: file, testRun: run, phase: file && tearingDown.has(file) ? "teardown" : "run" }),
      );
    }
    if (event.type === "test_summary" && event.test_summary) summary = event.test_summary;
  }
  if (!summary) {
    throw new Error(`terraform test printed no summary (exit ${result.code}):\n${result.stderr || result.stdout.slice(-4000)}`);
  }
  const protectedFromDestroy = diagnostics
    .filter((d) => d.phase === "teardown" && d.summary === "Instance cannot be destroyed")
    .map((d) => /Resource (\S+) has lifecycle\.prevent_destroy set/.exec(d.detail)?.[1] ?? d.address ?? "?")
    .sort();
  return { runs: [...runs.values()], diagnostics, protectedFromDestroy: [...new Set(protectedFromDestroy)], summary };
}

/**
 * Renders diagnostics the way a person wants to read them in a failed test:
 * `error: <summary> [at <address>] (<file>:<line>) [in <test file>/<run>]` then the detail, indented.
 */
export function formatDiagnostics(diagnostics: readonly TerraformDiagnostic[]): string {
  if (diagnostics.length === 0) return "(no diagnostics)";
  return diagnostics
    .map((d) => {
      const where = [
        d.address ? `at ${d.address}` : "",
        d.file ? `(${d.file}${d.line ? `:${d.line}` : ""})` : "",
        d.testFile ? `in ${d.testFile}${d.testRun ? `/${d.testRun}` : ""}${d.phase === "teardown" ? " (teardown)" : ""}` : "",
      ]
        .filter(Boolean)
        .join(" ");
      const detail = d.detail ? `\n    ${d.detail.trim().split("\n").join("\n    ")}` : "";
      return `${d.severity}: ${d.summary}${where ? ` ${where}` : ""}${detail}`;
    })
    .join("\n");
}

/** The test runs that did not pass, with the diagnostics of each, readably; empty string when all passed. */
export function describeTestFailures(report: TestReport): string {
  const failed = report.runs.filter((r) => r.status !== "pass");
  const lines = failed.map((r) => {
    const related = report.diagnostics.filter((d) => d.testFile === r.file && d.testRun === r.run && d.phase !== "teardown");
    return `${r.file} run "${r.run}": ${r.status}\n${formatDiagnostics(related)}`;
  });
  const unexpected = report.diagnostics.filter(
    (d) => d.severity === "error" && !(d.phase === "teardown" && d.summary === "Instance cannot be destroyed") && !d.testRun,
  );
  if (unexpected.length > 0) lines.push(formatDiagnostics(unexpected));
  return lines.join("\n\n");
}

interface RawDiagnostic {
  severity: "error" | "warning";
  summary: string;
  detail?: string;
  address?: string;
  range?: { filename: string; start: { line: number } };
}

interface TestEvent {
  type: string;
  "@testfile"?: string;
  "@testrun"?: string;
  test_file?: { path: string; progress: string; status?: string };
  test_run?: { path: string; run: string; progress: string; status?: TestRunResult["status"] };
  diagnostic?: RawDiagnostic;
  test_summary?: TestReport["summary"];
}

function toDiagnostic(raw: RawDiagnostic, extra: Partial<TerraformDiagnostic> = {}): TerraformDiagnostic {
  return {
    severity: raw.severity,
    summary: raw.summary,
    detail: raw.detail ?? "",
    address: raw.address ?? undefined,
    file: raw.range?.filename,
    line: raw.range?.start.line,
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  };
}

/** True when `root` holds hashicorp/aws `version` for this platform, unpacked or packed (zip). */
function mirrorHoldsProvider(root: string, version: string): boolean {
  const platform = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;
  const base = join(root, "registry.terraform.io", "hashicorp", "aws");
  return existsSync(join(base, version, platform)) || existsSync(join(base, `terraform-provider-aws_${version}_${platform}.zip`));
}

function cliConfig(mirror: string | undefined): string {
  if (!mirror) return "# No provider mirror: providers are installed from their registries.\n";
  return [
    "provider_installation {",
    "  filesystem_mirror {",
    `    path    = ${JSON.stringify(mirror)}`,
    '    include = ["registry.terraform.io/hashicorp/*"]',
    "  }",
    "  direct {",
    '    exclude = ["registry.terraform.io/hashicorp/*"]',
    "  }",
    "}",
    "",
  ].join("\n");
}

