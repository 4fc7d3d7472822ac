/**
 * `gti runs`, `gti logs` and `gti pull` against a real local AWS API (moto server through scripts/local-aws.py, one
 * per file), with data the test writes through the SDK: a deployed stack's state object, an outputs bucket holding
 * runs with markers, checkpoints, LATEST.json pointers, outputs (one multipart) and logs, and CloudWatch log streams.
 * Process runs (bin/gti.cjs) prove exit codes and messages as a user sees them.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AwsEmulator, detectEmulator, startEmulator } from "../support/aws-emulator";
import { emulatorS3, hasStackTrace, labEnv, runGti, seedState, spawnGti, writeEnvFiles } from "../support/cli";
import { runWatcher } from "../support/runtime/progress-harness";

const detection = detectEmulator();
if (!detection.available) console.log(`gti runs/logs/pull tests SKIPPED: ${detection.reason}`);

const BUCKET = "acme-lab-outputs";
const STATE_BUCKET = "acme-gti-tfstate";
const DONE = "run-20261201-100000";
const FAILED = "run-20261202-090000";
const PAUSED = "run-20261203-080000";
const LIVE = "run-20261207-120000";
const INSTANCE = "i-0123456789abcdef0";
const MODEL = randomBytes(256 * 1024);
const BIG = randomBytes(11 * 1024 * 1024); // a multipart object: parts of 5 MiB, 5 MiB, 1 MiB

describe.runIf(detection.available)("gti runs, logs, pull against the local AWS API", () => {
  let emulator: AwsEmulator;
  let s3: S3Client;
  let logs: CloudWatchLogsClient;
  let temp: string;
  let env: Record<string, string>;

  const put = (key: string, body: string | Buffer): Promise<unknown> => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const marker = (status: string, started: string, ended: string, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ status, run_id: "x", reason: status === "SUCCESS" ? "completed" : status.toLowerCase(), exit_code: status === "SUCCESS" ? 0 : 1, instance_id: INSTANCE, started_at: started, ended_at: ended, ...extra });

  beforeAll(async () => {
    emulator = await startEmulator();
    // The SDK and gti in this process talk to the emulator (undone in afterAll: the next test files share the process).
    for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
    temp = mkdtempSync(join(tmpdir(), "gti-run-data-"));
    env = {
      GTI_ENVS_DIR: writeEnvFiles(join(temp, "envs"), [labEnv("lab"), labEnv("ghost"), labEnv("empty")]),
    };
    s3 = emulatorS3(emulator.endpoint);
    logs = new CloudWatchLogsClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });

    await seedState(s3, STATE_BUCKET, "lab", { outputs_bucket: BUCKET, instance_id: "", run_id: "" });
    await seedState(s3, STATE_BUCKET, "empty", { outputs_bucket: "acme-empty-outputs", instance_id: "", run_id: "" });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: "acme-empty-outputs" }));

    // A finished run: outputs (one multipart), checkpoints with their LATEST.json, logs, SUCCESS.
    await put(`runs/${DONE}/outputs/model.bin`, MODEL);
    await put(`runs/${DONE}/outputs/metrics.json`, '{"loss":0.12}');
    await put(`runs/${DONE}/checkpoints/checkpoint-200/weights.pt`, randomBytes(4096));
    await put(`runs/${DONE}/checkpoints/LATEST.json`, JSON.stringify({ run_id: DONE, checkpoint: "checkpoint-200", type: "dir", synced_at: "2026-12-01T13:55:00Z", instance_id: INSTANCE }));
    await put(`runs/${DONE}/logs/${INSTANCE}/training.log`, "epoch 1\nepoch 2\n");
    await put(`runs/${DONE}/SUCCESS`, marker("SUCCESS", "2026-12-01T10:00:00Z", "2026-12-01T14:00:00Z"));
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `runs/${DONE}/outputs/adapter.safetensors` }));
    const parts = [];
    for (const [index, [start, end]] of [[0, 5], [5, 10], [10, 11]].entries()) {
      const part = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: `runs/${DONE}/outputs/adapter.safetensors`, UploadId: upload.UploadId, PartNumber: index + 1, Body: BIG.subarray(start! * 1048576, end! * 1048576) }),
      );
      parts.push({ ETag: part.ETag, PartNumber: index + 1 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: `runs/${DONE}/outputs/adapter.safetensors`, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));

    await put(`runs/${FAILED}/logs/${INSTANCE}/training.log`, "Traceback\n");
    await put(`runs/${FAILED}/FAILURE`, marker("FAILURE", "2026-12-02T09:00:00Z", "2026-12-02T09:20:00Z"));
    await put(`runs/${PAUSED}/checkpoints/checkpoint-50/weights.pt`, randomBytes(2048));
    await put(`runs/${PAUSED}/checkpoints/LATEST.json`, JSON.stringify({ checkpoint: "checkpoint-50", synced_at: "2026-12-03T09:00:00Z" }));
    await put(`runs/${PAUSED}/INTERRUPTED`, marker("INTERRUPTED", "2026-12-03T08:00:00Z", "2026-12-03T09:01:00Z"));
    await put(`runs/${LIVE}/checkpoints/checkpoint-10/weights.pt`, randomBytes(1024));
    // progress.json as the runtime's watcher writes it: the live run at step 240 of 1000, written a moment ago; the
    // finished run at its last step.
    const report = (step: number, total: number) => `{"step": ${step}, "total_steps": ${total}, "loss": ${(3 - step / 200).toFixed(3)}}`;
    const seconds = Math.floor(Date.now() / 1000);
    const live = runWatcher({ start: seconds - 100, reports: Array.from({ length: 24 }, (_, i) => ({ at: i * 4, lines: [report((i + 1) * 10, 1000)] })), end: 96 });
    await put(`runs/${LIVE}/progress.json`, JSON.stringify(live.snapshot));
    const done = runWatcher({ start: 1796133600, reports: Array.from({ length: 10 }, (_, i) => ({ at: i * 60, lines: [report((i + 1) * 20, 200)] })), end: 600 });
    await put(`runs/${DONE}/progress.json`, JSON.stringify(done.snapshot));

    await logs.send(new CreateLogGroupCommand({ logGroupName: "/gpu-training/lab" }));
    for (const stream of ["training", "setup"]) {
      await logs.send(new CreateLogStreamCommand({ logGroupName: "/gpu-training/lab", logStreamName: `${INSTANCE}/${stream}` }));
    }
    const base = Date.now() - 60_000;
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/gpu-training/lab",
        logStreamName: `${INSTANCE}/training`,
        logEvents: ["step 1 loss 2.0", "step 2 loss 1.5", "step 3 loss 1.1"].map((message, i) => ({ timestamp: base + i * 1000, message })),
      }),
    );
    await logs.send(new PutLogEventsCommand({ logGroupName: "/gpu-training/lab", logStreamName: `${INSTANCE}/setup`, logEvents: [{ timestamp: base - 5000, message: "pulling image" }] }));
  }, 120_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await emulator?.stop();
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  describe("gti runs", () => {
    it("GIVEN four runs WHEN listed THEN newest first, each with its marker or RUNNING, newest checkpoint and size", async () => {
      const result = await runGti(["runs", "lab"], env);
      expect(result.code, result.stderr).toBe(0);
      const lines = result.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^RUN\s+STATUS\s+STARTED\s+DURATION\s+PROGRESS\s+LOSS\s+ETA\s+NEWEST CHECKPOINT\s+SIZE$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual([`${LIVE} RUNNING`, `${PAUSED} INTERRUPTED`, `${FAILED} FAILURE`, `${DONE} SUCCESS`]);
      expect(lines.find((l) => l.startsWith(DONE))).toMatch(/2026-12-01 10:00 UTC\s+4h 00m\s+.*\s+checkpoint-200\s+11\.3 MiB$/);
      expect(lines.find((l) => l.startsWith(FAILED))).toMatch(/20m 00s\s+-\s+-\s+-\s+-\s+/);
    });

    it("GIVEN runs with progress.json WHEN listed THEN step/total with a bar and percent, the loss with its trend, and the ETA of the live one", async () => {
      const lines = (await runGti(["runs", "lab"], env)).stdout.trim().split("\n");
      expect(lines.find((l) => l.startsWith(LIVE))).toMatch(/\s240\/1000 \[██░░░░░░░░\] 24%\s+1\.8 ↓\s+(\d+m \d\ds|\d+s)\s+-\s/);
      expect(lines.find((l) => l.startsWith(DONE))).toMatch(/\s200\/200 \[██████████\] 100%\s+2 ↓\s+-\s+checkpoint-200\s/);
      expect(lines.find((l) => l.startsWith(PAUSED))).toMatch(/\s-\s+-\s+-\s+checkpoint-50\s/);
    });

    it("GIVEN --limit 2 --json WHEN listed THEN two runs with their fields and the total", async () => {
      const result = await runGti(["runs", "lab", "--limit", "2", "--json"], env);
      const parsed = JSON.parse(result.stdout) as {
        total: number;
        runs: { id: string; status: string; newestCheckpoint: string | null; progress: Record<string, unknown> | null }[];
      };
      expect(parsed.total).toBe(4);
      expect(parsed.runs.map((r) => [r.id, r.status, r.newestCheckpoint])).toEqual([
        [LIVE, "RUNNING", null],
        [PAUSED, "INTERRUPTED", "checkpoint-50"],
      ]);
      expect(parsed.runs[0]?.progress).toMatchObject({ source: "progress_file", step: 240, totalSteps: 1000, percent: 24, loss: 1.8, lossTrend: "down", stalled: false });
      expect(parsed.runs[1]?.progress).toBeNull();
    });

    it("GIVEN an empty outputs bucket WHEN listed THEN it says there are no runs yet and how to start one, exit 0", async () => {
      const result = await runGti(["runs", "empty"], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("No runs yet in s3://acme-empty-outputs/runs/.\n");
      expect(result.stderr).toContain("npx cdktf deploy empty --var create_instance=true");
    });

    it("GIVEN an env never deployed (no state object) WHEN `gti runs` runs as a process THEN exit 1, one message with the deploy fix, no stack trace", async () => {
      const result = await spawnGti(["runs", "ghost"], { ...env, ...emulator.env });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'Error: Environment "ghost" is not deployed yet: no Terraform state at s3://acme-gti-tfstate/gpu-training-infra/ghost/terraform.tfstate.\n' +
          "Fix: deploy it: `npx cdktf deploy ghost` (run `gti doctor ghost` first to check what a deploy needs)\n",
      );
      expect(hasStackTrace(result.stderr)).toBe(false);
    }, 60_000);

    it("GIVEN --limit 1 WHEN listed THEN one run on stdout and how many are hidden on stderr", async () => {
      const result = await runGti(["runs", "lab", "--limit", "1"], env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`${LIVE}  RUNNING`);
      expect(result.stderr).toBe("(3 older runs not shown: --limit 4)\n");
    });
  });

  describe("gti logs", () => {
    it("GIVEN a run whose instance wrote its training stream WHEN `gti logs --run` runs THEN the stream's lines, in order, unprefixed", async () => {
      const result = await runGti(["logs", "lab", "--run", DONE], env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe("step 1 loss 2.0\nstep 2 loss 1.5\nstep 3 loss 1.1\n");
    });

    it("GIVEN --stream all --lines 2 WHEN run THEN the last 2 lines of all streams merged by time, prefixed with the stream", async () => {
      const result = await runGti(["logs", "lab", "--run", DONE, "--stream", "all", "--lines", "2"], env);
      expect(result.stdout).toBe(`[${INSTANCE}/training] step 2 loss 1.5\n[${INSTANCE}/training] step 3 loss 1.1\n`);
      const all = await runGti(["logs", "lab", "--run", DONE, "--stream", "all", "--lines", "0"], env);
      expect(all.stdout.split("\n")[0]).toBe(`[${INSTANCE}/setup] pulling image`);
    });

    it("GIVEN --json WHEN run THEN one JSON object per line with time, stream and message", async () => {
      const result = await runGti(["logs", "lab", "--run", DONE, "--json"], env);
      const first = JSON.parse(result.stdout.split("\n")[0]!) as { stream: string; message: string; timestamp: string };
      expect(first).toMatchObject({ stream: `${INSTANCE}/training`, message: "step 1 loss 2.0" });
      expect(new Date(first.timestamp).getTime()).toBeGreaterThan(0);
    });

    it("GIVEN a run with no log stream WHEN run THEN exit 1 naming the group and the S3 copy as the fix", async () => {
      const result = await runGti(["logs", "lab", "--run", LIVE], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Error: No training log stream of run ${LIVE} in the log group /gpu-training/lab.`);
      expect(result.stderr).toContain(`s3://${BUCKET}/runs/${LIVE}/logs/`);
    });

    it("GIVEN --follow WHEN new lines arrive and then the run ends THEN it prints them and stops at the SUCCESS marker", async () => {
      const runId = "run-20261207-140000";
      const stream = "i-0fedcba9876543210/training";
      await put(`runs/${runId}/logs/i-0fedcba9876543210/setup.log`, "boot\n");
      await logs.send(new CreateLogStreamCommand({ logGroupName: "/gpu-training/lab", logStreamName: stream }));
      await logs.send(new PutLogEventsCommand({ logGroupName: "/gpu-training/lab", logStreamName: stream, logEvents: [{ timestamp: Date.now() - 5000, message: "epoch 1" }] }));
      let polls = 0;
      const sleep = async (): Promise<void> => {
        polls++;
        if (polls === 1) {
          await logs.send(new PutLogEventsCommand({ logGroupName: "/gpu-training/lab", logStreamName: stream, logEvents: [{ timestamp: Date.now(), message: "epoch 2" }] }));
        }
        if (polls === 2) await put(`runs/${runId}/SUCCESS`, marker("SUCCESS", "2026-12-07T14:00:00Z", "2026-12-07T15:00:00Z"));
      };
      const result = await runGti(["logs", "lab", "--run", runId, "--follow"], env, { sleep });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe("epoch 1\nepoch 2\n");
      expect(result.stderr).toContain(`Run ${runId} ended: SUCCESS.`);
      expect(polls).toBe(2); // poll 1 prints epoch 2; poll 2 finds nothing new and the marker
    });
  });

  describe("gti pull", () => {
    it("GIVEN a finished run WHEN pulled THEN its outputs and marker land in dest, verified by MD5 and multipart ETag", async () => {
      const dest = join(temp, "pull-1");
      const result = await runGti(["pull", DONE, dest, "--env", "lab", "--json"], env);
      expect(result.code, result.stderr).toBe(0);
      const parsed = JSON.parse(result.stdout) as { files: number; results: { path: string; action: string; verified: string }[] };
      expect(parsed.files).toBe(4);
      expect(Object.fromEntries(parsed.results.map((r) => [r.path, `${r.action}/${r.verified}`]))).toEqual({
        "outputs/model.bin": "downloaded/md5",
        "outputs/metrics.json": "downloaded/md5",
        "outputs/adapter.safetensors": "downloaded/multipart-etag",
        SUCCESS: "downloaded/md5",
      });
      expect(readFileSync(join(dest, "outputs", "model.bin")).equals(MODEL)).toBe(true);
      expect(createHash("md5").update(readFileSync(join(dest, "outputs", "adapter.safetensors"))).digest("hex")).toBe(createHash("md5").update(BIG).digest("hex"));
      expect(existsSync(join(dest, "checkpoints"))).toBe(false);
    });

    it("GIVEN a pull that stopped half-way WHEN pulled again THEN complete files are skipped and the partial one resumes from its bytes", async () => {
      const dest = join(temp, "pull-1");
      rmSync(join(dest, "outputs", "model.bin"));
      const listing = JSON.parse((await runGti(["pull", DONE, join(temp, "probe"), "--env", "lab", "--json"], env)).stdout) as { results: unknown[] };
      expect(listing.results).toHaveLength(4);
      const etag = createHash("md5").update(MODEL).digest("hex");
      writeFileSync(join(dest, "outputs", "model.bin.part"), MODEL.subarray(0, 100_000));
      writeFileSync(join(dest, "outputs", "model.bin.part.json"), JSON.stringify({ etag }));
      const result = await runGti(["pull", DONE, dest, "--env", "lab"], env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/^resumed\s+outputs\/model\.bin \(256\.0 KiB, md5 verified\)$/m);
      expect(result.stderr).toMatch(/^skipped\s+outputs\/adapter\.safetensors \(11\.0 MiB, multipart-etag verified\)$/m);
      expect(result.stdout).toMatch(new RegExp(`^Run ${DONE} \\(SUCCESS\\): 4 files, 11\\.3 MiB in .*pull-1 \\(1 downloaded, 3 already complete;`));
      expect(readFileSync(join(dest, "outputs", "model.bin")).equals(MODEL)).toBe(true);
      expect(existsSync(join(dest, "outputs", "model.bin.part"))).toBe(false);
    });

    it("GIVEN a terminal WHEN pulled with --checkpoints THEN a progress bar with bytes, rate and ETA is drawn on stderr", async () => {
      const result = await runGti(["pull", DONE, join(temp, "pull-tty"), "--env", "lab", "--checkpoints"], env, { tty: true });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/100% \| 11\.3 MiB\/11\.3 MiB \| [\d.]+ \w+\/s \| ETA \d+s/);
      expect(existsSync(join(temp, "pull-tty", "checkpoints", "LATEST.json"))).toBe(true);
    });

    it("GIVEN a run still training WHEN pulled without --checkpoints THEN exit 1: no outputs yet, with what to do", async () => {
      const result = await runGti(["pull", LIVE, join(temp, "pull-live"), "--env", "lab"], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Error: Run ${LIVE} has no outputs in s3://${BUCKET}/runs/${LIVE}/outputs/ (status RUNNING).`);
      expect(result.stderr).toContain("--checkpoints");
    });

    it("GIVEN a run id that does not exist WHEN pulled as a process THEN exit 1 with gti runs as the fix, no stack trace", async () => {
      const result = await spawnGti(["pull", "run-nope", join(temp, "nope"), "--env", "lab"], { ...env, ...emulator.env });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`Error: No run "run-nope" in s3://${BUCKET}/runs/.\nFix: list the runs with \`gti runs\` and pass one of their ids\n`);
    }, 60_000);

    it("GIVEN no run id WHEN pulled THEN it is a usage error (exit 2)", async () => {
      const result = await runGti(["pull"], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("error: missing required argument 'run-id'");
    });
  });
});
