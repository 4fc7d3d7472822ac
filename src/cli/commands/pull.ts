/**
 * `gti pull RUN_ID [dest]`: downloads a run's outputs (and its checkpoints or logs on request) with a progress bar
 * (bytes, rate, ETA). Resumable: a file already complete is skipped, a partial one (`<file>.part`) continues with a
 * ranged GET as long as the object is unchanged (`If-Match` on its ETag). Every file is verified: size, and the ETag
 * (MD5 for single-part uploads, the multipart ETag for the part sizes the AWS CLI uses).
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { SingleBar } from "cli-progress";
import { Command, Option } from "commander";
import { CHECKPOINTS_DIR, LOGS_DIR, OUTPUTS_DIR, RUN_MARKERS } from "../../../modules/training-storage/layout";
import { type OutputsOptions, wholeNumber, withJson, withOutputs } from "../command-kit";
import { type Context, DEFAULT_ENV } from "../context";
import { CliError, awsErrorCode, describeAwsError } from "../errors";
import { bytes, duration, json } from "../format";
import type { Bind } from "../main";
import { OUTPUT } from "../outputs";
import { type RunObject, checkRunId, getRun } from "../run-store";

interface PullOptions extends OutputsOptions {
  readonly env: string;
  readonly checkpoints?: boolean;
  readonly logs?: boolean;
  readonly concurrency: number;
}

/** Part sizes tried when verifying a multipart ETag (the AWS CLI's default 8 MiB first). */
const PART_SIZES_MIB = [8, 16, 5, 32, 64, 100, 128, 256, 512];

export function pullCommand(bind: Bind): Command {
  const command = new Command("pull")
    .description("download a run's outputs (and --checkpoints, --logs): resumable, verified, with progress")
    .argument("<run-id>", "the run (see gti runs)")
    .argument("[dest]", "destination folder (default: ./<run-id>)")
    .option("-e, --env <name>", "environment (a file in envs/)", DEFAULT_ENV)
    .option("--checkpoints", "also download the run's checkpoints")
    .option("--logs", "also download the logs the runtime uploaded")
    .addOption(new Option("--concurrency <n>", "files downloaded at once").argParser(wholeNumber(1)).default(4));
  withOutputs(withJson(command));
  return command.action(bind(pull));
}

interface FileResult {
  readonly path: string;
  readonly size: number;
  readonly action: "downloaded" | "resumed" | "skipped";
  readonly verified: "md5" | "multipart-etag" | "size";
}

async function pull(ctx: Context, runId: string, destArg: string | undefined, options: PullOptions): Promise<number> {
  checkRunId(runId);
  const config = await ctx.environment(options.env);
  const outputs = await ctx.outputs(config, options.outputs);
  const bucket = outputs.require(OUTPUT.outputsBucket);
  const run = await getRun(ctx, config.region, bucket, runId);
  const wanted = run.objects.filter(
    (o) =>
      o.path.startsWith(OUTPUTS_DIR) ||
      (RUN_MARKERS as readonly string[]).includes(o.path) ||
      (options.checkpoints && o.path.startsWith(CHECKPOINTS_DIR)) ||
      (options.logs && o.path.startsWith(LOGS_DIR)),
  );
  if (!wanted.some((o) => o.path.startsWith(OUTPUTS_DIR)) && !options.checkpoints && !options.logs) {
    throw new CliError(
      `Run ${runId} has no outputs in s3://${bucket}/runs/${runId}/outputs/ (status ${run.status}).`,
      run.status === "RUNNING" ? "outputs are uploaded when the run ends: wait for it (gti logs --follow), or pass --checkpoints" : "pass --checkpoints or --logs to fetch what the run left",
    );
  }
  const dest = resolve(destArg ?? runId);
  const total = wanted.reduce((sum, o) => sum + o.size, 0);
  const started = ctx.now().getTime();
  const bar =
    ctx.io.stderr.isTTY && !options.json
      ? new SingleBar({
          stream: ctx.io.stderr as NodeJS.WritableStream,
          format: "{bar} {percentage}% | {done}/{size} | {rate}/s | ETA {eta_formatted} | {file}",
          hideCursor: true,
          etaBuffer: 50,
        })
      : undefined;
  bar?.start(total, 0, { done: bytes(0), size: bytes(total), rate: bytes(0), file: "" });
  let transferred = 0;
  let done = 0;
  /** `delta` bytes more are in place; `fetched` when they came over the network now (not a skip or a resume). */
  const progress = (delta: number, file: string, fetched = true): void => {
    if (fetched) transferred += delta;
    done += delta;
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    bar?.update(done, { done: bytes(done), size: bytes(total), rate: bytes(Math.round(transferred / seconds)), file });
  };

  const results: FileResult[] = [];
  const queue = [...wanted];
  const worker = async (): Promise<void> => {
    for (let object = queue.shift(); object; object = queue.shift()) {
      const result = await download(ctx, config.region, bucket, object, dest, progress);
      if (result.action === "skipped") progress(object.size, object.path, false);
      results.push(result);
      if (!bar && !options.json) ctx.info(`${result.action.padEnd(10)} ${object.path} (${bytes(object.size)}, ${result.verified} verified)`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, Math.max(1, wanted.length)) }, worker));
  } finally {
    bar?.stop();
  }
  const elapsed = ctx.now().getTime() - started;
  const fetched = results.filter((r) => r.action !== "skipped");
  if (options.json) {
    ctx.out(json({ run: runId, status: run.status, dest, files: results.length, bytes: total, downloadedFiles: fetched.length, results }));
  } else {
    ctx.out(
      `Run ${runId} (${run.status}): ${results.length} files, ${bytes(total)} in ${dest} ` +
        `(${fetched.length} downloaded, ${results.length - fetched.length} already complete; ${duration(elapsed)}).`,
    );
  }
  return 0;
}

