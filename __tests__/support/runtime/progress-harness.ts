/**
 * runtime/lib/progress.py's watcher driven directly, for tests: a python process imports it, feeds it progress lines at
 * given times of a fake clock (seconds after `start`) through a real progress file, and prints its snapshot (what
 * progress.json holds) and the EMF record it would write. No launcher, no sandbox: milliseconds of CPU.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME_DIR, realPython3 } from "./sandbox";

/** Lines appended at times (seconds after the watcher started), each read at once; the snapshot is taken at `end`. */
export interface WatcherScenario {
  /** The watcher's environment (GTI_STALL_MINUTES, GTI_STALL_TAG, GTI_PROGRESS_MAX_METRICS, RUN_ID...). */
  readonly env?: Record<string, string>;
  readonly reports: readonly { readonly at: number; readonly lines: readonly string[] }[];
  readonly end: number;
  /** The fake clock's start, seconds since the epoch. @default 1000 */
  readonly start?: number;
  /** A checkpoint-<n>/trainer_state.json to write, `at` seconds after the start (negative: before, i.e. restored). */
  readonly trainerState?: { readonly at: number; readonly step: number; readonly maxSteps: number; readonly losses: readonly number[] };
  /** Appended to the progress file by the "trainer" when a rotation copies it: after the poll's read, before the copy. */
  readonly appendBeforeRotationCopy?: string;
}

export interface WatcherOutput {
  /** progress.json's content. */
  readonly snapshot: Record<string, unknown>;
  /** The EMF record of the reports' window, or null before the first report. */
  readonly emf: Record<string, unknown> | null;
}

const HARNESS = `
import json, sys
sys.dont_write_bytecode = True  # no __pycache__ in runtime/ (every file there is bundled)
sys.path.insert(0, sys.argv[1])
import progress
scenario, path = json.loads(sys.argv[2]), sys.argv[3]
start = float(scenario.get("start", 1000))
clock = [start]
import os
checkpoints = path + ".checkpoints"
os.makedirs(checkpoints)
env = dict(scenario.get("env", {}), GTI_PROGRESS_HOST_FILE=path, GTI_PROGRESS_CHECKPOINT_DIR=checkpoints)
w = progress.Watcher(env=env, clock=lambda: clock[0])
late = scenario.get("appendBeforeRotationCopy")
if late:
    copy = progress.shutil.copyfile
    def copy_after_append(source, target):
        with open(source, "a") as out:
            out.write(late)
        return copy(source, target)
    progress.shutil.copyfile = copy_after_append
ts = scenario.get("trainerState")
if ts:
    d = os.path.join(checkpoints, "checkpoint-%d" % ts["step"])
    os.makedirs(d)
    history = [{"step": i + 1, "loss": loss} for i, loss in enumerate(ts["losses"])]
    with open(os.path.join(d, "trainer_state.json"), "w") as out:
        json.dump({"global_step": ts["step"], "max_steps": ts["maxSteps"], "log_history": history}, out)
    os.utime(os.path.join(d, "trainer_state.json"), (start + ts["at"], start + ts["at"]))
    clock[0] = start + max(ts["at"], 0)
    w.read_trainer_state()
for report in scenario["reports"]:
    clock[0] = start + report["at"]
    with open(path, "a") as out:
        out.write("".join(line + "\\n" for line in report["lines"]))
    w.take_lines(w.read_file())
clock[0] = start + scenario["end"]
snap = w.snapshot()
print(json.dumps({"snapshot": snap, "emf": w.emf_record(snap)}))
`;

/** Runs the scenario through progress.py. */
export function runWatcher(scenario: WatcherScenario): WatcherOutput {
  const dir = mkdtempSync(join(tmpdir(), "gti-progress-"));
  try {
    const out = execFileSync(realPython3() ?? "python3", ["-c", HARNESS, join(RUNTIME_DIR, "lib"), JSON.stringify(scenario), join(dir, "progress.jsonl")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out) as WatcherOutput;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
