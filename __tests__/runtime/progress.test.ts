/**
 * Training progress (runtime/lib/progress.sh and progress.py) run for real in the sandbox: a fake trainer reports
 * progress (JSON lines, or Hugging Face's trainer_state.json only), the launcher runs the watcher next to the
 * container, and the test reads what reaches the CloudWatch agent (the EMF metrics log), the local progress.json and
 * the one in S3 (and how often it was uploaded). Bad input (malformed lines, a flood, no python) never stops training.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emfProblems, series } from "../support/runtime/emf";
import { firstAlarm } from "../support/safety/alarm-eval";
import { INSTANCE_ID, RUN_ID, RUNTIME_DIR, type RunResult, realPython3, Sandbox } from "../support/runtime/sandbox";
import { FAST_PROGRESS, PROGRESS_KEY, SCALE, stalledRunAlarm, stallSamples, metricsLog, records, s3Progress, uploads } from "../support/runtime/progress-fixtures";

describe("progress: a trainer writing JSON lines", () => {
  let sandbox: Sandbox;
  let result: RunResult;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
    result = await sandbox.run("bin/gti-launcher", ["run"], { ...FAST_PROGRESS, FAKE_STEPS: "20", FAKE_STEP_SECONDS: "0.12" });
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN the contract WHEN the container starts THEN it gets GTI_PROGRESS_FILE in a /progress mount of the run's own directory", () => {
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.containerEnv().GTI_PROGRESS_FILE).toBe("/progress/progress.jsonl");
    const run = sandbox.callsOf("docker", "run --name gti-training")[0]?.args ?? [];
    expect(run).toContain(`${sandbox.path(`opt/dlami/nvme/training/runs/${RUN_ID}/progress`)}:/progress`);
  });

  it("GIVEN progress lines WHEN the watcher publishes THEN every metrics log line is an EMF event the CloudWatch agent sends as such", () => {
    const lines = metricsLog(sandbox);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(emfProblems(line), line).toEqual([]);
  });

  it("GIVEN progress lines WHEN published THEN step, total, loss, rate, ETA and the extra numeric field are metrics per run, in the env's namespace", () => {
    const all = records(sandbox);
    const run = { RunId: RUN_ID };
    expect(all.every((r) => r._aws.CloudWatchMetrics.every((d) => d.Namespace === "GpuTraining/test"))).toBe(true);
    const steps = series(all, "Step", run).map((p) => p.values[0]);
    expect(steps.at(-1)).toBe(20);
    expect(steps).toEqual([...steps].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(series(all, "TotalSteps", run).at(-1)?.values).toEqual([20]);
    expect(series(all, "ProgressPercent", run).at(-1)?.values).toEqual([100]);
    const losses = series(all, "Loss", run).flatMap((p) => p.values);
    expect(losses).toContain(1);
    expect(Math.min(...losses)).toBe(1);
    expect(series(all, "SamplesPerSecond", run).flatMap((p) => p.values)).toContain(41.5);
    expect(series(all, "learning_rate", run).flatMap((p) => p.values)).toContain(0.0002);
    const rate = series(all, "StepsPerSecond", run).at(-2)?.values[0] ?? 0;
    expect(rate).toBeGreaterThan(2);
    expect(rate).toBeLessThan(12);
    expect(series(all, "EtaSeconds", run).length).toBeGreaterThan(0);
    // Strings are no metrics
    expect(all.some((r) => r._aws.CloudWatchMetrics.some((d) => d.Metrics.some((m) => m.Name === "phase")))).toBe(false);
  });

  it("GIVEN a run on an instance WHEN published THEN the stall signal is also per instance and env-wide, and 0 while steps come", () => {
    const all = records(sandbox);
    expect(series(all, "ProgressStalled", { InstanceId: INSTANCE_ID }).map((p) => p.values[0])).toEqual(
      all.map(() => 0),
    );
    expect(series(all, "ProgressStalled", {}).length).toBe(all.length);
    expect(all.every((r) => r.RunId === RUN_ID && r.InstanceId === INSTANCE_ID && r.Source === "progress_file")).toBe(true);
  });

  it("GIVEN the run ended WHEN progress.json is read from S3 THEN it holds the final step, total, loss, trend and counters", () => {
    const progress = s3Progress(sandbox);
    expect(progress).toMatchObject({
      run_id: RUN_ID,
      instance_id: INSTANCE_ID,
      source: "progress_file",
      step: 20,
      total_steps: 20,
      percent: 100,
      loss: 1,
      samples_per_second: 41.5,
      metrics: { learning_rate: 0.0002 },
      stalled: false,
      malformed_lines: 0,
      rotations: 0,
    });
    expect(progress.loss_history.at(0)).toEqual([1, 2.9]);
    expect(progress.loss_history.at(-1)).toEqual([20, 1]);
    expect(progress.stall_after_seconds).toBe(1800);
    expect(readFileSync(sandbox.path("run/gpu-training/progress.json"), "utf8")).toBe(sandbox.s3Read(PROGRESS_KEY));
  });

  it("GIVEN a 2.4 s run WHEN progress.json is uploaded THEN never twice within the upload interval (1 s here, 60 s by default)", () => {
    const times = uploads(sandbox).map((c) => c.t);
    expect(times.length).toBeGreaterThanOrEqual(2);
    // The last upload is the final one, when the container exits: the rest are at least an interval apart.
    const periodic = times.slice(0, -1);
    for (let i = 1; i < periodic.length; i++) expect((periodic[i] ?? 0) - (periodic[i - 1] ?? 0)).toBeGreaterThanOrEqual(950);
    expect(periodic.length).toBeLessThanOrEqual(Math.ceil(result.ms / 1000) + 1);
  });

  it("GIVEN a healthy run WHEN the stalled-run alarm's definition is evaluated on its stall signal THEN it never fires", () => {
    const samples = stallSamples(records(sandbox));
    expect(samples.length).toBeGreaterThan(3);
    expect(firstAlarm(stalledRunAlarm(), samples, samples[0]?.timestamp ?? 0, samples.at(-1)?.timestamp ?? 0, SCALE)).toBeUndefined();
  });

  it("GIVEN the production defaults WHEN read THEN a poll every 10 s, metrics every 60 s, progress.json at most every 60 s, 30 stall minutes", () => {
    const defaults = JSON.parse(execFileSync(realPython3() ?? "python3", [join(RUNTIME_DIR, "lib", "progress.py"), "--defaults"], { encoding: "utf8" })) as Record<string, number>;
    expect(defaults).toMatchObject({
      GTI_PROGRESS_POLL_SECONDS: 10,
      GTI_PROGRESS_METRICS_SECONDS: 60,
      GTI_PROGRESS_UPLOAD_SECONDS: 60,
      GTI_STALL_MINUTES: 30,
      GTI_PROGRESS_MAX_BYTES: 16 * 1024 * 1024,
    });
  });
});

describe("progress: a hung trainer (alive, no new step: a job stuck in a collective)", () => {
  let sandbox: Sandbox;
  let result: RunResult;
  let stalledAt = 0;
  beforeAll(async () => {
    // The run's StallMinutes tag (0.02: 1.2 s) overrides the env's 30 minutes.
    sandbox = await Sandbox.create({ imds: { tags: { StallMinutes: "0.02" } } });
    const release = join(sandbox.dir, "release");
    const running = sandbox.start("bin/gti-launcher", ["run"], {
      ...FAST_PROGRESS,
      FAKE_STEPS: "20",
      FAKE_STEP_SECONDS: "0.1",
      FAKE_HANG_AFTER: "5",
      FAKE_RELEASE_FILE: release,
      GTI_STALL_MINUTES: "30",
    });
    // Four stalled records, then the trainer is let go (it exits without another step).
    await sandbox.waitFor("four stalled metrics records", () => stallSamples(records(sandbox)).filter((p) => p.value === 1).length >= 4, 20_000);
    stalledAt = stallSamples(records(sandbox)).find((p) => p.value === 1)?.timestamp ?? 0;
    writeFileSync(release, "");
    result = await running.done;
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN steps that stop while the process lives WHEN the stall window passes THEN the stall signal goes from 0 to 1, and its age grows", () => {
    expect(result.code, result.stderr).toBe(0);
    const values = stallSamples(records(sandbox)).map((p) => p.value);
    expect(values[0]).toBe(0);
    expect(values.indexOf(1)).toBeGreaterThan(0);
    expect(values.slice(values.indexOf(1))).not.toContain(0);
    const ages = series(records(sandbox), "SecondsSinceProgress", { InstanceId: INSTANCE_ID }).map((p) => p.values[0] ?? 0);
    expect(Math.max(...ages)).toBeGreaterThanOrEqual(2);
    // While stalled the step rate is 0 and there is no ETA (the dashboard would show the old ones otherwise)
    const stalledRecords = records(sandbox).filter((r) => r.ProgressStalled === 1);
    expect(stalledRecords.map((r) => r.StepsPerSecond)).toEqual(stalledRecords.map(() => 0));
    expect(stalledRecords.some((r) => "EtaSeconds" in r)).toBe(false);
  });

  it("GIVEN the hung trainer's stall signal WHEN the stalled-run alarm's definition is evaluated THEN it fires, after the stall began", () => {
    const samples = stallSamples(records(sandbox));
    const fired = firstAlarm(stalledRunAlarm(), samples, samples[0]?.timestamp ?? 0, samples.at(-1)?.timestamp ?? 0, SCALE);
    expect(fired).toBeDefined();
    expect(fired ?? 0).toBeGreaterThan(stalledAt);
  });

  it("GIVEN the stall WHEN progress.json is read THEN it says stalled, at the last step, with the tag's window (not the env's 30 min)", () => {
    const progress = s3Progress(sandbox);
    expect(progress).toMatchObject({ step: 5, total_steps: 20, stalled: true, stall_after_seconds: 1, steps_per_second: 0, eta_seconds: null });
    // progress.json is uploaded when what it says changes, not for the clock alone: the stalled copy is the one written
    // when the stall began, its age just past the window (1.2 s here), which rounds to the window's whole seconds or
    // more. (It asserted >= 2 before, true only when the upload interval happened to delay that write past 1.5 s: it
    // failed under load, when the steps came late and the write went out at once.)
    expect(progress.seconds_since_progress).toBeGreaterThanOrEqual(progress.stall_after_seconds);
    expect(progress.seconds_since_progress).toBeGreaterThan(0);
  });
});

describe("progress: Hugging Face's trainer_state.json, no code change", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
    await sandbox.run("bin/gti-launcher", ["run"], { ...FAST_PROGRESS, FAKE_PROGRESS: "hf", FAKE_STEPS: "20", FAKE_SAVE_EVERY: "5", FAKE_STEP_SECONDS: "0.1" });
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN only checkpoints with trainer_state.json WHEN watched THEN progress.json has global_step, max_steps and the logged losses", () => {
    const progress = s3Progress(sandbox);
    expect(progress).toMatchObject({ source: "trainer_state", step: 20, total_steps: 20, percent: 100, loss: 1 });
    expect(progress.metrics).toMatchObject({ grad_norm: 1.5, learning_rate: 0.0002 });
    expect(progress.loss_history.at(-1)).toEqual([20, 1]);
    expect(progress.loss_history.length).toBe(20);
  });

  it("GIVEN trainer_state.json WHEN published THEN the EMF records carry its steps and losses", () => {
    const all = records(sandbox);
    for (const line of metricsLog(sandbox)) expect(emfProblems(line)).toEqual([]);
    expect(series(all, "Step", { RunId: RUN_ID }).at(-1)?.values).toEqual([20]);
    expect(series(all, "Loss", { RunId: RUN_ID }).flatMap((p) => p.values)).toContain(2.9);
    expect(all.every((r) => r.Source === "trainer_state")).toBe(true);
  });
});
