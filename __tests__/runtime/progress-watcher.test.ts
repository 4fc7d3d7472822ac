/**
 * runtime/lib/progress.py's rules, driven directly (a python harness with a fake clock, no launcher): which stall
 * window wins (the code's stall_minutes, the instance tag, the env), the window that grows with the gaps between
 * reports, non-finite numbers, the cap on extra metrics, and the bounded loss history and EMF arrays.
 */
import { describe, expect, it } from "vitest";
import { runWatcher as watch } from "../support/runtime/progress-harness";

const steps = (from: number, to: number, every: number, extra = ""): { at: number; lines: string[] }[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ at: (from + i) * every, lines: [`{"step": ${from + i}${extra}}`] }));

describe("progress.py: rotation", () => {
  it("GIVEN lines the trainer appends between a poll's read and the rotation's copy WHEN rotated THEN they count as skipped (moved to .1 unread)", () => {
    const late = '{"step": 99}\n';
    const { snapshot } = watch({
      env: { GTI_PROGRESS_MAX_BYTES: "100" },
      reports: [{ at: 1, lines: Array.from({ length: 10 }, (_, i) => `{"step": ${i + 1}}`) }],
      appendBeforeRotationCopy: late,
      end: 2,
    });
    expect(snapshot).toMatchObject({ rotations: 1, step: 10, skipped_bytes: late.length });
  });
});

describe("progress.py: the stall window", () => {
  it.each([
    ["the env's minutes", { GTI_STALL_MINUTES: "30" }, "", 1800],
    ["the instance tag over the env", { GTI_STALL_MINUTES: "30", GTI_STALL_TAG: "20" }, "", 1200],
    ["the code's stall_minutes over the tag", { GTI_STALL_MINUTES: "30", GTI_STALL_TAG: "20" }, ', "stall_minutes": 10', 600],
    ["the default 30 without a setting", {}, "", 1800],
    ["the default for a tag that is no number", { GTI_STALL_TAG: "soon" }, "", 1800],
  ])("GIVEN %s WHEN steps come every second THEN the window is that many minutes", (_, env, extra, seconds) => {
    expect(watch({ env, reports: steps(1, 5, 1, extra), end: 6 }).snapshot.stall_after_seconds).toBe(seconds);
  });

  it("GIVEN reports 100 s apart and a 1-minute setting WHEN stalled for 150 s, then 250 s THEN not stalled, then stalled (twice the longest gap)", () => {
    const env = { GTI_STALL_MINUTES: "1" };
    expect(watch({ env, reports: steps(1, 3, 100), end: 450 }).snapshot).toMatchObject({ stall_after_seconds: 200, stalled: false });
    expect(watch({ env, reports: steps(1, 3, 100), end: 550 }).snapshot).toMatchObject({ stall_after_seconds: 200, stalled: true });
  });

  it("GIVEN a single report 500 s after the start (e.g. the first checkpoint) WHEN stalled THEN the window is twice that wait until a second report", () => {
    const { snapshot } = watch({ env: { GTI_STALL_MINUTES: "1" }, reports: [{ at: 500, lines: ['{"step": 100}'] }], end: 1400 });
    expect(snapshot).toMatchObject({ stall_after_seconds: 1000, stalled: false, seconds_since_progress: 900 });
  });

  it("GIVEN the same step reported again WHEN time passes THEN it is no progress: stalled after the window", () => {
    const reports = [...steps(1, 2, 1), { at: 30, lines: ['{"step": 2, "loss": 0.5}'] }, { at: 90, lines: ['{"step": 2, "loss": 0.4}'] }];
    expect(watch({ env: { GTI_STALL_MINUTES: "1" }, reports, end: 100 }).snapshot).toMatchObject({ stalled: true, seconds_since_progress: 98 });
  });

  it("GIVEN no report at all WHEN asked THEN no stall and no metrics record (nothing to alarm on)", () => {
    const out = watch({ env: { GTI_STALL_MINUTES: "1" }, reports: [], end: 10_000 });
    expect(out.snapshot).toMatchObject({ step: null, stalled: false });
    expect(out.emf).toBeNull();
  });
});

