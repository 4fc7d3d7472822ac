/**
 * `gti stop [env]`: stops the running training gracefully with the runtime's own `training-stop`, run on each
 * instance through SSM Run Command (AWS-RunShellScript): the container gets SIGTERM, the final checkpoint is synced and
 * the INTERRUPTED marker written (the run can resume). The instance stays up; the command says how to release it, or
 * does it with `--release` by running terraform in the synthesized stack folder (`create_instance=false`, and
 * `desired_instances=0` for a fleet).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { Command, Option } from "commander";
import { RUNTIME_INSTALL_DIR } from "../../../modules/training-compute/user-data";
import type { EnvironmentConfig } from "../../config/schema";
import { findTerraformBinary, quietTerraformEnv } from "../../terraform-binary";
import { FLEET_VARIABLE_NAMES, VARIABLE_NAMES } from "../../variable-rules";
import { type OutputsOptions, positiveNumber, wholeNumber, withEnvArgument, withJson, withOutputs } from "../command-kit";
import type { Context } from "../context";
import { CliError, UsageError, aws, awsErrorCode } from "../errors";
import { json } from "../format";
import { findNodes } from "../instances";
import type { Bind } from "../main";
import { stackDir } from "../outputs";

/** The runtime's graceful stop, as installed on every instance. */
export const TRAINING_STOP = `${RUNTIME_INSTALL_DIR}/bin/training-stop`;
/** Statuses of an SSM command invocation that are final. */
const FINAL = new Set(["Success", "Failed", "Cancelled", "TimedOut", "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied", "DeliveryTimedOut", "ExecutionTimedOut"]);

interface StopOptions extends OutputsOptions {
  readonly run?: string;
  readonly release?: boolean;
  readonly yes?: boolean;
  readonly waitSeconds: number;
  readonly pollSeconds: number;
}

export function stopCommand(bind: Bind): Command {
  const command = new Command("stop").description(
    "stop the running training gracefully (final checkpoint, INTERRUPTED marker) with the runtime's training-stop over SSM; --release also removes the instance",
  );
  withEnvArgument(command);
  command
    .option("--run <id>", "only the instances training this run")
    .option("--release", "then release the instance(s): terraform apply -var create_instance=false (fleet: desired_instances=0) in cdktf.out/stacks/<env>")
    .option("-y, --yes", "with --release: apply without asking (needed when not in a terminal)")
    .option("--wait-seconds <n>", "how long to wait for training-stop on the instances", wholeNumber(10), 360)
    .addOption(new Option("--poll-seconds <s>", "seconds between status polls").argParser(positiveNumber).default(3).hideHelp());
  withOutputs(withJson(command));
  return command.action(bind(stop));
}

interface Outcome {
  readonly instanceId: string;
  readonly status: string;
  readonly output: string;
}

async function stop(ctx: Context, envName: string, options: StopOptions): Promise<number> {
  const config = await ctx.environment(envName);
  if (options.release && !options.yes && !ctx.io.interactive) {
    throw new UsageError("--release asks for confirmation, and this is not a terminal.", "add --yes to apply without asking");
  }
  const nodes = (await findNodes(ctx, config, ["running"])).filter((n) => !options.run || n.runId === options.run);
  if (nodes.length === 0 && !options.release) {
    throw new CliError(
      `No running instance of "${config.name}"${options.run ? ` trains run ${options.run}` : ""} in ${config.region}.`,
      `check with \`gti status ${config.name}\`; nothing to stop`,
    );
  }
  const outcomes = nodes.length > 0 ? await runTrainingStop(ctx, config, nodes.map((n) => n.id), options) : [];
  const failed = outcomes.filter((o) => o.status !== "Success");
  const release = releaseVariables(config);
  if (options.json && !options.release) {
    ctx.out(json({ env: config.name, stopped: outcomes, release: `npx cdktf deploy ${config.name} ${release.map((v) => `--var ${v}`).join(" ")}` }));
    return failed.length > 0 ? 1 : 0;
  }
  for (const outcome of outcomes) {
    ctx.out(`${outcome.instanceId}: ${outcome.status}`);
    if (outcome.output.trim()) ctx.out(outcome.output.trim().split("\n").map((l) => `  ${l}`).join("\n"));
  }
  if (failed.length > 0) {
    throw new CliError(
      `training-stop did not succeed on ${failed.map((f) => `${f.instanceId} (${f.status})`).join(", ")}.`,
      "read its output above; the instance keeps running: open a shell with the ssm_command output (aws ssm start-session) and run sudo training-stop, or release it",
    );
  }
  if (!options.release) {
    ctx.out(
      `\nThe instance${nodes.length > 1 ? "s stay" : " stays"} up (and billed). Release: npx cdktf deploy ${config.name} ${release.map((v) => `--var ${v}`).join(" ")}` +
        ` (or gti stop ${config.name} --release). Resume later: the same run id continues from its last checkpoint.`,
    );
    return 0;
  }
  return releaseWithTerraform(ctx, config, release, options);
}

