/**
 * `gti status [env]`: the env's instance or fleet nodes (id, type, spot/on-demand, state, uptime, the guard's
 * deadline, cost so far), the run each trains with its marker (or RUNNING), its training progress (step / total, a
 * progress bar, loss and trend, ETA, or the stall: `progress.json`) and newest complete checkpoint, and the GPU
 * utilisation of the last 30 minutes as a sparkline (CloudWatch, the agent's per-instance maximum).
 */
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { Command } from "commander";
import { GPU_UTILIZATION_METRIC, metricsNamespace } from "../../../modules/training-compute/contract";
import type { EnvironmentConfig } from "../../config/schema";
import { type OutputsOptions, withEnvArgument, withJson, withOutputs } from "../command-kit";
import type { Context } from "../context";
import { aws } from "../errors";
import { ago, duration, json, sparkline, table, usd, utc } from "../format";
import { type TrainingNode, findNodes } from "../instances";
import type { Bind } from "../main";
import { OUTPUT } from "../outputs";
import { progressLines } from "../progress";
import { nodeHourlyRate } from "../pricing/estimate";
import { type RunDetails, getRun, listRuns, withDetails } from "../run-store";
import { runJson } from "./runs";

/** Minutes of GPU utilisation shown. */
export const GPU_WINDOW_MINUTES = 30;

export function statusCommand(bind: Bind): Command {
  const command = new Command("status").description("show the instance or fleet nodes, their run, its progress, newest checkpoint, GPU use, deadline and cost so far");
  withEnvArgument(command);
  withOutputs(withJson(command));
  return command.action(bind(status));
}

interface NodeStatus {
  readonly node: TrainingNode;
  readonly uptimeMs: number;
  readonly deadline: Date | undefined;
  readonly costSoFar: number | undefined;
  readonly gpu: readonly (number | undefined)[];
}