describe("progress.py: what an earlier attempt left", () => {
  it("GIVEN a restored checkpoint's trainer_state.json (RESUME_FROM) WHEN the attempt starts THEN it is no report (the stall clock waits for a new save)", () => {
    expect(watch({ trainerState: { at: -30, step: 500, maxSteps: 1000, losses: [2, 1.5] }, reports: [], end: 3600 }).snapshot).toMatchObject({ step: null, stalled: false });
  });

  it("GIVEN a checkpoint saved during the attempt WHEN read THEN its trainer_state.json is the report: global_step, max_steps, the last loss", () => {
    expect(watch({ trainerState: { at: 40, step: 500, maxSteps: 1000, losses: [2, 1.5] }, reports: [], end: 41 }).snapshot).toMatchObject({
      source: "trainer_state",
      step: 500,
      total_steps: 1000,
      loss: 1.5,
      stall_after_seconds: 1800,
    });
  });
});

describe("progress.py: values", () => {
  it("GIVEN non-finite numbers and booleans WHEN read THEN they are ignored; a non-finite step makes the line malformed", () => {
    const { snapshot } = watch({
      reports: [{ at: 1, lines: ['{"step": 1, "loss": Infinity, "lr": NaN, "ok": true, "grad_norm": 2}', '{"step": 1e400}', '{"step": true}'] }],
      end: 2,
    });
    expect(snapshot).toMatchObject({ step: 1, loss: null, metrics: { grad_norm: 2 }, malformed_lines: 2 });
  });

  it("GIVEN a line over 64 KiB, NUL padding and blank lines WHEN read THEN the long line is malformed, the rest is no line at all", () => {
    const long = `{"step": 2, "note": "${"x".repeat(70 * 1024)}"}`;
    const { snapshot } = watch({ reports: [{ at: 1, lines: ['{"step": 1}', long, "", "\u0000\u0000", "   "] }], end: 2 });
    expect(snapshot).toMatchObject({ step: 1, malformed_lines: 1 });
  });

  it("GIVEN more extra fields than GTI_PROGRESS_MAX_METRICS WHEN read THEN the first ones are metrics, the rest ignored", () => {
    const { snapshot } = watch({ env: { GTI_PROGRESS_MAX_METRICS: "2" }, reports: [{ at: 1, lines: ['{"step": 1, "a": 1, "b": 2, "c": 3}'] }], end: 2 });
    expect(snapshot.metrics).toEqual({ a: 1, b: 2 });
  });

  it("GIVEN metric names CloudWatch or the record cannot take WHEN read THEN they are ignored", () => {
    const { snapshot } = watch({ reports: [{ at: 1, lines: ['{"step": 1, "RunId": 5, "Step": 9, "has space": 1, "ok.name/x-1": 4}'] }], end: 2 });
    expect(snapshot.metrics).toEqual({ "ok.name/x-1": 4 });
  });

  it("GIVEN 1000 losses WHEN kept THEN the trend holds at most 128 points, the newest last; a record carries at most 100 values", () => {
    const { snapshot, emf } = watch({ reports: [{ at: 1, lines: Array.from({ length: 1000 }, (_, i) => `{"step": ${i + 1}, "loss": ${(2000 - i) / 1000}}`) }], end: 2 });
    const history = snapshot.loss_history as [number, number][];
    expect(history.length).toBeLessThanOrEqual(128);
    expect(history.length).toBeGreaterThanOrEqual(64);
    expect(history.at(-1)).toEqual([1000, 1.001]);
    expect((emf?.Loss as number[]).length).toBe(100);
    expect((emf?.Loss as number[]).at(-1)).toBe(1.001);
  });

  it("GIVEN steps at a steady rate and a total WHEN asked THEN the rate and the ETA follow", () => {
    const { snapshot } = watch({ reports: steps(1, 11, 2, ', "total_steps": 111'), end: 22 });
    expect(snapshot).toMatchObject({ step: 11, total_steps: 111, steps_per_second: 0.5, eta_seconds: 200, percent: 9.91 });
  });

  it("GIVEN a step that goes back (a new epoch counter, a restart) WHEN read THEN the rate starts over instead of going negative", () => {
    const { snapshot } = watch({ reports: [...steps(1, 5, 1), ...steps(1, 3, 1).map((r) => ({ ...r, at: r.at + 10 }))], end: 14 });
    expect(snapshot).toMatchObject({ step: 3, steps_per_second: 1 });
  });
});
