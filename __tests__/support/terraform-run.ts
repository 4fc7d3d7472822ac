/** The terraform toolchain the harness found, and running terraform with it (offline, never prompting). */
import { execFile } from "node:child_process";
import { quietTerraformEnv as quietEnv } from "../../src/terraform-binary";

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
  /**
   * `TF_REATTACH_PROVIDERS` of the run's one shared AWS provider process (terraform-provider-server.ts), for mocked
   * `terraform test` runs only; undefined where terraform starts its own provider processes.
   */
  readonly reattachProviders?: string;
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
