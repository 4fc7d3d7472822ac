/**
 * Runs one chaos scenario against the real runtime scripts in the sandbox and records what happened (the ground truth
 * the invariants are checked against): per attempt, the events as they fired, how the units ended, the trainer's own
 * log, the stub calls; for the whole run, the fake S3's write journal.
 *
 * systemd is simulated the way training.service is configured (KillMode=mixed, ExecStopPost, TimeoutStopSec): a stop
 * is SIGTERM to the launcher's main process, SIGKILL to the whole unit at the stop timeout; when the main process is
 * gone, ExecStopPost (`gti-launcher post`, SERVICE_RESULT) runs, then what is left of the unit is SIGKILLed. A spot
 * notice's action time reclaims the instance: every process of it is SIGKILLed at that moment.
 */
import { join } from "node:path";
import { RUN_ID, Sandbox, STUBS_DIR } from "../sandbox";
import { CHAOS_CONFIG, CHAOS_KNOBS } from "./knobs";
import { readJournal, reconcile } from "./logs";
import type { FiredEvent, Observation, PhaseObservation } from "./observation";
import { Phase } from "./phase";
import type { PhaseSpec, Scenario } from "./scenario";

// The entry point of the chaos runner: what moved out stays importable from here.
export { CHAOS_CONFIG, CHAOS_KNOBS, STOP_BUDGET_S, STOP_TIMEOUT_S } from "./knobs";
export { readJournal, reconcile } from "./logs";
export type { FiredEvent, JournalEntry, Observation, PhaseObservation, PostRun, StubCallAt, TrainerEvent } from "./observation";

/** The trainer's FAKE_* environment for one attempt. */
function trainerEnv(s: Scenario, phase: PhaseSpec): Record<string, string> {
  const t = s.trainer;
  const env: Record<string, string> = {
    FAKE_TRAINER: join(STUBS_DIR, "chaos-trainer.sh"),
    FAKE_SAVE: t.save,
    FAKE_CKPT_EVERY: String(t.every),
    FAKE_STEP_SECONDS: String(t.stepSeconds),
    FAKE_CHUNKS: String(t.chunks),
    FAKE_CHUNK_BYTES: String(t.chunkBytes),
    FAKE_CHUNK_SECONDS: String(t.chunkSeconds),
    FAKE_KEEP: String(t.keep),
    FAKE_ON_TERM: t.onTerm,
  };
  if (phase.ending.kind === "exit") {
    Object.assign(env, { FAKE_MORE: String(phase.ending.more), FAKE_EXIT: String(phase.ending.code), FAKE_MID_SAVE: phase.ending.midSave ? "1" : "0" });
  }
  if (s.s3BytesPerSecond) env.FAKE_S3_BYTES_PER_SECOND = String(s.s3BytesPerSecond);
  return env;
}

/** Runs the scenario: its attempts in order, on the same or a replacement instance, until the run ends. */
export async function runScenario(s: Scenario): Promise<Observation> {
  const t0 = Date.now();
  const sandboxes: Sandbox[] = [];
  const instanceId = (n: number) => `i-0c4a05000000000${n.toString(16)}`;
  const create = async (n: number, peerOf?: Sandbox) => {
    const sb = await Sandbox.create({ config: CHAOS_CONFIG, imds: { instanceId: instanceId(n) }, ...(peerOf ? { peerOf } : {}) });
    sandboxes.push(sb);
    return sb;
  };
  const first = await create(0);
  const journal = join(first.dir, "s3-journal.jsonl");
  const phases: PhaseObservation[] = [];
  try {
    let sb = first;
    let sameInstance = false;
    let notice: FiredEvent | undefined;
    for (const [index, spec] of s.phases.entries()) {
      const env = { ...CHAOS_KNOBS, FAKE_S3_JOURNAL: journal, ...trainerEnv(s, spec) };
      const phase: Phase = new Phase(sb, env, spec, Date.now(), sameInstance ? notice : undefined);
      const end = await phase.run();
      reconcile(journal, first.s3, Date.now());
      const obs = phase.observe(index, instanceId(sandboxes.indexOf(sb)), sameInstance, end);
      phases.push(obs);
      const markers = first.markers(RUN_ID);
      if (end === "capped" || markers.includes("SUCCESS") || markers.includes("FAILURE")) break;
      const stopped = obs.fired.some((f) => f.effective && f.event.kind === "stop");
      sameInstance = end === "rebooted" || (end === "exited" && stopped && spec.afterStop === "same");
      notice = phase.notice;
      if (!sameInstance) {
        sb.killInstance();
        sb = await create(sandboxes.length, first);
      }
    }
    return { phases, journal: readJournal(journal), wallMs: Date.now() - t0 };
  } finally {
    // GTI_SOAK_KEEP=1 keeps the instances' directories (logs, state, the S3 journal) to read after a failure.
    for (const sb of sandboxes.reverse()) {
      if (process.env.GTI_SOAK_KEEP) {
        sb.killInstance();
        await sb.imds.close();
        console.log(`kept ${sb.dir}`);
      } else await sb.cleanup();
    }
  }
}
