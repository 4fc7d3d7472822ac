/**
 * How the app ends on an error: one readable message, never a stack trace (`GTI_DEBUG=1` or `--debug` adds them).
 *
 * - A {@link GtiError} (bad configuration, a rule broken on purpose) prints its message alone and exits 1.
 * - Anything else is a bug of this project: one line saying so, where it was thrown, and how to get the trace.
 * - Under the cdktf CLI (`cdktf synth`/`deploy`), which prints whatever the app writes to stderr twice (live as
 *   `[ERROR] default - ...`, then in its closing report) and stdout twice when the app exits non-zero, the message
 *   goes to stdout (printed once, live), the manifest of this run is removed, and the app exits 0: the CLI then stops
 *   with its own one-line "app was expected to call 'synth()'" error and exit code 1, having deployed nothing.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ConfigIssuesError, GtiError } from "./errors";

/** The environment variable that adds stack traces to error output (like `--debug`). */
export const DEBUG_VARIABLE = "GTI_DEBUG";

/** Prints the error the way this project promises (see the file header) and ends the process. */
export function exitOnError(error: unknown, env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): void {
  const debug = env[DEBUG_VARIABLE] === "1" || argv.includes("--debug");
  const underCli = env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS === "true";
  let text = error instanceof GtiError ? error.message : internalErrorMessage(error);
  if (debug) text += `\n\n${debugDetails(error)}`;
  else if (!(error instanceof GtiError)) text += `\nRun again with ${DEBUG_VARIABLE}=1 (or --debug) for the stack trace, and report it.`;

  let code = 1;
  if (underCli && env.CDKTF_OUTDIR) {
    try {
      rmSync(join(env.CDKTF_OUTDIR, "manifest.json"), { force: true });
      code = 0;
    } catch {
      code = 1;
    }
  }
  const out = underCli ? process.stdout : process.stderr;
  out.write(`\n${text}\n\n`, () => process.exit(code));
}

/** Kept for scripts written against the earlier name. */
export const exitOnUserError = exitOnError;

/** One line for a bug: what was thrown and where (the first frame), no trace. */
function internalErrorMessage(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  const frame = error instanceof Error ? /\((\/[^)]+:\d+:\d+)\)|at (\/[^\s]+:\d+:\d+)/.exec(error.stack ?? "") : null;
  const where = frame ? ` (thrown at ${frame[1] ?? frame[2]})` : "";
  return `Internal error, a bug of gpu-training-infra: ${name}: ${message}${where}`;
}

/** Stack traces: the error's, and for configuration problems the one each problem came from (a throw, a syntax error). */
function debugDetails(error: unknown): string {
  const parts: string[] = [];
  if (error instanceof ConfigIssuesError) {
    for (const issue of error.issues) {
      if (issue.cause instanceof Error) parts.push(`${issue.file}: ${issue.cause.stack ?? issue.cause.message}`);
    }
  }
  parts.push(error instanceof Error ? (error.stack ?? String(error)) : String(error));
  return `Debug (${DEBUG_VARIABLE}=1):\n${parts.join("\n\n")}`;
}
