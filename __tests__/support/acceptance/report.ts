/**
 * Records which acceptance scenarios ran, how long each took and whether it passed, so the acceptance run ends with
 * one line saying whether it ran (and why not), which `.ci/run` repeats. Test workers append JSON lines to a file in
 * a directory the acceptance global setup provides.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TerraformDetection } from "../terraform";
import type { EmulatorDetection } from "../aws-emulator";

declare module "vitest" {
  export interface ProvidedContext {
    /** What the acceptance global setup found: moto server with python3, or why not. */
    awsEmulator: EmulatorDetection;
    /** Directory where workers record the acceptance scenarios they ran. */
    acceptanceReportDir: string;
  }
}

/** Where the last acceptance summary line is written (read by `.ci/run`). */
export const ACCEPTANCE_SUMMARY_FILE = join(__dirname, "..", "..", "..", "node_modules", ".cache", "gpu-training-infra", "acceptance.txt");

/** One scenario's outcome. */
export interface ScenarioRecord {
  /** Short name, e.g. `1 bootstrap`. */
  readonly scenario: string;
  readonly ok: boolean;
  /** Wall time in seconds. */
  readonly seconds: number;
}

/** Appends one scenario to the report (called by the acceptance tests). */
export function recordScenario(reportDir: string, record: ScenarioRecord): void {
  appendFileSync(join(reportDir, "scenarios.jsonl"), `${JSON.stringify(record)}\n`);
}

/**
 * Runs one scenario, timing it and recording whether it passed (a thrown assertion is recorded as failed and
 * rethrown). Returns what the scenario returned.
 */
export async function timedScenario<T>(reportDir: string, scenario: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    recordScenario(reportDir, { scenario, ok, seconds });
    console.log(`acceptance scenario "${scenario}": ${ok ? "passed" : "FAILED"} in ${seconds} s`);
  }
}

/**
 * The one-line summary of a run, from what was detected and what the workers recorded. Every scenario needs the
 * emulator; all but the guard Lambda's also need terraform, so without terraform the line says PARTIAL and why.
 */
export function summarizeAcceptance(terraform: TerraformDetection, emulator: EmulatorDetection, reportDir: string, wallSeconds: number): string {
  if (!emulator.available) {
    const missing = [emulator, terraform].flatMap((d) => (d.available ? [] : [d.reason]));
    return `Acceptance tests: SKIPPED - ${missing.join("; ")}`;
  }
  const file = join(reportDir, "scenarios.jsonl");
  const records: ScenarioRecord[] = existsSync(file)
    ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as ScenarioRecord)
    : [];
  const using = `moto ${emulator.version} (scripts/local-aws.py)${terraform.available ? `, ${terraform.toolchain.description}` : ""}`;
  const skipped = terraform.available ? "" : `; the Terraform and cdktf scenarios SKIPPED - ${terraform.reason}`;
  if (records.length === 0) return `Acceptance tests: NOT RUN - no scenario ran in this selection${skipped}; using ${using}`;
  const failed = records.filter((r) => !r.ok);
  const each = [...records]
    .sort((a, b) => a.scenario.localeCompare(b.scenario, "en", { numeric: true }))
    .map((r) => `${r.scenario} ${r.ok ? "" : "FAILED "}${Math.round(r.seconds)} s`)
    .join(", ");
  return (
    `Acceptance tests: ${terraform.available ? "RAN" : "PARTIAL"} - ${records.length - failed.length}/${records.length} scenarios passed` +
    `${failed.length ? ` (FAILED: ${failed.map((r) => r.scenario).join(", ")})` : ""} in ${Math.round(wallSeconds)} s [${each}]${skipped}; using ${using}`
  );
}

/** Writes the summary where `.ci/run` finds it. */
export function writeAcceptanceSummary(line: string): void {
  mkdirSync(dirname(ACCEPTANCE_SUMMARY_FILE), { recursive: true });
  writeFileSync(ACCEPTANCE_SUMMARY_FILE, `${line}\n`);
}
