/**
 * `gti logs [env] [--run ID] [--follow]`: a run's log from CloudWatch Logs, the streams the CloudWatch agent writes
 * for each instance of the run (`<instance id>/training` by default, `setup` and `runtime` on request) in the env's
 * log group. `--follow` polls like `tail -f` until Ctrl-C, or until the run ends (SUCCESS or FAILURE marker).
 */
import { DescribeLogStreamsCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { Command, Option } from "commander";
import { LOG_STREAM_SUFFIXES, type LogStreamSuffix, logGroupName } from "../../../modules/training-compute/contract";
import { runPrefix } from "../../../modules/training-storage/layout";
import type { EnvironmentConfig } from "../../config/schema";
import { type OutputsOptions, positiveNumber, wholeNumber, withEnvArgument, withJson, withOutputs } from "../command-kit";
import type { Context } from "../context";
import { CliError, UsageError, aws, awsErrorCode } from "../errors";
import { findNodes } from "../instances";
import type { Bind } from "../main";
import { OUTPUT, type StackOutputs } from "../outputs";
import { checkRunId, getRun, listRuns, withDetails } from "../run-store";

interface LogsOptions extends OutputsOptions {
  readonly run?: string;
  readonly follow?: boolean;
  readonly stream: LogStreamSuffix | "all";
  readonly lines: number;
  readonly pollSeconds: number;
}

export function logsCommand(bind: Bind): Command {
  const command = new Command("logs").description("print a run's training log from CloudWatch Logs; --follow to keep printing");
  withEnvArgument(command);
  command
    .option("--run <id>", "the run (default: the run of the running instance, else the newest run)")
    .option("-f, --follow", "keep printing new lines until Ctrl-C or the end of the run")
    .addOption(new Option("--stream <name>", "which log: the training container's, bootstrap, runtime, or all").choices([...LOG_STREAM_SUFFIXES, "all"]).default("training"))
    .option("-n, --lines <n>", "print the last N lines first (0: the whole log)", wholeNumber(0), 200)
    .addOption(new Option("--poll-seconds <s>", "seconds between polls with --follow").argParser(positiveNumber).default(2).hideHelp());
  withOutputs(withJson(command));
  return command.action(bind(logs));
}

interface Stream {
  readonly name: string;
  token?: string;
}

async function logs(ctx: Context, envName: string, options: LogsOptions): Promise<number> {
  const config = await ctx.environment(envName);
  const outputs = await ctx.outputs(config, options.outputs);
  const bucket = outputs.require(OUTPUT.outputsBucket);
  const group = logGroupName(config.name);
  const runId = options.run ? checkRunId(options.run) : await defaultRun(ctx, config, outputs, bucket);
  const suffixes = options.stream === "all" ? [...LOG_STREAM_SUFFIXES] : [options.stream];

  let streams = await streamsOf(ctx, config, bucket, group, runId, suffixes);
  if (streams.length === 0 && !options.follow) {
    throw new CliError(
      `No ${options.stream === "all" ? "" : `${options.stream} `}log stream of run ${runId} in the log group ${group}.`,
      `the run has not started logging yet, or its streams expired (safety.logRetentionDays = ${config.safety.logRetentionDays}); ` +
        `the runtime's copy is in s3://${bucket}/${runPrefix(runId)}logs/ (gti pull ${runId} --logs), or use --follow to wait`,
    );
  }
  const prefixLines = streams.length > 1 || options.stream === "all";
  const logsClient = ctx.clients.get("logs", config.region);
  const print = (stream: string, timestamp: number | undefined, message: string): void => {
    if (options.json) ctx.out(JSON.stringify({ timestamp: timestamp === undefined ? null : new Date(timestamp).toISOString(), stream, message }));
    else ctx.out(prefixLines ? `[${stream}] ${message}` : message);
  };

  // The tail: the last N events of each stream, merged by time.
  const tail: { stream: Stream; timestamp: number; message: string }[] = [];
  for (const stream of streams) {
    const events = await readEvents(ctx, config, group, stream, options.lines);
    tail.push(...events.map((e) => ({ stream, timestamp: e.timestamp ?? 0, message: e.message ?? "" })));
  }
  tail.sort((a, b) => a.timestamp - b.timestamp);
  for (const event of options.lines > 0 ? tail.slice(-options.lines) : tail) print(event.stream.name, event.timestamp, event.message.replace(/\n$/, ""));
  if (!options.follow) return 0;

  if (streams.length === 0) ctx.info(`Waiting for run ${runId} to start logging to ${group}...`);
  let polls = 0;
  while (!ctx.aborted) {
    await ctx.sleep(options.pollSeconds * 1000);
    if (ctx.aborted) break;
    polls++;
    if (polls % 5 === 0 || streams.length === 0) {
      // New instances (a spot replacement resuming the run, fleet nodes) bring new streams.
      const known = new Set(streams.map((s) => s.name));
      for (const stream of await streamsOf(ctx, config, bucket, group, runId, suffixes)) if (!known.has(stream.name)) streams = [...streams, stream];
    }
    let printed = 0;
    for (const stream of streams) {
      const response = await aws({ doing: `reading ${group} ${stream.name}`, permission: "logs:GetLogEvents" }, () =>
        logsClient.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream.name, nextToken: stream.token, startFromHead: true })),
      );
      stream.token = response.nextForwardToken ?? stream.token;
      for (const event of response.events ?? []) {
        print(stream.name, event.timestamp, (event.message ?? "").replace(/\n$/, ""));
        printed++;
      }
    }
    if (printed === 0) {
      const ended = await endMarker(ctx, config, bucket, runId);
      if (ended) {
        ctx.info(`Run ${runId} ended: ${ended}.`);
        return 0;
      }
    }
  }
  return 0;
}

