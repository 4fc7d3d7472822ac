/**
 * Runs once before all test files: finds terraform and the AWS provider (never assuming they exist), hands the
 * result to the test workers, and at the end prints one line saying whether the real-terraform checks ran.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node" with { "resolution-mode": "import" };
import { type TerraformDetection, detectTerraform, probeProviderInstall } from "./terraform";
import { type SharedProvider, mirroredProviderBinary, startSharedProvider } from "./terraform-provider-server";
import { summarize, writeSummary } from "./terraform-report";

export default async function setup(project: TestProject): Promise<() => void> {
  const workDir = mkdtempSync(join(tmpdir(), "gti-tests-"));
  let detection = detectTerraform(process.env, workDir);
  if (detection.available && !detection.toolchain.mirror) {
    detection = await probeProviderInstall(detection.toolchain);
  }
  const shared = await shareProvider(detection);
  if (shared.provider) detection = shared.detection;
  project.provide("terraform", detection);
  project.provide("terraformReportDir", workDir);
  console.log(
    detection.available
      ? `Terraform checks will run: ${detection.toolchain.description}`
      : `Terraform checks will be SKIPPED: ${detection.reason}`,
  );
  return async () => {
    await shared.provider?.stop();
    const line = summarize(detection, workDir);
    writeSummary(line);
    console.log(`\n${line}\n`);
    rmSync(workDir, { recursive: true, force: true });
  };
}

/**
 * Starts the one AWS provider process every mocked `terraform test` of this run reattaches to
 * (terraform-provider-server.ts), when the mirror holds the provider unpacked. Without it, or when it fails to start
 * (said on the console), terraform starts its own provider processes, as it always can.
 */
async function shareProvider(detection: TerraformDetection): Promise<{ detection: TerraformDetection; provider?: SharedProvider }> {
  if (!detection.available) return { detection };
  const { toolchain } = detection;
  const binary = mirroredProviderBinary(toolchain.mirror, toolchain.awsProviderVersion);
  if (!binary) return { detection };
  try {
    const provider = await startSharedProvider(binary);
    const description = `${toolchain.description}, one shared provider process for the mocked runs`;
    return { detection: { available: true, toolchain: { ...toolchain, reattachProviders: provider.reattach, description } }, provider };
  } catch (error) {
    console.log(`Terraform checks: the shared provider process did not start, each terraform test starts its own: ${(error as Error).message}`);
    return { detection };
  }
}
