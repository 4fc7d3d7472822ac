/** `terraform test -json`, run and parsed into a report, and its diagnostics rendered readably for failed tests. */
import { runTerraform, type TerraformToolchain } from "./terraform-run";

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

/**
 * Environment of a mocked `terraform test`: the shared provider process when there is one, and a Go garbage collector
 * that runs at 4x the heap instead of 2x (`GOGC=400`): terraform holds the AWS provider's whole schema, and at the
 * default it spent about a quarter of its CPU collecting (measured on the training stack: 5.2 s -> 4.0 s of CPU,
 * peak 226 -> 432 MB).
 */
function testEnv(toolchain: TerraformToolchain): Record<string, string> {
  const env: Record<string, string> = { GOGC: "400" };
  if (toolchain.reattachProviders) env.TF_REATTACH_PROVIDERS = toolchain.reattachProviders;
  return env;
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
  const result = await runTerraform(toolchain, dir, args, undefined, testEnv(toolchain));
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