/** The last `limit` events of a stream (all of them for 0), and its forward token set for following. */
async function readEvents(ctx: Context, config: EnvironmentConfig, group: string, stream: Stream, limit: number) {
  const client = ctx.clients.get("logs", config.region);
  const action = { doing: `reading ${group} ${stream.name}`, permission: "logs:GetLogEvents" };
  if (limit > 0) {
    const response = await aws(action, () => client.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream.name, limit, startFromHead: false })));
    stream.token = response.nextForwardToken;
    return response.events ?? [];
  }
  const events = [];
  let token: string | undefined;
  for (;;) {
    const response = await aws(action, () => client.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream.name, nextToken: token, startFromHead: true })));
    events.push(...(response.events ?? []));
    if (!response.nextForwardToken || response.nextForwardToken === token || (response.events ?? []).length === 0) {
      stream.token = response.nextForwardToken ?? token;
      return events;
    }
    token = response.nextForwardToken;
  }
}

/** The run to show: the running instances' run, else the stack's `run_id`, else the newest run of the bucket. */
async function defaultRun(ctx: Context, config: EnvironmentConfig, outputs: StackOutputs, bucket: string): Promise<string> {
  const running = await findNodes(ctx, config, ["pending", "running"]);
  const ids = [...new Set(running.map((n) => n.runId).filter((id): id is string => Boolean(id)))];
  if (ids.length > 1) throw new UsageError(`Several runs are active: ${ids.join(", ")}.`, "pick one with --run ID");
  if (ids[0]) return ids[0];
  const fromStack = outputs.get(OUTPUT.runId);
  if (fromStack) return fromStack;
  const newest = (await listRuns(ctx, config.region, bucket))[0];
  if (!newest) {
    throw new CliError(`No run yet in s3://${bucket}/runs/ and no instance running.`, `start one: npx cdktf deploy ${config.name} --var create_instance=true`);
  }
  return newest.id;
}

/** The run's instances (tagged with it, or named by its S3 logs and marker), then their existing streams. */
async function streamsOf(
  ctx: Context,
  config: EnvironmentConfig,
  bucket: string,
  group: string,
  runId: string,
  suffixes: readonly LogStreamSuffix[],
): Promise<Stream[]> {
  const instanceIds = new Set((await findNodes(ctx, config, ["pending", "running", "stopping", "stopped"])).filter((n) => n.runId === runId).map((n) => n.id));
  try {
    const details = await withDetails(ctx, config.region, bucket, await getRun(ctx, config.region, bucket, runId));
    details.instanceIds.forEach((id) => instanceIds.add(id));
  } catch (error) {
    if (!(error instanceof CliError) || !error.message.startsWith("No run")) throw error;
  }
  const client = ctx.clients.get("logs", config.region);
  const streams: Stream[] = [];
  for (const id of instanceIds) {
    let names: string[] = [];
    try {
      const response = await client.send(new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: `${id}/` }));
      names = (response.logStreams ?? []).map((s) => s.logStreamName ?? "");
    } catch (error) {
      if (awsErrorCode(error) === "ResourceNotFoundException") {
        throw new CliError(`The log group ${group} does not exist.`, `deploy the stack (npx cdktf deploy ${config.name}); it creates the group`);
      }
      await aws({ doing: `listing the log streams of ${group}`, permission: "logs:DescribeLogStreams" }, () => Promise.reject(error));
    }
    for (const suffix of suffixes) if (names.includes(`${id}/${suffix}`)) streams.push({ name: `${id}/${suffix}` });
  }
  return streams;
}

/** SUCCESS or FAILURE when the run has ended, else undefined. */
async function endMarker(ctx: Context, config: EnvironmentConfig, bucket: string, runId: string): Promise<string | undefined> {
  const response = await aws({ doing: `checking the markers of run ${runId}`, permission: "s3:ListBucket on the outputs bucket" }, () =>
    ctx.clients.get("s3", config.region).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: runPrefix(runId), Delimiter: "/" })),
  );
  const keys = new Set((response.Contents ?? []).map((o) => o.Key));
  return ["SUCCESS", "FAILURE"].find((marker) => keys.has(`${runPrefix(runId)}${marker}`));
}