/** Downloads one object into `dest`, resuming a partial file, and verifies it. */
async function download(
  ctx: Context,
  region: string,
  bucket: string,
  object: RunObject,
  dest: string,
  progress: (delta: number, file: string, fetched?: boolean) => void,
): Promise<FileResult> {
  const target = join(dest, ...object.path.split("/"));
  if (!target.startsWith(dest + sep) || object.path.split("/").includes("..")) {
    throw new CliError(`Refusing the key ${object.key}: it would be written outside ${dest}.`, "rename the object in S3 (no '..' segments)");
  }
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target) && statSync(target).size === object.size) {
    const verified = await verify(target, object);
    if (verified) return { path: object.path, size: object.size, action: "skipped", verified };
  }
  const part = `${target}.part`;
  const meta = `${part}.json`;
  let offset = 0;
  if (existsSync(part) && existsSync(meta) && (JSON.parse(readFileSync(meta, "utf8")) as { etag?: string }).etag === object.etag) {
    offset = Math.min(statSync(part).size, object.size);
  } else {
    rmSync(part, { force: true });
  }
  writeFileSync(meta, JSON.stringify({ key: object.key, etag: object.etag, size: object.size }));
  progress(offset, object.path, false);
  if (offset < object.size || object.size === 0) {
    try {
      const response = await ctx.clients.get("s3", region).send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: object.key,
          IfMatch: `"${object.etag}"`,
          ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
        }),
      );
      const body = response.Body as Readable;
      body.on("data", (chunk: Buffer) => progress(chunk.length, object.path));
      await pipeline(body, createWriteStream(part, { flags: offset > 0 ? "a" : "w" }));
    } catch (error) {
      if (awsErrorCode(error) === "PreconditionFailed") {
        rmSync(part, { force: true });
        throw new CliError(`s3://${bucket}/${object.key} changed while it was being downloaded.`, "run gti pull again: it starts that file over");
      }
      throw describeAwsError(error, { doing: `downloading s3://${bucket}/${object.key}`, permission: "s3:GetObject on the outputs bucket" });
    }
  }
  const size = statSync(part).size;
  if (size !== object.size) {
    throw new CliError(`${object.path}: got ${size} bytes, S3 says ${object.size}.`, "run gti pull again: it resumes the file");
  }
  renameSync(part, target);
  rmSync(meta, { force: true });
  const verified = await verify(target, object);
  if (!verified) {
    rmSync(target, { force: true });
    throw new CliError(`${object.path}: the downloaded bytes do not match the object's ETag ${object.etag}.`, "run gti pull again; if it persists, the object is being rewritten");
  }
  return { path: object.path, size: object.size, action: offset > 0 ? "resumed" : "downloaded", verified };
}

/** How the file matches the object: its MD5, its multipart ETag, or only its size (an ETag that is neither); undefined when it does not match. */
async function verify(file: string, object: RunObject): Promise<FileResult["verified"] | undefined> {
  if (statSync(file).size !== object.size) return undefined;
  const single = /^[0-9a-f]{32}$/.exec(object.etag);
  if (single) return (await md5(file)) === object.etag ? "md5" : undefined;
  const multi = /^([0-9a-f]{32})-(\d+)$/.exec(object.etag);
  if (!multi) return "size";
  const parts = Number(multi[2]);
  const candidates = [...PART_SIZES_MIB.map((m) => m * 1024 * 1024), Math.ceil(object.size / parts)];
  for (const partSize of candidates.filter((s) => Math.ceil(object.size / s) === parts)) {
    if ((await multipartEtag(file, partSize)) === object.etag) return "multipart-etag";
  }
  return undefined;
}

async function md5(file: string): Promise<string> {
  const hash = createHash("md5");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

async function multipartEtag(file: string, partSize: number): Promise<string> {
  const digests: Buffer[] = [];
  let current = createHash("md5");
  let filled = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    let data = chunk as Buffer;
    while (data.length > 0) {
      const take = Math.min(partSize - filled, data.length);
      current.update(data.subarray(0, take));
      filled += take;
      data = data.subarray(take);
      if (filled === partSize) {
        digests.push(current.digest());
        current = createHash("md5");
        filled = 0;
      }
    }
  }
  if (filled > 0) digests.push(current.digest());
  return `${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${digests.length}`;
}
