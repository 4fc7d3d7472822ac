/**
 * Runs once before all test files: finds terraform and the AWS provider (never assuming they exist), hands the
 * result to the test workers, and at the end prints one line saying whether the real-terraform checks ran.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node" with { "resolution-mode": "import" };
import { detectTerraform, probeProviderInstall } from "./terraform";
import { summarize, writeSummary } from "./terraform-report";

export default async function setup(project: TestProject): Promise<() => void> {
  const workDir = mkdtempSync(join(tmpdir(), "gti-tests-"));
  let detection = detectTerraform(process.env, workDir);
  if (detection.available && !detection.toolchain.mirror) {
    detection = await probeProviderInstall(detection.toolchain);
  }
  project.provide("terraform", detection);
  project.provide("terraformReportDir", workDir);
  console.log(
    detection.available
      ? `Terraform checks will run: ${detection.toolchain.description}`
      : `Terraform checks will be SKIPPED: ${detection.reason}`,
  );
  return () => {
    const line = summarize(detection, workDir);
    writeSummary(line);
    console.log(`\n${line}\n`);
    rmSync(workDir, { recursive: true, force: true });
  };
}
