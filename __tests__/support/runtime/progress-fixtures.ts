/**
 * The progress tests' fixtures (`__tests__/runtime/progress*.test.ts`): the watcher's knobs scaled down, the
 * stalled-run alarm as synthesized, and readers of what the watcher wrote (EMF metrics log, progress.json).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type EmfRecord, series } from "./emf";
import { type AlarmDefinition } from "../safety/alarm-eval";
import { synthSafety } from "../safety/stack";
import { resourceOf } from "../synth";
import { INSTANCE_ID, RUN_ID, STUBS_DIR, Sandbox } from "./sandbox";

/** The watcher's knobs, scaled down: poll 0.1 s, a metrics record every 0.3 s, an upload at most every 1 s. */
export const FAST_PROGRESS = {
  FAKE_TRAINER: join(STUBS_DIR, "fake-progress-trainer.sh"),
  GTI_PROGRESS_POLL_SECONDS: "0.1",
  GTI_PROGRESS_METRICS_SECONDS: "0.3",
  GTI_PROGRESS_UPLOAD_SECONDS: "1",
};
export const PROGRESS_KEY = `runs/${RUN_ID}/progress.json`;
/** The test's metrics interval against the runtime's 60 s: the alarm's periods are replayed at this scale. */
export const SCALE = Number(FAST_PROGRESS.GTI_PROGRESS_METRICS_SECONDS) / 60;

let stalledAlarm: AlarmDefinition | undefined;
/** aws_cloudwatch_metric_alarm.safety_stalled_run as the safety module synthesizes it. */
export function stalledRunAlarm(): AlarmDefinition {
  stalledAlarm ??= resourceOf(synthSafety().json, "aws_cloudwatch_metric_alarm", "safety_stalled_run") as unknown as AlarmDefinition;
  return stalledAlarm;
}
/** The per-instance stall signal the alarm watches, as samples. */
export const stallSamples = (all: EmfRecord[]) =>
  series(all, "ProgressStalled", { InstanceId: INSTANCE_ID }).map((p) => ({ timestamp: p.timestamp, value: p.values[0] ?? 0 }));

export interface Progress {
  run_id: string;
  instance_id: string;
  source: string | null;
  step: number | null;
  total_steps: number | null;
  percent: number | null;
  loss: number | null;
  samples_per_second: number | null;
  steps_per_second: number | null;
  eta_seconds: number | null;
  metrics: Record<string, number>;
  loss_history: [number, number][];
  last_step_at: string | null;
  updated_at: string;
  stalled: boolean;
  stall_after_seconds: number;
  seconds_since_progress: number | null;
  malformed_lines: number;
  skipped_bytes: number;
  rotations: number;
}

export function metricsLog(sandbox: Sandbox): string[] {
  const file = sandbox.path("var/log/training-metrics.log");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}
export const records = (sandbox: Sandbox): EmfRecord[] => metricsLog(sandbox).map((line) => JSON.parse(line) as EmfRecord);
export const s3Progress = (sandbox: Sandbox): Progress => JSON.parse(sandbox.s3Read(PROGRESS_KEY)) as Progress;
export const uploads = (sandbox: Sandbox) => sandbox.callsOf("aws", "s3 cp").filter((c) => c.args.includes(`s3://outputs-bucket/${PROGRESS_KEY}`));
