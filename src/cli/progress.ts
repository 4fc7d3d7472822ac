/**
 * A run's training progress as `gti` shows it, from `runs/<run-id>/progress.json` (written by the runtime's progress
 * watcher, `runtime/lib/progress.py`; the contract is in runtime/README.md, "Progress contract"): step / total, a
 * progress bar (cli-progress's bar renderer), the loss and its trend, the ETA and the stall state. Pure functions.
 */
import { Format, Presets } from "cli-progress";
import { ago, duration, sparkline } from "./format";

/** `progress.json` as the runtime writes it (fields `gti` reads; any may be null). */
export interface ProgressDocument {
  readonly source?: "progress_file" | "trainer_state" | null;
  readonly step?: number | null;
  readonly total_steps?: number | null;
  readonly percent?: number | null;
  readonly loss?: number | null;
  readonly steps_per_second?: number | null;
  readonly samples_per_second?: number | null;
  readonly eta_seconds?: number | null;
  readonly loss_history?: readonly (readonly [number, number])[] | null;
  readonly last_step_at?: string | null;
  readonly updated_at?: string | null;
  readonly stalled?: boolean | null;
  readonly stall_after_seconds?: number | null;
  readonly seconds_since_progress?: number | null;
  readonly malformed_lines?: number | null;
}

/** Points of the loss trend sparkline. */
export const LOSS_TREND_POINTS = 16;

/** Width of the progress bar in `gti status` (`gti runs` uses a shorter one). */
export const BAR_WIDTH = 24;

/** `[████████░░░░░░░░]` for a fraction 0..1, drawn by cli-progress (its shades_classic preset). */
export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const preset = Presets.shades_classic;
  const complete = preset.barCompleteChar ?? "#";
  const incomplete = preset.barIncompleteChar ?? "-";
  const bar = Format.BarFormat(Math.min(1, Math.max(0, fraction)), {
    barsize: width,
    barCompleteString: complete.repeat(width),
    barIncompleteString: incomplete.repeat(width),
    barGlue: "",
  });
  return `[${bar}]`;
}

/** `1200 / 5000`, or `1200` without a total; `-` without a step. */
export function stepText(progress: ProgressDocument | undefined): string {
  if (progress?.step === undefined || progress.step === null) return "-";
  return progress.total_steps ? `${integer(progress.step)} / ${integer(progress.total_steps)}` : integer(progress.step);
}

/** The fraction done, or undefined without a total. */
export function fractionDone(progress: ProgressDocument): number | undefined {
  if (progress.step === undefined || progress.step === null || !progress.total_steps) return undefined;
  return progress.step / progress.total_steps;
}

export type Trend = "down" | "up" | "flat";

/**
 * The direction of the loss over the newest points: the mean of the newest third against the mean of the oldest third
 * of the last {@link LOSS_TREND_POINTS}; a change under 1% is flat. Undefined with fewer than 3 points.
 */
export function lossTrend(history: readonly (readonly [number, number])[] | null | undefined): Trend | undefined {
  const points = (history ?? []).slice(-LOSS_TREND_POINTS).map(([, loss]) => loss);
  if (points.length < 3) return undefined;
  const third = Math.max(1, Math.floor(points.length / 3));
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const before = mean(points.slice(0, third));
  const after = mean(points.slice(-third));
  const change = (after - before) / Math.max(Math.abs(before), 1e-12);
  if (Math.abs(change) < 0.01) return "flat";
  return change < 0 ? "down" : "up";
}

const ARROWS: Record<Trend, string> = { down: "↓", up: "↑", flat: "→" };

/** `1.83 ↓` (the loss and its trend's arrow), `1.83`, or `-`. */
export function lossText(progress: ProgressDocument | undefined): string {
  if (progress?.loss === undefined || progress.loss === null) return "-";
  const trend = lossTrend(progress.loss_history);
  return `${number(progress.loss)}${trend ? ` ${ARROWS[trend]}` : ""}`;
}

/** The loss trend's sparkline, scaled from its lowest to its highest point (`▇▆▅▄▃▂▁`), or "" with fewer than 2. */
export function lossSparkline(history: readonly (readonly [number, number])[] | null | undefined): string {
  const points = (history ?? []).slice(-LOSS_TREND_POINTS).map(([, loss]) => loss);
  if (points.length < 2) return "";
  const low = Math.min(...points);
  const high = Math.max(...points);
  return sparkline(points.map((v) => (high > low ? v - low : 0.5)), high > low ? high - low : 1);
}

/**
 * Seconds left at `now`: the ETA progress.json gave at `updated_at`, less the time since, never below 0; undefined
 * without an ETA, when stalled, or when the run is no longer running.
 */
