/**
 * `gti runs [env]`: the runs of the outputs bucket, newest first: id, status, start, duration, progress (step / total
 * with a bar), loss and trend, ETA, newest checkpoint, size.
 */
import { Command } from "commander";
import { type OutputsOptions, wholeNumber, withEnvArgument, withJson, withOutputs } from "../command-kit";
import type { Context } from "../context";
import { bytes, duration, json, table, utc } from "../format";
import type { Bind } from "../main";
import { OUTPUT } from "../outputs";
import { etaText, lossText, progressCell, progressJson } from "../progress";
import { type RunDetails, listRuns, withDetails } from "../run-store";

interface RunsOptions extends OutputsOptions {
  readonly limit: number;
}

export function runsCommand(bind: Bind): Command {
  const command = new Command("runs").description("list the training runs in the outputs bucket, newest first, with their progress");
  withEnvArgument(command);
  command.option("--limit <n>", "show at most N runs", wholeNumber(1), 20);
  withOutputs(withJson(command));
  return command.action(bind(runs));
}

async function runs(ctx: Context, envName: string, options: RunsOptions): Promise<number> {
  const config = await ctx.environment(envName);
  const outputs = await ctx.outputs(config, options.outputs);
  const bucket = outputs.require(OUTPUT.outputsBucket);
  const all = await listRuns(ctx, config.region, bucket);
  const shown = await Promise.all(all.slice(0, options.limit).map((run) => withDetails(ctx, config.region, bucket, run)));
  const now = ctx.now();
  if (options.json) {
    ctx.out(json({ env: config.name, bucket, total: all.length, runs: shown.map((run) => runJson(run, now)) }));
    return 0;
  }
  if (all.length === 0) {
    ctx.out(`No runs yet in s3://${bucket}/runs/.`);
    ctx.info(`Start one: npx cdktf deploy ${config.name} --var create_instance=true`);
    return 0;
  }
  ctx.out(
    table(
      ["RUN", "STATUS", "STARTED", "DURATION", "PROGRESS", "LOSS", "ETA", "NEWEST CHECKPOINT", "SIZE"],
      shown.map((run) => [
        run.id,
        run.status,
        utc(run.startedAt),
        duration((run.endedAt ?? (run.status === "RUNNING" ? now : run.lastWrite)).getTime() - run.startedAt.getTime()),
        progressCell(run.progress),
        lossText(run.progress),
        etaText(run.progress, now, run.status === "RUNNING"),
        run.latest?.checkpoint ?? "-",
        bytes(run.bytes),
      ]),
    ),
  );
  if (all.length > shown.length) ctx.info(`(${all.length - shown.length} older runs not shown: --limit ${all.length})`);
  return 0;
}

/** A run as `--json` prints it (also used by `gti status`). */
export function runJson(run: RunDetails, now: Date): Record<string, unknown> {
  const end = run.endedAt ?? (run.status === "RUNNING" ? now : run.lastWrite);
  return {
    id: run.id,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    endedAt: run.endedAt?.toISOString() ?? null,
    durationSeconds: Math.round((end.getTime() - run.startedAt.getTime()) / 1000),
    newestCheckpoint: run.latest?.checkpoint ?? null,
    checkpointSyncedAt: run.latest?.synced_at ?? null,
    bytes: run.bytes,
    objects: run.objects.length,
    reason: run.marker?.reason ?? null,
    exitCode: run.marker?.exit_code ?? null,
    progress: progressJson(run.progress, now, run.status === "RUNNING"),
  };
}
