/**
 * Training runs as the runtime leaves them in the outputs bucket (modules/training-storage/layout.ts,
 * runtime/lib/common.sh): `runs/<run-id>/` with `checkpoints/` (and its `LATEST.json` pointer to the newest complete
 * checkpoint), `logs/<instance-id>/`, `outputs/`, `progress.json` (the training's progress, when the code reports it),
 * and one SUCCESS, FAILURE or INTERRUPTED marker (a JSON document).
 */
import { GetObjectCommand, paginateListObjectsV2, type _Object } from "@aws-sdk/client-s3";
import {
  CHECKPOINTS_DIR,
  LOGS_DIR,
  PROGRESS_DOCUMENT,
  RUN_ID_PATTERN,
  RUN_MARKERS,
  RUNS_PREFIX,
  type RunMarker,
  runPrefix,
} from "../../modules/training-storage/layout";
import type { Context } from "./context";
import { CliError, UsageError, aws, awsErrorCode } from "./errors";
import type { ProgressDocument } from "./progress";

/** The newest complete checkpoint's pointer (`checkpoints/LATEST.json`, written by `sync_checkpoints`). */
export const LATEST_POINTER = "LATEST.json";

/** A run's state: its marker, or RUNNING while it has none. */
export type RunStatus = RunMarker | "RUNNING";

/** The fields of a marker document `gti` reads (`write_marker` in runtime/lib/common.sh). */
export interface MarkerDocument {
  readonly status?: string;
  readonly reason?: string;
  readonly exit_code?: number | null;
  readonly instance_id?: string;
  readonly instance_type?: string;
  readonly lifecycle?: string;
  readonly started_at?: string;
  readonly ended_at?: string;
  readonly resumed_from?: string;
  readonly failed?: readonly string[];
}

/** `checkpoints/LATEST.json`. */
export interface LatestPointer {
  readonly checkpoint?: string;
  readonly type?: string;
  readonly synced_at?: string;
  readonly instance_id?: string;
}

/** One object of a run. */
export interface RunObject {
  /** Key relative to `runs/<run-id>/`. */
  readonly path: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
}

/** A run, from its objects. */
export interface RunListing {
  readonly id: string;
  readonly objects: readonly RunObject[];
  readonly status: RunStatus;
  /** Oldest object's time: when the run first wrote to S3. */
  readonly firstWrite: Date;
  /** Newest object's time. */
  readonly lastWrite: Date;
  readonly bytes: number;
}

/** A run with its marker and checkpoint pointer read. */
export interface RunDetails extends RunListing {
  readonly marker: MarkerDocument | undefined;
  readonly latest: LatestPointer | undefined;
  /** Start: the marker's attempt start or the first write, whichever is earlier. */
  readonly startedAt: Date;
  /** End: the marker's end (terminal markers), else undefined. */
  readonly endedAt: Date | undefined;
  /** The instances whose logs the run uploaded (`logs/<instance-id>/`), plus the marker's instance. */
  readonly instanceIds: readonly string[];
  /** `progress.json`: step, total, loss, ETA (undefined when the run never reported progress). */
  readonly progress: ProgressDocument | undefined;
}

/** Checks a run id given on the command line (layout.ts's rule). */
export function checkRunId(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId) || runId === "." || runId === "..") {
    throw new UsageError(`Invalid run id "${runId}".`, "run ids are letters, digits, \".\", \"_\" and \"-\" (see `gti runs`)");
  }
  return runId;
}

/** Every object under `prefix` (paginated). */
export async function listObjects(ctx: Context, region: string, bucket: string, prefix: string): Promise<_Object[]> {
  const s3 = ctx.clients.get("s3", region);
  const objects: _Object[] = [];
  await aws({ doing: `listing s3://${bucket}/${prefix}`, permission: "s3:ListBucket on the outputs bucket" }, async () => {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
      objects.push(...(page.Contents ?? []));
    }
  });
  return objects;
}