async function runTrainingStop(ctx: Context, config: EnvironmentConfig, instanceIds: string[], options: StopOptions): Promise<Outcome[]> {
  const ssm = ctx.clients.get("ssm", config.region);
  const sent = await aws({ doing: `sending training-stop to ${instanceIds.join(", ")} (SSM Run Command)`, permission: "ssm:SendCommand on AWS-RunShellScript and the instances" }, () =>
    ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: instanceIds,
        Comment: `gti stop ${config.name}`,
        Parameters: { commands: [TRAINING_STOP], executionTimeout: [String(options.waitSeconds)] },
        TimeoutSeconds: Math.max(30, options.waitSeconds),
      }),
    ),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new CliError("SSM accepted the command but returned no command id.", "retry; check the command in the Systems Manager console (Run Command)");
  ctx.info(`Sent ${TRAINING_STOP} to ${instanceIds.join(", ")} (SSM command ${commandId}); waiting for the final checkpoint and marker...`);
  const deadline = ctx.now().getTime() + options.waitSeconds * 1000;
  const outcomes = new Map<string, Outcome>();
  while (outcomes.size < instanceIds.length) {
    for (const id of instanceIds.filter((i) => !outcomes.has(i))) {
      try {
        const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
        const status = invocation.Status ?? "Pending";
        if (FINAL.has(status)) outcomes.set(id, { instanceId: id, status, output: `${invocation.StandardOutputContent ?? ""}${invocation.StandardErrorContent ?? ""}` });
      } catch (error) {
        if (awsErrorCode(error) !== "InvocationDoesNotExist") {
          await aws({ doing: `reading the result of SSM command ${commandId}`, permission: "ssm:GetCommandInvocation" }, () => Promise.reject(error));
        }
      }
    }
    if (outcomes.size === instanceIds.length) break;
    if (ctx.now().getTime() > deadline || ctx.aborted) {
      for (const id of instanceIds.filter((i) => !outcomes.has(i))) outcomes.set(id, { instanceId: id, status: "NoAnswer", output: "" });
      break;
    }
    await ctx.sleep(options.pollSeconds * 1000);
  }
  return instanceIds.map((id) => outcomes.get(id)!);
}

/** `create_instance=false`, and `desired_instances=0` for an env with a fleet. */
function releaseVariables(config: EnvironmentConfig): string[] {
  return [`${VARIABLE_NAMES.createInstance}=false`, ...(config.fleet.enabled ? [`${FLEET_VARIABLE_NAMES.desiredInstances}=0`] : [])];
}

async function releaseWithTerraform(ctx: Context, config: EnvironmentConfig, variables: string[], options: StopOptions): Promise<number> {
  const dir = stackDir(config.name, ctx.io.env);
  if (!existsSync(join(dir, "cdk.tf.json"))) {
    throw new CliError(`No synthesized stack at ${dir}.`, `run \`npx cdktf synth\` first, or release with \`npx cdktf deploy ${config.name} ${variables.map((v) => `--var ${v}`).join(" ")}\``);
  }
  const binary = findTerraformBinary(ctx.io.env);
  if (!binary.path) throw new CliError(`terraform not found: ${binary.searched}.`, `install terraform >= 1.10, or release with npx cdktf deploy ${config.name} ${variables.map((v) => `--var ${v}`).join(" ")}`);
  ctx.info(`Releasing with terraform in ${dir} (the synthesized stack: run npx cdktf synth first if envs/ changed)...`);
  if (!existsSync(join(dir, ".terraform"))) await runTerraform(ctx, binary.path, dir, ["init", "-input=false"]);
  const args = ["apply", "-input=false", ...variables.flatMap((v) => ["-var", v]), ...(options.yes ? ["-auto-approve"] : [])];
  await runTerraform(ctx, binary.path, dir, args);
  if (options.json) ctx.out(json({ env: config.name, released: true, variables }));
  else ctx.out(`Released: terraform ${args.join(" ")} succeeded.`);
  return 0;
}

function runTerraform(ctx: Context, binary: string, dir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      cwd: dir,
      env: { ...quietTerraformEnv(ctx.io.env), TF_INPUT: ctx.io.interactive ? "1" : "0" },
      stdio: ctx.io.interactive ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => ctx.io.stderr.write(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => ctx.io.stderr.write(chunk.toString()));
    child.on("error", (error) => reject(new CliError(`terraform could not start: ${error.message}.`, "check TERRAFORM_BIN / PATH")));
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(new CliError(`terraform ${args[0]} failed in ${dir} (exit ${code}).`, "read terraform's message above; fix it, then run gti stop --release again")),
    );
  });
}
