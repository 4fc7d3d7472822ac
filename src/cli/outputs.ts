/**
 * The deployed stack's Terraform outputs, where `gti` finds every name it needs (never guessed): read from the stack's
 * state object in the S3 state bucket (default; the same object `cdktf deploy` writes), or with `terraform output
 * -json` in the synthesized stack folder (`--outputs terraform`). An output about something that does not exist is
 * `""` (never null, see modules/training-compute): treated as absent.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { EnvironmentConfig } from "../config/schema";
import { stateKey } from "../state";
import { findTerraformBinary, firstLine, quietTerraformEnv } from "../terraform-binary";
import type { AwsClients } from "./aws";
import { CliError, awsErrorCode, describeAwsError } from "./errors";

/** The stack outputs `gti` reads (names are the stack's user-facing contract). */
export const OUTPUT = {
  outputsBucket: "outputs_bucket",
  instanceId: "instance_id",
  runId: "run_id",
  alertsTopicArn: "alerts_topic_arn",
  ecrRepositoryUrl: "ecr_repository_url",
  fleetAsgName: "fleet_asg_name",
} as const;

/** Where outputs are read from. */
export type OutputsSource = "state" | "terraform";

/** The project root (where `cdktf.out/` is written). */
export const PROJECT_ROOT = join(__dirname, "..", "..");

/** A stack's outputs, `""` read as absent. */
export class StackOutputs {
  public constructor(
    private readonly values: Readonly<Record<string, unknown>>,
    /** Where they came from, for messages (e.g. `s3://bucket/key`). */
    public readonly source: string,
    private readonly env: string,
  ) {}

  /** The output's value, or undefined when missing or `""`. */
  public get(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  }

  /** The output's value; fails naming the output and the source when it is absent. */
  public require(name: string): string {
    const value = this.get(name);
    if (value === undefined) {
      throw new CliError(
        `The stack "${this.env}" has no output ${name} (${this.source}).`,
        `deploy the current version of the stack (npx cdktf deploy ${this.env}), which creates it`,
      );
    }
    return value;
  }
}

/** Reads the outputs from `source`. */
export function readOutputs(
  config: EnvironmentConfig,
  source: OutputsSource,
  clients: AwsClients,
  env: NodeJS.ProcessEnv,
): Promise<StackOutputs> {
  return source === "terraform" ? readTerraformOutputs(config, env) : readStateOutputs(config, clients);
}

/** The outputs recorded in the env's state object `s3://<state.bucket>/gpu-training-infra/<env>/terraform.tfstate`. */
export async function readStateOutputs(config: EnvironmentConfig, clients: AwsClients): Promise<StackOutputs> {
  const key = stateKey(config.name);
  const where = `s3://${config.state.bucket}/${key}`;
  let body: string;
  try {
    const object = await clients.get("s3", config.state.region).send(new GetObjectCommand({ Bucket: config.state.bucket, Key: key }));
    body = (await object.Body?.transformToString()) ?? "";
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "NoSuchKey") throw notDeployed(config, `no Terraform state at ${where}`);
    if (code === "NoSuchBucket") {
      throw new CliError(
        `The state bucket ${config.state.bucket} (${config.state.region}) does not exist, so nothing is deployed yet.`,
        "create it with `npx cdktf deploy bootstrap`, or correct state.bucket in envs/_shared.ts if it has another name",
      );
    }
    throw describeAwsError(error, { doing: `reading the Terraform state ${where}`, permission: "s3:GetObject on the state bucket" });
  }
  let state: { outputs?: Record<string, { value?: unknown }> };
  try {
    state = JSON.parse(body) as typeof state;
  } catch {
    throw new CliError(`The state object ${where} is not JSON.`, "check the object (it should be Terraform state); restore a previous version from the bucket's versions");
  }
  return fromOutputs(config, state.outputs, where);
}

/** `terraform output -json` in `cdktf.out/stacks/<env>` (initialised by `cdktf deploy`). */
export async function readTerraformOutputs(config: EnvironmentConfig, env: NodeJS.ProcessEnv): Promise<StackOutputs> {
  const dir = stackDir(config.name, env);
  if (!existsSync(join(dir, "cdk.tf.json"))) {
    throw new CliError(
      `No synthesized stack at ${dir}.`,
      `run \`npx cdktf synth\` (or \`npx cdktf deploy ${config.name}\`) first, or read the outputs from the state bucket (--outputs state)`,
    );
  }
  const binary = findTerraformBinary(env);
  if (!binary.path) throw new CliError(`terraform not found: ${binary.searched}.`, "install terraform >= 1.10, or read the outputs from the state bucket (--outputs state)");
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(binary.path!, ["output", "-json", "-no-color"], { cwd: dir, encoding: "utf8", env: quietTerraformEnv(env), timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
  if (result.code !== 0) {
    throw new CliError(
      `terraform output failed in ${dir}: ${firstLine(result.stderr || result.stdout)}`,
      `run \`terraform init\` in ${dir} (cdktf deploy does it), or read the outputs from the state bucket (--outputs state)`,
    );
  }
  let parsed: Record<string, { value?: unknown }>;
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    throw new CliError(`terraform output printed no JSON in ${dir}.`, "run `terraform output -json` there to see why");
  }
  return fromOutputs(config, parsed, `terraform output in ${dir}`);
}

/** The synthesized folder of a stack: `$GTI_STACKS_DIR/<env>`, default `cdktf.out/stacks/<env>` of the project. */
export function stackDir(env: string, vars: NodeJS.ProcessEnv): string {
  return join(vars.GTI_STACKS_DIR || join(PROJECT_ROOT, "cdktf.out", "stacks"), env);
}

function fromOutputs(config: EnvironmentConfig, outputs: Record<string, { value?: unknown }> | undefined, where: string): StackOutputs {
  const values = Object.fromEntries(Object.entries(outputs ?? {}).map(([name, output]) => [name, output?.value]));
  if (Object.keys(values).length === 0) throw notDeployed(config, `the state at ${where} has no outputs (destroyed, or never applied)`);
  return new StackOutputs(values, where, config.name);
}

function notDeployed(config: EnvironmentConfig, why: string): CliError {
  return new CliError(
    `Environment "${config.name}" is not deployed yet: ${why}.`,
    `deploy it: \`npx cdktf deploy ${config.name}\` (run \`gti doctor ${config.name}\` first to check what a deploy needs)`,
  );
}