/** Every run of the bucket, newest first. An empty bucket is an empty list. */
export async function listRuns(ctx: Context, region: string, bucket: string): Promise<RunListing[]> {
  const byRun = new Map<string, RunObject[]>();
  for (const object of await listObjects(ctx, region, bucket, RUNS_PREFIX)) {
    const key = object.Key ?? "";
    const rest = key.slice(RUNS_PREFIX.length);
    const slash = rest.indexOf("/");
    if (slash <= 0) continue;
    const id = rest.slice(0, slash);
    const list = byRun.get(id) ?? [];
    list.push(toRunObject(object, `${RUNS_PREFIX}${id}/`));
    byRun.set(id, list);
  }
  // Newest first: by first write, then by id (run ids carry their UTC start, e.g. run-20261207-120000).
  return [...byRun.entries()]
    .map(([id, objects]) => toListing(id, objects))
    .sort((a, b) => b.firstWrite.getTime() - a.firstWrite.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** One run's listing; fails when the bucket holds nothing for it. */
export async function getRun(ctx: Context, region: string, bucket: string, runId: string): Promise<RunListing> {
  const prefix = runPrefix(checkRunId(runId));
  const objects = (await listObjects(ctx, region, bucket, prefix)).map((o) => toRunObject(o, prefix));
  if (objects.length === 0) {
    throw new CliError(`No run "${runId}" in s3://${bucket}/${RUNS_PREFIX}.`, "list the runs with `gti runs` and pass one of their ids");
  }
  return toListing(runId, objects);
}

/** Reads the run's marker and checkpoint pointer. */
export async function withDetails(ctx: Context, region: string, bucket: string, run: RunListing): Promise<RunDetails> {
  const markerName = run.status === "RUNNING" ? undefined : run.status;
  const [marker, latest, progress] = await Promise.all([
    markerName ? readJson<MarkerDocument>(ctx, region, bucket, `${runPrefix(run.id)}${markerName}`) : Promise.resolve(undefined),
    run.objects.some((o) => o.path === `${CHECKPOINTS_DIR}${LATEST_POINTER}`)
      ? readJson<LatestPointer>(ctx, region, bucket, `${runPrefix(run.id)}${CHECKPOINTS_DIR}${LATEST_POINTER}`)
      : Promise.resolve(undefined),
    run.objects.some((o) => o.path === PROGRESS_DOCUMENT)
      ? readJson<ProgressDocument>(ctx, region, bucket, `${runPrefix(run.id)}${PROGRESS_DOCUMENT}`)
      : Promise.resolve(undefined),
  ]);
  const attempt = validDate(marker?.started_at);
  const startedAt = attempt && attempt < run.firstWrite ? attempt : run.firstWrite;
  const instanceIds = new Set<string>();
  for (const object of run.objects) {
    if (object.path.startsWith(LOGS_DIR)) {
      const id = object.path.slice(LOGS_DIR.length).split("/")[0];
      if (id) instanceIds.add(id);
    }
  }
  if (marker?.instance_id && marker.instance_id !== "unknown") instanceIds.add(marker.instance_id);
  if (latest?.instance_id && latest.instance_id !== "unknown") instanceIds.add(latest.instance_id);
  return {
    ...run,
    marker,
    latest,
    startedAt,
    endedAt: run.status === "SUCCESS" || run.status === "FAILURE" ? (validDate(marker?.ended_at) ?? run.lastWrite) : undefined,
    instanceIds: [...instanceIds],
    progress: progress !== null && typeof progress === "object" ? progress : undefined,
  };
}

/** A small JSON object of the bucket; undefined when it is missing or not JSON. */
async function readJson<T>(ctx: Context, region: string, bucket: string, key: string): Promise<T | undefined> {
  try {
    const object = await ctx.clients.get("s3", region).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await object.Body?.transformToString()) ?? "") as T;
  } catch (error) {
    if (awsErrorCode(error) === "NoSuchKey" || error instanceof SyntaxError) return undefined;
    return aws({ doing: `reading s3://${bucket}/${key}`, permission: "s3:GetObject on the outputs bucket" }, () => Promise.reject(error));
  }
}

function toRunObject(object: _Object, prefix: string): RunObject {
  const key = object.Key ?? "";
  return {
    key,
    path: key.slice(prefix.length),
    size: object.Size ?? 0,
    etag: (object.ETag ?? "").replace(/"/g, ""),
    lastModified: object.LastModified ?? new Date(0),
  };
}

function toListing(id: string, objects: RunObject[]): RunListing {
  const paths = new Set(objects.map((o) => o.path));
  const status: RunStatus = RUN_MARKERS.find((marker) => paths.has(marker)) ?? "RUNNING";
  const times = objects.map((o) => o.lastModified.getTime());
  return {
    id,
    objects,
    status,
    firstWrite: new Date(Math.min(...times)),
    lastWrite: new Date(Math.max(...times)),
    bytes: objects.reduce((sum, o) => sum + o.size, 0),
  };
}

function validDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
