/**
 * How the app ends on an error: a {@link GtiError} (bad configuration, a rule broken on purpose) prints its message
 * alone, no stack trace, and exits 1; anything else is a bug and keeps its stack trace.
 */
import { GtiError } from "./errors";

export function exitOnUserError(error: unknown): never {
  if (error instanceof GtiError) {
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  }
  throw error;
}
