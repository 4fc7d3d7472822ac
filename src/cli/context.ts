/**
 * What every `gti` command works with: where it writes (stdout for results, stderr for progress and errors), the
 * environment variables, the clock, AWS clients, the validated env config and the deployed stack's outputs. Tests run
 * commands in-process with their own {@link CliIo}.
 */
import { envsDir, loadEnvironments } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import { AwsClients } from "./aws";
import { CliError } from "./errors";
import { type OutputsSource, type StackOutputs, readOutputs } from "./outputs";

/** A place to write to (process.stdout, or a test buffer). */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True for a terminal: progress bars are drawn only there. */
  readonly isTTY?: boolean;
}

/** The process around a command. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Environment variables (AWS_*, GTI_*, TERRAFORM_BIN, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** The clock. @default () => new Date() */
  readonly now?: () => Date;
  /** Waits (follow polling, command polling). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Aborted on Ctrl-C: long-running commands (logs --follow) stop cleanly. */
  readonly signal?: AbortSignal;
  /** A person at a terminal can answer prompts (terraform's apply confirmation). @default false */
  readonly interactive?: boolean;
}

/** The environment used when none is given. */
export const DEFAULT_ENV = "training";

export class Context {
  public readonly clients: AwsClients;
  private environments?: Promise<EnvironmentConfig[]>;

  public constructor(public readonly io: CliIo) {
    this.clients = new AwsClients(io.env);
  }

  public now(): Date {
    return this.io.now ? this.io.now() : new Date();
  }

  public sleep(ms: number): Promise<void> {
    if (this.io.sleep) return this.io.sleep(ms);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.io.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** True once Ctrl-C was pressed. */
  public get aborted(): boolean {
    return this.io.signal?.aborted ?? false;
  }

  /** Writes a line of results to stdout. */
  public out(text: string): void {
    this.io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Writes a line of progress or advice to stderr. */
  public info(text: string): void {
    this.io.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Every environment of `envs/` (validated; a bad config fails with its own message). */
  public allEnvironments(): Promise<EnvironmentConfig[]> {
    this.environments ??= loadEnvironments(envsDir(this.io.env));
    return this.environments;
  }

  /** The environment named `name`; an unknown name fails listing the known ones. */
  public async environment(name: string): Promise<EnvironmentConfig> {
    const all = await this.allEnvironments();
    const found = all.find((env) => env.name === name);
    if (!found) {
      throw new CliError(
        `Unknown environment "${name}".`,
        `use one of: ${all.map((env) => env.name).join(", ")} (one per file in envs/), or add envs/${name}.ts`,
      );
    }
    return found;
  }

  /** The deployed stack's outputs. */
  public outputs(config: EnvironmentConfig, source: OutputsSource): Promise<StackOutputs> {
    return readOutputs(config, source, this.clients, this.io.env);
  }
}
