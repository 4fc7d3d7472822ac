/** Helpers for the config tests in __tests__/config/. */
import { ConfigError } from "../../../src/errors";

/** Runs `fn`, expecting a ConfigError, and returns it. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  }
  throw new Error("expected a ConfigError, but the configuration was accepted");
}
