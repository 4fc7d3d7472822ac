/**
 * The pieces every `gti` command shares: the env argument (default `training`), `--json`, `--outputs`, and value
 * parsers whose errors commander reports as usage errors (exit code 2).
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_ENV } from "./context";
import type { OutputsSource } from "./outputs";

/** Options every command has. */
export interface CommonOptions {
  readonly json?: boolean;
}

/** Options of the commands that read the deployed stack's outputs. */
export interface OutputsOptions extends CommonOptions {
  readonly outputs: OutputsSource;
}

/** `[env]`, default `training`. */
export function withEnvArgument(command: Command): Command {
  return command.argument("[env]", `environment (a file in envs/)`, DEFAULT_ENV);
}

/** `--json`. */
export function withJson(command: Command): Command {
  return command.option("--json", "print the result as JSON (for scripts)");
}

/** `--outputs <source>`: where the stack outputs are read. */
export function withOutputs(command: Command): Command {
  return command.addOption(
    new Option("--outputs <source>", "where to read the stack outputs: the state object in the S3 state bucket, or `terraform output` in cdktf.out/stacks/<env>")
      .choices(["state", "terraform"])
      .default("state"),
  );
}

/** A whole number >= `min` (commander value parser). */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`must be a whole number >= ${min}.`);
    return Number(value);
  };
}

/** A number > 0, decimals allowed (commander value parser). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError("must be a number > 0.");
  return n;
}

/** A number >= 0, decimals allowed (commander value parser). */
export function nonNegativeNumber(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("must be a number >= 0.");
  return Number(value);
}
