/**
 * One AWS provider process for every mocked `terraform test` of a test run.
 *
 * Terraform starts a provider process for every graph walk: about two per `terraform test` run block (validate, then
 * plan or apply) and more at teardown, each time a 700 MB Go binary that builds its whole schema in memory before it
 * answers. Under `mock_provider "aws"` nothing is configured in that process (the mock answers plan and apply); it only
 * serves the schema and the resource validations. So the test run starts the provider once, in the provider SDK's
 * debug mode (`-debug`: it listens on a socket and prints the `TF_REATTACH_PROVIDERS` value that points terraform at
 * it), and every mocked `terraform test` reattaches to it instead of starting its own. Same binary, same schema, same
 * validations (docs/performance.md has the measurement); `terraform init` and the acceptance tier, whose provider is
 * configured against a local AWS API, never reattach.
 *
 * The process cannot outlive the test run: it is started under a shell that waits on a pipe from this process and
 * kills the provider when the pipe closes, which happens on {@link SharedProvider.stop} and when this process dies in
 * any way.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** A running provider that terraform can reattach to. */
export interface SharedProvider {
  /** The value of `TF_REATTACH_PROVIDERS` for terraform. */
  readonly reattach: string;
  /** The provider's process id. */
  readonly pid: number;
  /** Stops the provider (and its watchdog shell); resolves when the shell has exited. */
  stop(): Promise<void>;
}

/** This machine's provider platform as terraform names it (`linux_amd64`): a mirror's directory level. */
export const PROVIDER_PLATFORM = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;

/** How long the provider may take to print its reattach line (it builds its schema first: ~1 s on an idle machine). */
const START_TIMEOUT_MS = 60_000;

/**
 * The provider binary of hashicorp/aws `version` for this platform in an unpacked filesystem mirror, or undefined
 * when the mirror does not hold it unpacked (a packed `.zip` mirror or a network install: terraform then starts its
 * own provider processes, as it would without this module).
 */
export function mirroredProviderBinary(mirror: string | undefined, version: string): string | undefined {
  if (!mirror) return undefined;
  const binary = join(mirror, "registry.terraform.io", "hashicorp", "aws", version, PROVIDER_PLATFORM, `terraform-provider-aws_v${version}_x5`);
  return existsSync(binary) ? binary : undefined;
}

/**
 * Starts `binary -debug` under a watchdog shell and waits for its reattach line.
 *
 * @throws with the provider's output when it exits or stays silent for {@link START_TIMEOUT_MS}
 */
export function startSharedProvider(binary: string, timeoutMs = START_TIMEOUT_MS): Promise<SharedProvider> {
  // The shell starts the provider in the background and waits for it; a reader blocks on the shell's stdin (a pipe
  // from this process, passed as fd 3: a background list's own stdin is /dev/null) and kills the provider at EOF, which
  // comes from stop() or from this process being gone. The shell exits with the provider's code.
  const watchdog = [
    'exec 3<&0; "$0" -debug </dev/null & provider=$!',
    'echo "pid $provider"',
    '{ read -r _ignored <&3; kill "$provider" 2>/dev/null; } & reader=$!',
    'wait "$provider"; code=$?',
    'kill "$reader" 2>/dev/null',
    'exit "$code"',
  ].join("\n");
  // GOGC=400: the provider holds its whole schema and answers every stack's schema request; collecting at 4x the live
  // heap instead of 2x took its CPU over the four stacks' runs from 5.5 s to 4.4 s.
  const shell = spawn("/bin/sh", ["-c", watchdog, binary], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, TF_LOG: "", GOGC: "400" } });
  let output = "";
  let pid = 0;
  const exited = new Promise<void>((resolve) => shell.once("exit", () => resolve()));

  return new Promise<SharedProvider>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      shell.stdin.end();
      reject(new Error(`the AWS provider (${binary} -debug) ${why}; its output:\n${output.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`printed no TF_REATTACH_PROVIDERS line within ${timeoutMs / 1000} s`), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      pid ||= Number(/^pid (\d+)$/m.exec(output)?.[1] ?? 0);
      const reattach = /TF_REATTACH_PROVIDERS='([^']+)'/.exec(output)?.[1];
      if (!reattach || !pid) return;
      clearTimeout(timer);
      shell.stdout.off("data", onData);
      shell.stdout.resume(); // keep draining: the provider logs to stdout
      shell.stderr.resume();
      resolve({
        reattach,
        pid,
        stop: async () => {
          shell.stdin.end();
          await exited;
        },
      });
    };
    shell.stdout.on("data", onData);
    shell.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    shell.once("exit", (code) => fail(`exited (code ${code}) before it could be reattached`));
    shell.stdin.on("error", () => undefined); // the shell may be gone already when stop() closes the pipe
  });
}
