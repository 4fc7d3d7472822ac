/**
 * Records which real-terraform checks ran, so the suite can end with one line saying whether they ran (and `.ci/run`
 * can repeat it). Test workers append JSON lines to a file in a directory the global setup provides.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TerraformDetection } from "./terraform";

declare module "vitest" {
  export interface ProvidedContext {
    /** What the global setup found: a usable terraform toolchain, or why not. */
    terraform: TerraformDetection;
    /** Directory where workers record the terraform checks they ran. */
    terraformReportDir: string;
  }
}

/** Where the last summary line is written (read by `.ci/run`). */
export const SUMMARY_FILE = join(__dirname, "..", "..", "node_modules", ".cache", "gpu-training-infra", "terraform-checks.txt");

/** `terraform test` (it validates the configuration first: no separate `terraform validate` runs). */
export type CheckKind = "test";

export interface CheckRecord {
  readonly stack: string;
  readonly check: CheckKind;
  readonly ok: boolean;
}

/** Appends one check to the report (called by the terraform tests). */
export function recordCheck(reportDir: string, record: CheckRecord): void {
  appendFileSync(join(reportDir, "checks.jsonl"), `${JSON.stringify(record)}\n`);
}

/** The one-line summary of a run, from the detection and what the workers recorded. */
export function summarize(detection: TerraformDetection, reportDir: string): string {
  if (!detection.available) return `Terraform checks: SKIPPED - ${detection.reason}`;
  const file = join(reportDir, "checks.jsonl");
  const records: CheckRecord[] = existsSync(file)
    ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as CheckRecord)
    : [];
  if (records.length === 0) {
    return `Terraform checks: NOT RUN - terraform is available (${detection.toolchain.description}) but no terraform test ran in this selection`;
  }
  const part = (check: CheckKind, label: string): string => {
    const of = records.filter((r) => r.check === check);
    const failed = of.filter((r) => !r.ok).map((r) => r.stack);
    const stacks = [...new Set(of.map((r) => r.stack))].sort().join(", ");
    return `${label} ${of.length - failed.length}/${of.length} stacks passed${failed.length ? ` (FAILED: ${failed.join(", ")})` : ""}${stacks ? ` [${stacks}]` : ""}`;
  };
  return `Terraform checks: RAN - ${part("test", "terraform test")}; using ${detection.toolchain.description}`;
}

/** Writes the summary where `.ci/run` finds it. */
export function writeSummary(line: string): void {
  mkdirSync(dirname(SUMMARY_FILE), { recursive: true });
  writeFileSync(SUMMARY_FILE, `${line}\n`);
}
