/**
 * Training progress under bad conditions, run for real in the sandbox: malformed lines and non-numeric fields, an S3
 * that hangs on progress.json, a huge fast-growing progress file, a run that never reports, a watcher that cannot
 * start. None of them stops training or holds up the attempt's end. Fixtures: `__tests__/support/runtime/progress-fixtures.ts`.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { series } from "../support/runtime/emf";
import { RUN_ID, type RunResult, Sandbox } from "../support/runtime/sandbox";
import { FAST_PROGRESS, PROGRESS_KEY, metricsLog, records, s3Progress, uploads } from "../support/runtime/progress-fixtures";

describe("progress: bad input never stops training", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN malformed lines and non-numeric fields WHEN watched THEN they are skipped and counted, the run succeeds", async () => {
    const result = await sandbox.run("bin/gti-launcher", ["run"], { ...FAST_PROGRESS, FAKE_BAD_LINES: "1", FAKE_STEPS: "3" });
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    const progress = s3Progress(sandbox);
    expect(progress).toMatchObject({ step: 3, malformed_lines: 6, metrics: { grad_norm: 2.5, learning_rate: 0.0002 } });
    expect(Object.keys(progress.metrics).sort()).toEqual(["grad_norm", "learning_rate"]);
    expect(series(records(sandbox), "MalformedLines", { RunId: RUN_ID }).reduce((sum, p) => sum + (p.values[0] ?? 0), 0)).toBe(6);
    const log = readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8");
    expect(log).toMatch(/progress\[\d+\]: WARNING: malformed progress line skipped \(1 so far\): not json at all/);
  });
});

describe("progress: S3 hangs on progress.json", () => {
  let sandbox: Sandbox;
  afterAll(async () => sandbox.cleanup());

  it("GIVEN every progress.json upload hangs for 30 s WHEN the container exits THEN the watcher kills its upload and the attempt ends within seconds", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 cp *progress.json s3://*/progress.json*", "*", "-", 30);
    const result = await sandbox.run("bin/gti-launcher", ["run"], { ...FAST_PROGRESS, FAKE_STEPS: "8", FAKE_STEP_SECONDS: "0.1" });
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    // The periodic upload is killed when the container exits; the final one gets 5 s; nothing waits for S3's 30.
    expect(result.ms).toBeLessThan(15_000);
    const log = readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8");
    expect(log).toContain("WARNING: progress.json upload interrupted by the end of the attempt: killed");
    expect(log).toContain("WARNING: progress.json upload timed out after 5s: killed");
  });

  it("GIVEN a hanging upload WHEN the run is stopped (training-stop; a spot notice sets the same deadline) THEN no final upload: the stop's time is the checkpoints'", async () => {
    await sandbox.cleanup();
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 cp *progress.json s3://*/progress.json*", "*", "-", 30);
    const launcher = sandbox.start("bin/gti-launcher", ["run"], {
      ...FAST_PROGRESS,
      FAKE_STEPS: "1000",
      FAKE_STEP_SECONDS: "0.1",
      FAKE_RELEASE_FILE: join(sandbox.dir, "never"),
    });
    await sandbox.waitFor("an upload in flight", () => uploads(sandbox).length > 0, 15_000);
    const started = Date.now();
    const stop = await sandbox.run("bin/training-stop");
    expect(stop.code, stop.stderr).toBe(0);
    expect((await launcher.done).code).toBe(0);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "manual_stop" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(uploads(sandbox)).toHaveLength(1);
    expect(readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8")).not.toContain("timed out after 5s");
  });
});

describe("progress: a huge, fast-growing progress file", () => {
  let sandbox: Sandbox;
  let result: RunResult;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
    result = await sandbox.run("bin/gti-launcher", ["run"], {
      ...FAST_PROGRESS,
      FAKE_FLOOD_BYTES: String(3 * 1024 * 1024),
      FAKE_STEPS: "6",
      FAKE_STEP_SECONDS: "0.15",
      GTI_PROGRESS_MAX_BYTES: String(256 * 1024),
      GTI_PROGRESS_MAX_READ_BYTES: String(64 * 1024),
    });
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN 3 MiB at once WHEN watched THEN the backlog is skipped to its tail, the file rotated, and the last step still read", () => {
    expect(result.code, result.stderr).toBe(0);
    const progress = s3Progress(sandbox);
    expect(progress.step).toBe(6);
    expect(progress.rotations).toBeGreaterThanOrEqual(1);
    expect(progress.skipped_bytes).toBeGreaterThan(2 * 1024 * 1024);
    const file = sandbox.path(`opt/dlami/nvme/training/runs/${RUN_ID}/progress/progress.jsonl`);
    expect(statSync(file).size).toBeLessThan(256 * 1024);
    expect(statSync(`${file}.1`).size).toBeGreaterThan(0);
  });
});

describe("progress: a run that never reports", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN no progress at all WHEN the run ends THEN no metric (no stall signal) and no progress.json: nothing to alarm on", async () => {
    // An earlier attempt's lines on this instance are set aside, not counted as this attempt's progress.
    const earlier = sandbox.write(`opt/dlami/nvme/training/runs/${RUN_ID}/progress/progress.jsonl`, '{"step": 900, "total_steps": 1000}\n');
    const result = await sandbox.run("bin/gti-launcher", ["run"], { ...FAST_PROGRESS, FAKE_PROGRESS: "none", FAKE_STEPS: "8" });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(`${earlier}.1`, "utf8")).toBe('{"step": 900, "total_steps": 1000}\n');
    expect(metricsLog(sandbox)).toEqual([]);
    expect(sandbox.s3Exists(PROGRESS_KEY)).toBe(false);
    expect(uploads(sandbox)).toEqual([]);
  });

});

describe("progress: a watcher that cannot start", () => {
  let sandbox: Sandbox;
  afterAll(async () => sandbox.cleanup());

  it("GIVEN no python on the instance WHEN the run starts THEN a warning is logged and training succeeds", async () => {
    sandbox = await Sandbox.create();
    const result = await sandbox.run("bin/gti-launcher", ["run"], { ...FAST_PROGRESS, GTI_PYTHON: "/nonexistent/python3", FAKE_STEPS: "2" });
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8")).toContain(
      "WARNING: no /nonexistent/python3 on this instance: training progress is not published",
    );
    expect(sandbox.containerEnv().GTI_PROGRESS_FILE).toBe("/progress/progress.jsonl");
  });
});
