/** `terraform console` on a synthesized stack, for proving variable validations cheaply (no provider, no plan). */
import { spawnSync } from "node:child_process";
import { TerraformStack } from "cdktf";
import { type SynthesizedApp, synthesizeToDisk } from "./synth";
import { type TerraformToolchain, runTerraform } from "./terraform";

/** A one-stack app on disk, `terraform init`ed: `dir` is the stack's directory. Call `app.cleanup()` when done. */
export interface InitializedStack {
  readonly app: SynthesizedApp;
  readonly dir: string;
}

/**
 * Synthesizes a stack named `name` holding what `build` adds (variables, a resource or two, test outputs) and runs
 * `terraform init` on it for real. Without a provider in the stack there is nothing to install, so this takes well
 * under a second. `initArgs` adds e.g. `-backend=false` (`terraform test` needs no backend; `console` needs one).
 */
export async function initializedStack(
  toolchain: TerraformToolchain,
  name: string,
  build: (stack: TerraformStack) => void,
  initArgs: readonly string[] = [],
): Promise<InitializedStack> {
  const app = synthesizeToDisk((a) => build(new TerraformStack(a, name)));
  const dir = app.stackDir(name);
  const init = await runTerraform(toolchain, dir, ["init", ...initArgs, "-input=false", "-no-color"]);
  if (init.code !== 0) {
    app.cleanup();
    throw new Error(`terraform init failed:\n${init.stderr || init.stdout}`);
  }
  return { app, dir };
}

/** What `terraform console` printed, colours and box drawing removed, whitespace collapsed. */
export interface ConsoleResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Evaluates `expression` in `dir` with `-var` values. A failed validation is reported on stderr (`Error: Invalid value
 * for variable` and its message) while console still exits 0: read the message, not the status.
 */
export function consoleWith(
  toolchain: TerraformToolchain,
  dir: string,
  vars: Readonly<Record<string, string | number>>,
  expression = "1",
): ConsoleResult {
  const args = ["console", ...Object.entries(vars).flatMap(([name, value]) => ["-var", `${name}=${value}`])];
  const result = spawnSync(toolchain.binary, args, {
    cwd: dir,
    input: `${expression}\n`,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, TF_CLI_CONFIG_FILE: toolchain.cliConfigFile, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", NO_COLOR: "1" },
  });
  // eslint-disable-next-line no-control-regex
  const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").replace(/│ ?/g, "").replace(/\s+/g, " ");
  return { status: result.status, stdout: plain(result.stdout ?? ""), stderr: plain(result.stderr ?? "") };
}
