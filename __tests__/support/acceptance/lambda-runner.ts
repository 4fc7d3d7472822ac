/**
 * Runs a Lambda function of a synthesized stack the way Lambda would, against the local AWS API: the zip that
 * `terraform apply` uploads (the stack's asset, named by `aws_lambda_function.<name>.filename`), unpacked, its handler
 * (`index.handler`) loaded by a fresh Node process whose environment is the function's variables from the
 * synthesized JSON plus what Lambda adds (region, credentials) and the emulator's endpoint (`AWS_ENDPOINT_URL`, read
 * by the AWS SDK bundled in the function). Nothing of the parent process leaks in.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import type { SynthesizedStack } from "../synth";
import { type AwsEmulator, EMULATOR_CREDENTIALS } from "../aws-emulator";

/** A function of a synthesized stack, unpacked. */
export interface DeployedFunction {
  /** Directory holding the unpacked zip. */
  readonly dir: string;
  /** `index.handler` -> `index.js`. */
  readonly file: string;
  /** `index.handler` -> `handler`. */
  readonly exportName: string;
  /** The function's environment variables as synthesized (values may be Terraform references, e.g. `${...arn}`). */
  readonly environment: Readonly<Record<string, string>>;
  /** Removes the unpacked code. */
  cleanup(): void;
}

/** One invocation's outcome. */
export interface Invocation<T> {
  /** What the handler resolved with (undefined when it rejected). */
  readonly result: T | undefined;
  /** The rejection's message, when it rejected. */
  readonly error?: string;
  /** The function's log lines (stdout and stderr), parsed as JSON where they are JSON. */
  readonly logs: readonly unknown[];
}

/** Unpacks `aws_lambda_function.<name>` of a synthesized stack from the stack directory's assets. */
export function deployedFunction(stackDir: string, json: SynthesizedStack, name: string): DeployedFunction {
  const fn = json.resource?.aws_lambda_function?.[name] as
    | { filename: string; handler: string; environment?: { variables?: Record<string, string> } }
    | undefined;
  if (!fn) throw new Error(`the stack has no aws_lambda_function.${name}`);
  const [module, exportName] = fn.handler.split(".");
  if (!module || !exportName) throw new Error(`unexpected handler ${fn.handler}`);
  const dir = mkdtempSync(join(tmpdir(), `gti-lambda-${name}-`));
  for (const [entry, data] of Object.entries(unzipSync(readFileSync(join(stackDir, fn.filename))))) {
    if (entry.includes("/") || entry.includes("..")) throw new Error(`unexpected entry ${entry} in ${fn.filename}`);
    writeFileSync(join(dir, entry), data);
  }
  return {
    dir,
    file: join(dir, `${module}.js`),
    exportName,
    environment: fn.environment?.variables ?? {},
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Invokes the function once in a new Node process (a cold start) with `environment` (the function's variables, with
 * Terraform references replaced by their values) and `event`.
 */
export function invoke<T>(
  fn: DeployedFunction,
  emulator: AwsEmulator,
  environment: Readonly<Record<string, string>>,
  event: unknown,
): Promise<Invocation<T>> {
  const unresolved = Object.entries(environment).filter(([, value]) => value.includes("${"));
  if (unresolved.length) throw new Error(`unresolved Terraform references in the environment: ${unresolved.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const resultFile = join(fn.dir, `result-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  const script = [
    "const fs = require('node:fs');",
    `const fn = require(${JSON.stringify(fn.file)})[${JSON.stringify(fn.exportName)}];`,
    `Promise.resolve(fn(${JSON.stringify(event)}, { awsRequestId: 'acceptance-' + process.pid }))`,
    `  .then((result) => fs.writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify({ result })))`,
    `  .catch((error) => fs.writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify({ error: String(error && error.stack || error) })));`,
  ].join("\n");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ...environment,
    ...EMULATOR_CREDENTIALS,
    AWS_REGION: emulator.env.AWS_REGION ?? "us-east-1",
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    // The SDK warns that its releases from 2027 need Node >= 22: true of Lambda's nodejs22.x, noise here on Node 20.
    NODE_NO_WARNINGS: "1",
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["-e", script], { env, cwd: fn.dir, encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      let outcome: { result?: T; error?: string };
      try {
        outcome = JSON.parse(readFileSync(resultFile, "utf8")) as { result?: T; error?: string };
      } catch {
        reject(new Error(`the function did not finish (${error?.message ?? "no result"}):\n${stderr}\n${stdout}`));
        return;
      }
      const logs = `${stdout}\n${stderr}`
        .split("\n")
        .filter((line) => line.trim())
        .map((line) => {
          try {
            return JSON.parse(line) as unknown;
          } catch {
            return line;
          }
        });
      resolve({ result: outcome.result, ...(outcome.error ? { error: outcome.error } : {}), logs });
    });
  });
}