export function etaSeconds(progress: ProgressDocument | undefined, now: Date, running: boolean): number | undefined {
  if (!running || !progress || progress.stalled || progress.eta_seconds === undefined || progress.eta_seconds === null) return undefined;
  const updated = date(progress.updated_at);
  const elapsed = updated ? Math.max(0, (now.getTime() - updated.getTime()) / 1000) : 0;
  return Math.max(0, progress.eta_seconds - elapsed);
}

/** `14m 30s`, `STALLED`, or `-`. */
export function etaText(progress: ProgressDocument | undefined, now: Date, running: boolean): string {
  if (running && progress?.stalled) return "STALLED";
  const eta = etaSeconds(progress, now, running);
  return eta === undefined ? "-" : duration(eta * 1000);
}

/** The one-cell summary of `gti runs`: `1200/5000 [███░░░░░░░] 24%`, `1200` without a total, or `-`. */
export function progressCell(progress: ProgressDocument | undefined): string {
  if (!progress || progress.step === undefined || progress.step === null) return "-";
  const fraction = fractionDone(progress);
  if (fraction === undefined) return integer(progress.step);
  return `${integer(progress.step)}/${integer(progress.total_steps ?? 0)} ${progressBar(fraction, 10)} ${Math.floor(fraction * 100)}%`;
}

/**
 * The lines `gti status` prints for a run's progress (indented by the caller): step / total with the bar, percent,
 * ETA and rate, or the stall; the loss with its trend; how fresh the data is.
 */
export function progressLines(progress: ProgressDocument | undefined, now: Date, running: boolean): string[] {
  if (!progress || progress.step === undefined || progress.step === null) {
    return running ? ["progress: not reported (the training code can report it: runtime/README.md, \"Progress contract\")"] : [];
  }
  const fraction = fractionDone(progress);
  const last = date(progress.last_step_at);
  const parts = [`progress: step ${stepText(progress)}`];
  if (fraction !== undefined) parts.push(` ${progressBar(fraction)} ${Math.floor(fraction * 100)}%`);
  if (running && progress.stalled) {
    const window = progress.stall_after_seconds ? ` (stall window ${duration(progress.stall_after_seconds * 1000)})` : "";
    parts.push(`, STALLED: no new step for ${last ? duration(now.getTime() - last.getTime()) : "?"}${window}`);
  } else {
    const eta = etaSeconds(progress, now, running);
    if (eta !== undefined) parts.push(`, ETA ${duration(eta * 1000)}`);
    if (progress.steps_per_second) parts.push(`${eta !== undefined ? " at" : ","} ${number(progress.steps_per_second)} steps/s`);
    if (last) parts.push(`, last step ${ago(last, now)}`);
  }
  const lines = [parts.join("")];
  if (progress.loss !== undefined && progress.loss !== null) {
    const spark = lossSparkline(progress.loss_history);
    const first = progress.loss_history?.[0]?.[1];
    lines.push(`loss: ${lossText(progress)}${spark ? ` [${spark}]` : ""}${first !== undefined && progress.loss_history && progress.loss_history.length > 1 ? ` (from ${number(first)})` : ""}`);
  }
  const updated = date(progress.updated_at);
  const notes: string[] = [];
  if (updated && now.getTime() - updated.getTime() > 5 * 60_000) notes.push(`as of ${ago(updated, now)}`);
  if (progress.source === "trainer_state") notes.push("from trainer_state.json at each checkpoint");
  if (progress.malformed_lines) notes.push(`${progress.malformed_lines} malformed progress line${progress.malformed_lines === 1 ? "" : "s"} skipped`);
  if (notes.length > 0) lines.push(`(${notes.join("; ")})`);
  return lines;
}

/** progress.json as `--json` prints it (camelCase, the ETA as of now, the trend). */
export function progressJson(progress: ProgressDocument | undefined, now: Date, running: boolean): Record<string, unknown> | null {
  if (!progress || progress.step === undefined || progress.step === null) return null;
  const eta = etaSeconds(progress, now, running);
  return {
    source: progress.source ?? null,
    step: progress.step,
    totalSteps: progress.total_steps ?? null,
    percent: progress.percent ?? null,
    loss: progress.loss ?? null,
    lossTrend: lossTrend(progress.loss_history) ?? null,
    stepsPerSecond: progress.steps_per_second ?? null,
    samplesPerSecond: progress.samples_per_second ?? null,
    etaSeconds: eta === undefined ? null : Math.round(eta),
    stalled: Boolean(progress.stalled),
    lastStepAt: progress.last_step_at ?? null,
    updatedAt: progress.updated_at ?? null,
    malformedLines: progress.malformed_lines ?? 0,
  };
}

function integer(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** At most 4 significant digits, no exponent for ordinary values: `1.83`, `0.0002`, `41.2`, `1200`. */
function number(value: number): string {
  return Number(value.toPrecision(4)).toString();
}

function date(text: string | null | undefined): Date | undefined {
  if (!text) return undefined;
  const parsed = new Date(text);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
