/**
 * The outputs bucket's layout: a contract between this infrastructure (whose IAM grants are scoped to it) and the
 * runtime on the training instances (which writes it). Change it in both places or not at all.
 *
 * ```text
 * s3://<outputs bucket>/
 * ├── runs/
 * │   └── <run-id>/                 one training run; run ids match RUN_ID_PATTERN
 * │       ├── checkpoints/          checkpoint-<step>/ directories, synced while training (resume reads them)
 * │       ├── logs/                 training and runtime logs
 * │       ├── outputs/              final artifacts (model, adapters, metrics)
 * │       ├── progress.json         the training's progress (step, loss, ETA), at most once a minute while it trains
 * │       └── SUCCESS | FAILURE     exactly one marker, a small JSON document, written last;
 * │           | INTERRUPTED         INTERRUPTED while a spot-interrupted run waits to resume (replaced when it ends)
 * └── runtime/
 *     └── <sha256>.sh               the on-instance runtime bundle (training-compute uploads it; instances fetch it)
 * ```
 */
import { GtiError } from "../../src/errors";

/** Every run lives under this prefix of the outputs bucket. */
export const RUNS_PREFIX = "runs/";

/** Sub-prefix of a run holding its checkpoints. */
export const CHECKPOINTS_DIR = "checkpoints/";

/** Sub-prefix of a run holding its logs. */
export const LOGS_DIR = "logs/";

/** Sub-prefix of a run holding its final artifacts. */
export const OUTPUTS_DIR = "outputs/";

/** A run's progress document (`runtime/lib/progress.py`): step, total, loss and its trend, rate, ETA, stall state. */
export const PROGRESS_DOCUMENT = "progress.json";

/** The run finished and its outputs are complete. */
export const SUCCESS_MARKER = "SUCCESS";

/** The run failed; the marker's JSON says why. */
export const FAILURE_MARKER = "FAILURE";

/** The run was interrupted (spot) and waits to resume from its last checkpoint. */
export const INTERRUPTED_MARKER = "INTERRUPTED";

/** The markers, in the order a reader should check them. */
export const RUN_MARKERS = [SUCCESS_MARKER, FAILURE_MARKER, INTERRUPTED_MARKER] as const;

export type RunMarker = (typeof RUN_MARKERS)[number];

/** What a run id may contain (the same rule the training image's entrypoint enforces for `RUN_ID`). */
export const RUN_ID_PATTERN = /^[A-Za-z0-9._-]+$/;

/** The key prefix of one run: `runs/<run-id>/`. */
export function runPrefix(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId) || runId === "." || runId === "..") {
    throw new GtiError(`Invalid run id "${runId}". Fix: use letters, digits, ".", "_" and "-" (RUN_ID_PATTERN), not "." or "..".`);
  }
  return `${RUNS_PREFIX}${runId}/`;
}

/** The key of a run's marker, e.g. `runs/<run-id>/SUCCESS`. */
export function markerKey(runId: string, marker: RunMarker): string {
  return `${runPrefix(runId)}${marker}`;
}
