/**
 * `gti`, the operator's command line: doctor, status, runs, logs, pull, stop, cost. Built on commander; this file
 * wires the commands and turns every outcome into an exit code: 0 done, 1 failure (one message and its fix), 2 usage
 * error. A stack trace is printed only for a bug, and only with `GTI_DEBUG=1`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { GtiError } from "../errors";
import { costCommand } from "./commands/cost";
import { doctorCommand } from "./commands/doctor";
import { logsCommand } from "./commands/logs";
import { pullCommand } from "./commands/pull";
import { runsCommand } from "./commands/runs";
import { statusCommand } from "./commands/status";
import { stopCommand } from "./commands/stop";
import { type CliIo, Context } from "./context";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "./errors";
import { PROJECT_ROOT } from "./outputs";

/** A command's implementation: receives the context and commander's action arguments, returns the exit code. */
export type Action = (ctx: Context, ...args: never[]) => Promise<number>;

/** Wraps an implementation as a commander action that records its exit code. */
export type Bind = (action: Action) => (...args: unknown[]) => Promise<void>;

const COMMANDS = [doctorCommand, statusCommand, runsCommand, logsCommand, pullCommand, stopCommand, costCommand];

/** Builds the program; `bind` connects actions to a context. */
export function buildProgram(io: CliIo, bind: Bind): Command {
  const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;
  const program = new Command("gti")
    .description("The operator's command line of gpu-training-infra: check, watch, fetch, stop and cost training runs.")
    .version(version)
    .showHelpAfterError("(run gti <command> --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      "after",
      "\nEvery command takes the environment name (default: training) and --json. Exit codes: 0 ok, 1 failure, 2 usage error." +
        "\nReference: docs/cli.md",
    );
  for (const create of COMMANDS) {
    const command = create(bind);
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }
  return program;
}

/**
 * Runs `gti` with `argv` (the arguments after `gti`) and returns the exit code. Never throws, never exits the
 * process: `bin/gti.cjs` does that.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new Context(io);
  let exitCode = 0;
  const bind: Bind = (action) => async (...args) => {
    exitCode = await (action as (ctx: Context, ...rest: unknown[]) => Promise<number>)(ctx, ...args);
  };
  const wantsJson = argv.includes("--json");
  try {
    await buildProgram(io, bind).parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    return report(error, io, wantsJson);
  } finally {
    ctx.clients.destroy();
  }
}

function report(error: unknown, io: CliIo, json: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    // commander already printed its message (unknown option, missing argument, bad value, no command).
    return EXIT_USAGE;
  }
  if (error instanceof CliError || error instanceof GtiError) {
    const fix = error instanceof CliError ? error.fix : undefined;
    const code = error instanceof CliError ? error.exitCode : EXIT_FAILURE;
    if (json) io.stderr.write(`${JSON.stringify({ error: error.message, ...(fix ? { fix } : {}) })}\n`);
    else io.stderr.write(`Error: ${error.message}\n${fix ? `Fix: ${fix}\n` : ""}`);
    return code;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(
    `Error: unexpected failure: ${message}\nFix: this is a bug in gti; run again with GTI_DEBUG=1 and report the output.\n`,
  );
  if (io.env.GTI_DEBUG === "1" && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return EXIT_FAILURE;
}
