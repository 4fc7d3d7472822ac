/**
 * How `gti` renders a run's progress.json (src/cli/progress.ts): the bar (cli-progress's renderer), step / total, the
 * loss trend, the ETA as of now, the stall, and what a run without progress shows. Inputs are documents the runtime's
 * own watcher writes (runtime/lib/progress.py through the test harness) where the shape matters.
 */
import { describe, expect, it } from "vitest";
import {
  type ProgressDocument,
  etaSeconds,
  etaText,
  lossSparkline,
  lossText,
  lossTrend,
  progressBar,
  progressCell,
  progressJson,
  progressLines,
  stepText,
} from "../../src/cli/progress";
import { runWatcher } from "../support/runtime/progress-harness";

const NOW = new Date("2026-12-07T12:00:00Z");
const history = (losses: number[]): [number, number][] => losses.map((loss, i) => [(i + 1) * 10, loss]);
const doc = (extra: Partial<ProgressDocument> = {}): ProgressDocument => ({
  source: "progress_file",
  step: 1200,
  total_steps: 5000,
  percent: 24,
  loss: 1.83,
  steps_per_second: 2.1,
  eta_seconds: 1810,
  loss_history: history([2.9, 2.6, 2.4, 2.2, 2.0, 1.9, 1.83]),
  last_step_at: "2026-12-07T11:59:48Z",
  updated_at: "2026-12-07T11:59:50Z",
  stalled: false,
  stall_after_seconds: 1800,
  malformed_lines: 0,
  ...extra,
});

describe("gti progress: the bar", () => {
  it.each([
    [0, "[░░░░░░░░░░]"],
    [0.24, "[██░░░░░░░░]"],
    [0.5, "[█████░░░░░]"],
    [1, "[██████████]"],
    [1.7, "[██████████]"],
  ])("GIVEN %s done WHEN drawn 10 wide THEN %s", (fraction, bar) => {
    expect(progressBar(fraction, 10)).toBe(bar);
  });

  it("GIVEN the default width WHEN drawn THEN 24 cells between brackets", () => {
    expect(progressBar(0.25)).toBe(`[${"█".repeat(6)}${"░".repeat(18)}]`);
  });
});

describe("gti progress: step, loss, ETA", () => {
  it("GIVEN a step with or without a total WHEN shown THEN 1200 / 5000, 1200, or - without a step", () => {
    expect(stepText(doc())).toBe("1200 / 5000");
    expect(stepText(doc({ total_steps: null }))).toBe("1200");
    expect(stepText(undefined)).toBe("-");
  });

  it.each([
    ["falling", [3, 2.5, 2, 1.5, 1, 0.8], "down"],
    ["rising", [1, 1.2, 1.5, 2, 2.5, 3], "up"],
    ["flat within 1%", [2, 2.01, 1.995, 2.0, 2.004, 2.0], "flat"],
    ["too short", [2, 1], undefined],
  ] as const)("GIVEN a %s loss WHEN its trend is read THEN %s", (_, losses, trend) => {
    expect(lossTrend(history([...losses]))).toBe(trend);
  });

  it("GIVEN a loss and its history WHEN shown THEN the value and its arrow, and a sparkline from high to low", () => {
    expect(lossText(doc())).toBe("1.83 ↓");
    expect(lossText(doc({ loss: null }))).toBe("-");
    expect(lossSparkline(doc().loss_history)).toBe("█▆▅▃▂▁▁"); // scaled between its extremes
    expect(lossSparkline(history([2, 2, 2]))).toBe("▅▅▅");
  });

  it("GIVEN an ETA written 10 s before now WHEN shown THEN 10 s less; never below 0", () => {
    expect(etaSeconds(doc(), NOW, true)).toBe(1800);
    expect(etaText(doc(), NOW, true)).toBe("30m 00s");
    expect(etaSeconds(doc({ eta_seconds: 5 }), NOW, true)).toBe(0);
  });

  it("GIVEN a stalled or ended run WHEN the ETA is asked THEN STALLED, or - for a run no longer running", () => {
    expect(etaText(doc({ stalled: true }), NOW, true)).toBe("STALLED");
    expect(etaText(doc(), NOW, false)).toBe("-");
    expect(etaSeconds(doc({ stalled: true }), NOW, true)).toBeUndefined();
  });

  it("GIVEN progress WHEN put in the runs table THEN one cell: step/total, a 10-cell bar, the percent", () => {
    expect(progressCell(doc())).toBe("1200/5000 [██░░░░░░░░] 24%");
    expect(progressCell(doc({ total_steps: null }))).toBe("1200");
    expect(progressCell(undefined)).toBe("-");
  });
});

describe("gti progress: the lines of gti status", () => {
  it("GIVEN a running run WHEN shown THEN step / total with the bar and percent, ETA and rate, last step; the loss with its trend", () => {
    expect(progressLines(doc(), NOW, true)).toEqual([
      `progress: step 1200 / 5000 [${"█".repeat(6)}${"░".repeat(18)}] 24%, ETA 30m 00s at 2.1 steps/s, last step 12s ago`,
      "loss: 1.83 ↓ [█▆▅▃▂▁▁] (from 2.9)",
    ]);
  });

  it("GIVEN a stalled run WHEN shown THEN STALLED with the time since its last step and its window, no ETA", () => {
    const [line] = progressLines(doc({ stalled: true, last_step_at: "2026-12-07T11:25:00Z" }), NOW, true);
    expect(line).toBe(`progress: step 1200 / 5000 [${"█".repeat(6)}${"░".repeat(18)}] 24%, STALLED: no new step for 35m 00s (stall window 30m 00s)`);
  });

  it("GIVEN a running run without progress.json WHEN shown THEN it says progress is not reported and where the contract is", () => {
    expect(progressLines(undefined, NOW, true)).toEqual(['progress: not reported (the training code can report it: runtime/README.md, "Progress contract")']);
    expect(progressLines(undefined, NOW, false)).toEqual([]);
  });

  it("GIVEN old data, trainer_state.json as the source and malformed lines WHEN shown THEN a note says so", () => {
    const lines = progressLines(doc({ updated_at: "2026-12-07T11:40:00Z", source: "trainer_state", malformed_lines: 3 }), NOW, true);
    expect(lines.at(-1)).toBe("(as of 20m 00s ago; from trainer_state.json at each checkpoint; 3 malformed progress lines skipped)");
  });

  it("GIVEN the runtime watcher's own progress.json WHEN rendered THEN step, total, loss trend and ETA come through", () => {
    const start = Math.floor(NOW.getTime() / 1000) - 120;
    const lines = Array.from({ length: 40 }, (_, i) => `{"step": ${(i + 1) * 10}, "total_steps": 1000, "loss": ${(3 - i * 0.05).toFixed(2)}}`);
    const { snapshot } = runWatcher({ start, reports: lines.map((line, i) => ({ at: i * 2, lines: [line] })), end: 80 });
    const out = progressLines(snapshot as ProgressDocument, NOW, true);
    expect(out[0]).toMatch(/^progress: step 400 \/ 1000 \[█{10}░{14}\] 40%, ETA 1m 20s at 5 steps\/s, last step 42s ago$/);
    expect(out[1]).toBe("loss: 1.05 ↓ [██▇▇▆▆▅▅▄▄▃▃▂▂▁▁] (from 3)"); // the newest 16 points, a steady fall
    expect(progressJson(snapshot as ProgressDocument, NOW, true)).toMatchObject({ step: 400, totalSteps: 1000, lossTrend: "down", stalled: false });
  });
});