async function status(ctx: Context, envName: string, options: OutputsOptions): Promise<number> {
  const config = await ctx.environment(envName);
  const outputs = await ctx.outputs(config, options.outputs);
  const bucket = outputs.require(OUTPUT.outputsBucket);
  const now = ctx.now();
  const nodes = await findNodes(ctx, config);
  const running = nodes.filter((n) => n.state === "running");
  const gpu = await gpuUtilisation(ctx, config, running.map((n) => n.id), now);
  const statuses: NodeStatus[] = nodes.map((node) => {
    const uptimeMs = node.state === "running" || node.state === "pending" ? Math.max(0, now.getTime() - node.launchTime.getTime()) : 0;
    const rate = nodeHourlyRate(config, node.type, node.market);
    return {
      node,
      uptimeMs,
      deadline: node.maxRuntimeHours === undefined ? undefined : new Date(node.launchTime.getTime() + node.maxRuntimeHours * 3_600_000),
      costSoFar: rate === undefined ? undefined : (rate * uptimeMs) / 3_600_000,
      gpu: gpu.get(node.id) ?? [],
    };
  });

  // The runs to show: those the nodes train, else the stack's run id, else the newest run of the bucket.
  const runIds = [...new Set(nodes.map((n) => n.runId).filter((id): id is string => Boolean(id)))];
  const stackRunId = outputs.get(OUTPUT.runId);
  if (runIds.length === 0 && stackRunId) runIds.push(stackRunId);
  let runs: RunDetails[];
  if (runIds.length > 0) {
    runs = await Promise.all(
      runIds.map(async (id) => {
        try {
          return await withDetails(ctx, config.region, bucket, await getRun(ctx, config.region, bucket, id));
        } catch {
          return undefined; // a fresh run has written nothing yet
        }
      }),
    ).then((found) => found.filter((r): r is RunDetails => r !== undefined));
  } else {
    const newest = (await listRuns(ctx, config.region, bucket))[0];
    runs = newest ? [await withDetails(ctx, config.region, bucket, newest)] : [];
  }

  if (options.json) {
    ctx.out(
      json({
        env: config.name,
        region: config.region,
        nodes: statuses.map((s) => ({
          id: s.node.id,
          type: s.node.type,
          market: s.node.market,
          state: s.node.state,
          launchTime: s.node.launchTime.toISOString(),
          uptimeSeconds: Math.round(s.uptimeMs / 1000),
          runId: s.node.runId ?? null,
          group: s.node.group ?? null,
          maxRuntimeHours: s.node.maxRuntimeHours ?? null,
          deadline: s.deadline?.toISOString() ?? null,
          costSoFarUsd: s.costSoFar === undefined ? null : round(s.costSoFar),
          gpuUtilization: s.gpu.map((v) => (v === undefined ? null : v)),
        })),
        pendingRunIds: runIds.filter((id) => !runs.some((r) => r.id === id)),
        runs: runs.map((run) => runJson(run, now)),
        costSoFarUsd: round(statuses.reduce((sum, s) => sum + (s.costSoFar ?? 0), 0)),
      }),
    );
    return 0;
  }

  ctx.out(`Environment "${config.name}" (${config.region}), outputs from ${outputs.source}`);
  if (nodes.length === 0) {
    ctx.out("\nNo instance is running.");
    ctx.info(
      `Start one: npx cdktf deploy ${config.name} --var create_instance=true` +
        (config.fleet.enabled ? ` (fleet: --var desired_instances=N, at most ${config.fleet.maxInstances})` : ""),
    );
  } else {
    ctx.out("");
    ctx.out(
      table(
        ["INSTANCE", "TYPE", "MARKET", "STATE", "UPTIME", "RUN", "DEADLINE (MaxRuntimeHours)", "COST SO FAR"],
        statuses.map((s) => [
          s.node.id + (s.node.group ? " (fleet)" : ""),
          s.node.type,
          s.node.market,
          s.node.state,
          s.uptimeMs > 0 ? duration(s.uptimeMs) : "-",
          s.node.runId ?? "-",
          s.deadline ? `${utc(s.deadline)} (${s.node.maxRuntimeHours} h)` : "no limit tag",
          s.costSoFar === undefined ? "n/a" : `~${usd(s.costSoFar)}`,
        ]),
      ),
    );
    ctx.out("");
    for (const s of statuses.filter((x) => x.node.state === "running")) {
      const values = s.gpu;
      const last = [...values].reverse().find((v) => v !== undefined);
      ctx.out(
        `GPU ${s.node.id}, last ${GPU_WINDOW_MINUTES} min: [${sparkline(values)}] ` +
          (last === undefined ? "no data yet (the CloudWatch agent reports after boot)" : `now ${Math.round(last)}%`),
      );
    }
    const total = statuses.reduce((sum, s) => sum + (s.costSoFar ?? 0), 0);
    ctx.out(`Cost so far: ~${usd(total)} (pinned prices, instance + root volume + IPv4 + metrics; gti cost ${config.name} for details)`);
  }
  for (const id of runIds.filter((rid) => !runs.some((r) => r.id === rid))) {
    ctx.out(`\nRun ${id}: RUNNING, nothing in S3 yet (starting up)`);
  }
  for (const run of runs) {
    ctx.out(`\nRun ${run.id}: ${run.status}${run.marker?.reason ? ` (${run.marker.reason})` : ""}`);
    ctx.out(`  started ${utc(run.startedAt)}${run.endedAt ? `, ended ${utc(run.endedAt)}` : ""}`);
    for (const line of progressLines(run.progress, now, run.status === "RUNNING")) ctx.out(`  ${line}`);
    if (run.latest?.checkpoint) {
      const synced = run.latest.synced_at ? new Date(run.latest.synced_at) : undefined;
      ctx.out(`  newest complete checkpoint: ${run.latest.checkpoint}${synced && !Number.isNaN(synced.getTime()) ? ` (in S3 ${utc(synced)}, ${ago(synced, now)})` : ""}`);
    } else {
      ctx.out("  newest complete checkpoint: none yet");
    }
    ctx.out(`  s3://${bucket}/runs/${run.id}/`);
  }
  return 0;
}

/** Per instance, one value per minute of the last {@link GPU_WINDOW_MINUTES} (undefined: no datapoint). */
async function gpuUtilisation(ctx: Context, config: EnvironmentConfig, ids: readonly string[], now: Date): Promise<Map<string, (number | undefined)[]>> {
  const result = new Map<string, (number | undefined)[]>();
  if (ids.length === 0) return result;
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const start = new Date(end.getTime() - GPU_WINDOW_MINUTES * 60_000);
  const response = await aws({ doing: "reading GPU utilisation from CloudWatch", permission: "cloudwatch:GetMetricData" }, () =>
    ctx.clients.get("cloudWatch", config.region).send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: ids.map((id, index) => ({
          Id: `gpu${index}`,
          MetricStat: {
            Metric: { Namespace: metricsNamespace(config.name), MetricName: GPU_UTILIZATION_METRIC, Dimensions: [{ Name: "InstanceId", Value: id }] },
            Period: 60,
            Stat: "Maximum",
          },
        })),
      }),
    ),
  );
  ids.forEach((id, index) => {
    const series: (number | undefined)[] = new Array<number | undefined>(GPU_WINDOW_MINUTES).fill(undefined);
    const data = response.MetricDataResults?.find((r) => r.Id === `gpu${index}`);
    (data?.Timestamps ?? []).forEach((timestamp, i) => {
      const slot = Math.floor((timestamp.getTime() - start.getTime()) / 60_000);
      const value = data?.Values?.[i];
      if (slot >= 0 && slot < GPU_WINDOW_MINUTES && value !== undefined) series[slot] = Math.max(series[slot] ?? 0, value);
    });
    result.set(id, series);
  });
  return result;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
