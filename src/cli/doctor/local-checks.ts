/** `gti doctor` checks that need no AWS account: terraform, the AWS provider, placeholder values in the env config. */
import { existsSync, readFileSync } from "node:fs";
import { type PlaceholderSubject, findPlaceholders } from "../../config/placeholders";
import {
  MINIMUM_TERRAFORM_VERSION,
  boundAwsProviderVersion,
  findTerraformBinary,
  isSupportedTerraformVersion,
  probeAwsProvider,
  readTerraformVersion,
} from "../../terraform-binary";
import { type Check, fail, pass, skip } from "./check";

/** terraform on PATH (or TERRAFORM_BIN) and at least the version the stacks require. Returns its path when usable. */
export function terraformCheck(env: NodeJS.ProcessEnv): { check: Check; binary?: string } {
  const name = "terraform";
  const install = `install terraform >= ${MINIMUM_TERRAFORM_VERSION} (developer.hashicorp.com/terraform/install), or set TERRAFORM_BIN to its path`;
  const binary = findTerraformBinary(env);
  if (!binary.path) return { check: fail(name, `terraform not found: ${binary.searched}`, install) };
  const version = readTerraformVersion(binary.path, env);
  if ("error" in version) return { check: fail(name, version.error, install) };
  if (!isSupportedTerraformVersion(version.version)) {
    return { check: fail(name, `terraform ${version.version} at ${binary.path} is older than ${MINIMUM_TERRAFORM_VERSION} (S3 native state locking)`, install) };
  }
  return { check: pass(name, `terraform ${version.version} at ${binary.path} (>= ${MINIMUM_TERRAFORM_VERSION} required)`), binary: binary.path };
}

/** terraform can install the hashicorp/aws version the stacks pin, from the registry or the configured mirror. */
export async function providerCheck(binary: string | undefined, env: NodeJS.ProcessEnv): Promise<Check> {
  const name = "aws provider";
  const version = boundAwsProviderVersion();
  if (!binary) return skip(name, `hashicorp/aws ${version} not checked: terraform is missing`, "fix the terraform check first");
  const where = installSource(env);
  const probe = await probeAwsProvider(binary, version, env);
  if (probe.ok) return pass(name, `hashicorp/aws ${version} installs ${where}`);
  return fail(
    name,
    `hashicorp/aws ${version} cannot be installed ${where}: ${probe.error}`,
    "allow HTTPS to registry.terraform.io and releases.hashicorp.com, or configure a provider mirror in a terraform CLI config (TF_CLI_CONFIG_FILE or ~/.terraformrc: provider_installation { filesystem_mirror { ... } }, see developer.hashicorp.com/terraform/cli/config/config-file#provider-installation)",
  );
}

/** Values of the repository's examples still in the env's configuration. */
export function placeholdersCheck(env: PlaceholderSubject): Check {
  const found = findPlaceholders([env]);
  if (found.length === 0) return pass("placeholders", "no example value left in the configuration");
  return fail(
    "placeholders",
    `${found.length} example value${found.length === 1 ? "" : "s"} still in the configuration: ` + found.map((p) => `${p.file} ${p.field} = "${p.value}"`).join("; "),
    found.map((p) => `${p.field}: ${p.fix}`).join("; "),
  );
}

/** Where terraform installs providers from, per its CLI configuration. */
function installSource(env: NodeJS.ProcessEnv): string {
  const file = env.TF_CLI_CONFIG_FILE || (env.HOME ? `${env.HOME}/.terraformrc` : "");
  if (file && existsSync(file)) {
    const text = readFileSync(file, "utf8");
    const mirror = /(filesystem_mirror|network_mirror)\s*\{[^}]*?(path|url)\s*=\s*"([^"]+)"/s.exec(text);
    if (mirror) return `from the ${mirror[1].replace("_", " ")} ${mirror[3]} (${file})`;
  }
  return "from registry.terraform.io";
}
