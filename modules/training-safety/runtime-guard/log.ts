/**
 * Structured logs: one JSON object per line on stdout, `{"level":"info","message":"...", ...fields}`.
 *
 * Written with `process.stdout.write`, not `console.log`, so each line reaches CloudWatch as-is (no Lambda text
 * prefix) and can be queried with Logs Insights (`filter level = "error"`). CloudWatch timestamps each line, so no
 * time field is added. Only what the guard decides on is logged (instance ids, types, uptimes, limits, actions, AWS
 * error names and messages): never the environment, the event's raw payload, tags other than the limit tag, or
 * request/credential details.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra fields of a log line (must be JSON-serializable). */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. the request id). */
  child(fields: LogFields): Logger;
}

/** Where log lines go: one JSON string per call, without the newline. */
export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** A JSON-lines logger writing to `sink` (stdout by default). Fields cannot override `level` or `message`. */
export function createLogger(sink: LogSink = stdoutSink, base: LogFields = {}): Logger {
  const write = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    let line: string;
    try {
      line = JSON.stringify({ ...base, ...fields, level, message });
    } catch {
      line = JSON.stringify({ level, message, logError: "fields were not serializable" });
    }
    sink(line);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    child: (fields) => createLogger(sink, { ...base, ...fields }),
  };
}

/** An error as `{ name, message }` (AWS SDK errors carry the AWS error code as `name`). Nothing else is kept. */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
}

/** Extracts name and message from anything thrown, shortening very long messages (e.g. encoded IAM denials). */
export function errorInfo(error: unknown, maxLength = 1000): ErrorInfo {
  const name = error instanceof Error || (typeof error === "object" && error !== null && "name" in error)
    ? String((error as { name: unknown }).name)
    : "Error";
  const raw = error instanceof Error ? error.message : typeof error === "object" && error !== null && "message" in error
    ? String((error as { message: unknown }).message)
    : String(error);
  const message = raw.length > maxLength ? `${raw.slice(0, maxLength - 3)}...` : raw;
  return { name, message };
}
