/**
 * Runs once before the acceptance tests (`npm run test:acceptance`): finds terraform with the AWS provider and the
 * local AWS API (moto server), never assuming either exists, hands the result to the test workers, and at the end
 * prints one line saying whether the acceptance scenarios ran (and why not), written where `.ci/run` reads it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node" with { "resolution-mode": "import" };
import { detectTerraform, probeProviderInstall } from "../terraform";
import { detectEmulator } from "../aws-emulator";
import "../terraform-report";
import { summarizeAcceptance, writeAcceptanceSummary } from "./report";

export default async function setup(project: TestProject): Promise<() => void> {
  const started = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), "gti-acceptance-"));
  let terraform = detectTerraform(process.env, workDir);
  if (terraform.available && !terraform.toolchain.mirror) terraform = await probeProviderInstall(terraform.toolchain);
  const emulator = detectEmulator();
  project.provide("terraform", terraform);
  project.provide("awsEmulator", emulator);
  project.provide("acceptanceReportDir", workDir);
  if (!emulator.available) console.log(`Acceptance tests will be SKIPPED: ${emulator.reason}`);
  else if (!terraform.available) console.log(`Only the guard Lambda's acceptance test will run (moto ${emulator.version}); the others SKIPPED: ${terraform.reason}`);
  else console.log(`Acceptance tests will run: moto ${emulator.version}, ${terraform.toolchain.description}`);
  return () => {
    const line = summarizeAcceptance(terraform, emulator, workDir, (Date.now() - started) / 1000);
    writeAcceptanceSummary(line);
    console.log(`\n${line}\n`);
    rmSync(workDir, { recursive: true, force: true });
  };
}
