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
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MINIMUM_TERRAFORM_VERSION,
  boundAwsProviderVersion,
  findTerraformBinary,
  isSupportedTerraformVersion,
  probeAwsProvider,
  readTerraformVersion,
} from "../../src/terraform-binary";
import { PROVIDER_PLATFORM } from "./terraform-provider-server";
import type { TerraformToolchain } from "./terraform-run";

// The entry point of the harness: what moved out stays importable from here.
export { runTerraform, type TerraformResult, type TerraformToolchain, terraformInit } from "./terraform-run";
export {
  describeTestFailures,
  formatDiagnostics,
  type TerraformDiagnostic,
  type TerraformTestOptions,
  terraformTest,
  type TestReport,
  type TestRunResult,
} from "./terraform-test-json";

/** Oldest terraform the synthesized JSON accepts (`use_lockfile` needs 1.10; `mock_provider` needs 1.7). */
export { MINIMUM_TERRAFORM_VERSION };

/** Default location of the offline provider mirror on this project's machines. */
export const DEFAULT_PROVIDER_MIRROR = "/opt/tf-plugins";

/** The hashicorp/aws version `@cdktf/provider-aws` was generated from (and pins in `required_providers`). */
export { boundAwsProviderVersion };

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

/** True when `root` holds hashicorp/aws `version` for this platform, unpacked or packed (zip). */
function mirrorHoldsProvider(root: string, version: string): boolean {
  const base = join(root, "registry.terraform.io", "hashicorp", "aws");
  return existsSync(join(base, version, PROVIDER_PLATFORM)) || existsSync(join(base, `terraform-provider-aws_${version}_${PROVIDER_PLATFORM}.zip`));
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
