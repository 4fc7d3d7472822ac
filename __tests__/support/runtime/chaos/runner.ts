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
import { appendFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { RUN_ID, type Running, Sandbox, STUBS_DIR } from "../sandbox";
import type { EventSpec, PhaseSpec, Scenario } from "./scenario";

/**
 * The soak's scaled clocks (production value in the comment). One second here stands for about 20 in production, but
 * the runtime counts whole seconds: margin and reserve keep at least 1-2 s.
 */
export const CHAOS_KNOBS = {
  GTI_SPOT_POLL_SECONDS: "0.25", // 5
  GTI_CHECKPOINT_INTERVAL_SECONDS: "0.8", // 900: the periodic early sync
  GTI_S3_RETRIES: "5", // 5
  GTI_S3_BACKOFF_SECONDS: "0.1", // 2: retries span 1.5 s (30 s)
  GTI_DEADLINE_MARGIN_SECONDS: "1", // 5
  GTI_MARKER_RESERVE_SECONDS: "2", // 10
  GTI_FINAL_SYNC_SECONDS: "2", // 60
  GTI_IMDS_TIMEOUT: "0.5", // 2
  GTI_IMDS_RETRIES: "3", // 3
} as const;
/** runtime.env values of the soak (the sandbox's defaults otherwise). */
export const CHAOS_CONFIG = { GTI_SPOT_GRACE_SECONDS: "1", GTI_CHECKPOINT_SETTLE_SECONDS: "1" } as const;
const GRACE_S = 1;
/** What install.sh derives: grace + max(grace, final sync) + reserve; systemd's TimeoutStopSec adds 10 s (here 1). */
export const STOP_BUDGET_S = GRACE_S + Math.max(GRACE_S, Number(CHAOS_KNOBS.GTI_FINAL_SYNC_SECONDS)) + Number(CHAOS_KNOBS.GTI_MARKER_RESERVE_SECONDS);
export const STOP_TIMEOUT_S = STOP_BUDGET_S + 1;
/** An attempt that has not ended after this long is a hang (a violation), then killed. */
const PHASE_CAP_MS = 30_000;
/** After an attempt ends on an instance that stays up, late events still fire for this long. */
const LINGER_MS = 200;
const TICK_MS = 25;

export interface TrainerEvent {
  /** Epoch ms. */
  t: number;
  event: string;
  fields: string[];
}

export interface FiredEvent {
  /** Epoch ms. */
  t: number;
  event: EventSpec;
  /** Notice: AWS's action time (epoch ms, whole seconds as AWS writes it). */
  actionAt?: number;
  /** Faults: the window's end (epoch ms). */
  until?: number;
  /** Did it reach anything (a stop or kill of a launcher that had already exited does nothing). */
  effective: boolean;
  /** A notice posted before a reboot: still there for the next boot of the instance (`t` is that boot's start). */
  inherited?: boolean;
}

export interface PostRun {
  t: number;
  result: string;
  code: number | null;
  /** SIGKILLed at its timeout. */
  timedOut: boolean;
}

export interface StubCallAt {
  t: number;
  line: string;
}

export interface PhaseObservation {
  index: number;
  instanceId: string;
  /** This attempt runs on the instance of the previous one (after a reboot or a restart after a stop). */
  sameInstance: boolean;
  startedAt: number;
  endedAt: number;
  end: "exited" | "terminated" | "reclaimed" | "rebooted" | "capped";
  launcher: { code: number | null; signal: string | null; exitedAt: number } | undefined;
  /** The unit was SIGKILLed at its stop timeout. */
  unitKilledAt?: number;
  posts: PostRun[];
  fired: FiredEvent[];
  trainer: TrainerEvent[];
  /** Calls of the `aws` stub during the attempt (for terminate calls and the attempt's start). */
  aws: StubCallAt[];
  /** Calls that a fault rule changed. */
  faults: StubCallAt[];
  /** Markers in S3 when the attempt ended. */
  markersAtEnd: string[];
  /** outputs/model.bin in S3 when the attempt ended. */
  modelAtEnd: string | undefined;
  /** The docker stub SIGKILLed the container (grace over). */
  containerKilled: boolean;
  /** When the runtime recorded a stop (STATE/stop-requested written: the launcher's SIGTERM trap ran). */
  stopRecordedAt?: number;
}

export interface JournalEntry {
  /** Epoch ms. */
  t: number;
  op: "put" | "rm";
  key: string;
  size: number;
  body?: string;
}

export interface Observation {
  phases: PhaseObservation[];
  journal: JournalEntry[];
  wallMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readLines(file: string, from = 0): { lines: string[]; size: number } {
  if (!existsSync(file)) return { lines: [], size: 0 };
  const size = statSync(file).size;
  if (size <= from) return { lines: [], size: from };
  const text = readFileSync(file).subarray(from).toString("utf8");
  const end = text.lastIndexOf("\n") + 1; // a line being written waits for the next read
  return { lines: text.slice(0, end).split("\n").filter(Boolean), size: from + Buffer.byteLength(text.slice(0, end)) };
}

function trainerEvents(lines: string[]): TrainerEvent[] {
  return lines.map((line) => {
    const [t, event, ...fields] = line.split(" ");
    return { t: Number(t) * 1000, event: event ?? "", fields };
  });
}

function stubCalls(file: string, from: number, to: number, cmd = "aws"): StubCallAt[] {
  return readLines(file).lines.flatMap((line) => {
    const c = JSON.parse(line) as { t: number; cmd?: string; args?: string[]; call?: string };
    if (c.t < from || c.t > to) return [];
    if (c.call !== undefined) return [{ t: c.t, line: c.call }];
    return c.cmd === cmd ? [{ t: c.t, line: [c.cmd, ...(c.args ?? [])].join(" ") }] : [];
  });
}

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

class Phase {
  readonly fired: FiredEvent[] = [];
  readonly posts: PostRun[] = [];
  private launcher: Running;
  private launcherExit: PhaseObservation["launcher"];
  private watcher: Running;
  private watcherDone = false;
  private stopAt: number | undefined; // SIGTERM sent to the launcher
  private killAt: number | undefined; // the unit is SIGKILLed then (stop timeout)
  private unitKilledAt: number | undefined;
  private post: { running: Running; killAt: number; result: string; t: number; killed?: boolean } | undefined;
  private unitDone = false; // the launcher, ExecStopPost and the unit's leftovers are gone
  private rebooting = false;
  private actionAt: number | undefined;
  private readonly stepTimes: number[] = []; // when the trainer made its n-th step in this attempt
  private trainerOffset: number;
  private readonly trainer: TrainerEvent[] = [];
  private readonly pending: { spec: PhaseSpec["events"][number]; dueAt?: number }[];
  private stopRecordedAt: number | undefined;

  constructor(
    private readonly sb: Sandbox,
    private readonly env: Record<string, string>,
    spec: PhaseSpec,
    private readonly startedAt: number,
    notice?: FiredEvent,
  ) {
    this.trainerOffset = existsSync(this.trainerLog) ? statSync(this.trainerLog).size : 0;
    this.pending = spec.events.map((e) => ({ spec: e }));
    if (notice?.actionAt !== undefined) {
      this.actionAt = notice.actionAt;
      this.fired.push({ ...notice, t: startedAt, inherited: true });
    }
    this.watcher = sb.start("bin/gti-spot-watcher", [], env, "watcher");
    this.watcher.done.then(() => (this.watcherDone = true));
    this.launcher = this.startLauncher();
  }

  private get trainerLog(): string {
    return join(this.sb.state, "trainer.log");
  }

  private startLauncher(): Running {
    const launcher = this.sb.start("bin/gti-launcher", ["run"], this.env, "training");
    launcher.done.then((r) => (this.launcherExit = { code: r.code, signal: r.signal, exitedAt: Date.now() }));
    return launcher;
  }

  private readTrainer(): void {
    const { lines, size } = readLines(this.trainerLog, this.trainerOffset);
    this.trainerOffset = size;
    for (const e of trainerEvents(lines)) {
      this.trainer.push(e);
      if (e.event === "step") this.stepTimes.push(e.t);
    }
  }

  private fire(e: EventSpec, now: number): void {
    const record: FiredEvent = { t: now, event: e, effective: true };
    const alive = this.launcherExit === undefined;
    switch (e.kind) {
      case "rebalance":
        this.sb.imds.rebalance(new Date(now + this.fired.length * 1000).toISOString().replace(/\.\d+Z$/, "Z"));
        break;
      case "notice": {
        if (this.actionAt !== undefined) {
          record.effective = false; // AWS posts one notice
          break;
        }
        const time = new Date(now + e.leftS * 1000).toISOString().replace(/\.\d+Z$/, "Z"); // whole seconds, as AWS writes it
        this.sb.imds.set("meta-data/spot/instance-action", JSON.stringify({ action: "terminate", time }));
        this.actionAt = record.actionAt = Date.parse(time);
        break;
      }
      case "stop":
        record.effective = this.stop(now, e.killAfterS);
        break;
      case "reboot":
        this.rebooting = true;
        record.effective = this.stop(now);
        this.sb.signalUnit("watcher", "SIGTERM");
        break;
      case "sigkill":
        record.effective = alive;
        if (alive) this.launcher.child.kill("SIGKILL");
        break;
      case "s3":
        record.until = now + e.forMs;
        if (e.mode === "slow") this.sb.rule("aws s3*", "*", "-", e.delayS, "slow", [now, record.until]);
        else if (e.mode === "fail") this.sb.rule("aws s3*", "*", 1, 0, "An error occurred (ServiceUnavailable) (injected)", [now, record.until]);
        else this.sb.rule("aws s3*", "*", 1, "@end", "Read timeout on endpoint URL (injected hang)", [now, record.until]);
        break;
      case "imds":
        record.until = now + e.forMs;
        this.sb.imds.fault(e.mode, record.until, 1000);
        break;
    }
    this.fired.push(record);
  }

  /** systemctl stop training: SIGTERM to the main process; SIGKILL to the unit at the timeout. */
  private stop(now: number, killAfterS?: number): boolean {
    if (this.launcherExit !== undefined || this.stopAt !== undefined) return false;
    this.stopAt = now;
    this.killAt = now + (killAfterS ?? STOP_TIMEOUT_S) * 1000;
    this.launcher.child.kill("SIGTERM");
    return true;
  }

  private serviceResult(): string {
    if (this.unitKilledAt !== undefined) return "timeout";
    if (this.launcherExit?.signal) return "signal";
    return this.launcherExit?.code === 0 ? "success" : "exit-code";
  }

  /** The unit's lifecycle once per tick: stop timeout, ExecStopPost, the leftovers. */
  private service(now: number): void {
    if (this.unitDone) return;
    if (this.launcherExit === undefined) {
      if (this.killAt !== undefined && now >= this.killAt && this.unitKilledAt === undefined) {
        this.unitKilledAt = now;
        this.sb.signalUnit("training", "SIGKILL");
      }
      return;
    }
    if (this.post === undefined) {
      const result = this.serviceResult();
      const running = this.sb.start("bin/gti-launcher", ["post"], { ...this.env, SERVICE_RESULT: result }, "training");
      this.post = { running, killAt: now + STOP_TIMEOUT_S * 1000, result, t: now };
      running.done.then((r) => {
        this.posts.push({ t: this.post?.t ?? now, result, code: r.code, timedOut: this.post?.killed === true });
        this.sb.signalUnit("training", "SIGKILL"); // what is left of the unit
        this.unitDone = true;
      });
      return;
    }
    if (now >= this.post.killAt && !this.post.killed) {
      this.post.killed = true; // systemd: ExecStopPost outlasted TimeoutStopSec
      this.sb.signalUnit("training", "SIGKILL");
    }
  }

  async run(): Promise<PhaseObservation["end"]> {
    let lingerUntil: number | undefined;
    for (;;) {
      const now = Date.now();
      this.readTrainer();
      for (const p of this.pending) {
        if (p.dueAt === undefined) {
          const t = p.spec.trigger;
          if ("atMs" in t) p.dueAt = this.startedAt + t.atMs;
          else if (this.stepTimes.length >= t.afterSteps) p.dueAt = (this.stepTimes[t.afterSteps - 1] as number) + t.delayMs;
        }
      }
      for (const p of this.pending.filter((q) => q.dueAt !== undefined && q.dueAt <= now)) {
        this.pending.splice(this.pending.indexOf(p), 1);
        this.fire(p.spec.event, now);
      }
      this.service(now);
      if (this.actionAt !== undefined && now >= this.actionAt) {
        this.sb.killInstance(); // AWS reclaims the instance
        return "reclaimed";
      }
      if (now - this.startedAt > PHASE_CAP_MS) {
        this.sb.killInstance();
        return "capped";
      }
      if (this.unitDone) {
        if (this.rebooting) {
          if (!this.watcherDone && this.stopAt !== undefined && now < this.stopAt + STOP_TIMEOUT_S * 1000) {
            await sleep(TICK_MS);
            continue;
          }
          await this.shutdownContainers();
          this.sb.killInstance();
          this.recordStop();
          rmSync(join(this.sb.root, "run"), { recursive: true, force: true }); // /run is a tmpfs
          return "rebooted";
        }
        if (this.actionAt !== undefined) {
          // The instance goes at the action time: nothing more to wait for once the watcher's drain is over.
          if (this.watcherDone) {
            this.sb.killInstance();
            return "reclaimed";
          }
        } else if (this.terminated()) {
          this.sb.killInstance();
          return "terminated";
        } else {
          lingerUntil ??= now + LINGER_MS;
          if (now >= lingerUntil && this.pending.every((p) => p.dueAt === undefined || p.dueAt > now + 5000)) {
            this.sb.signalUnit("watcher", "SIGKILL");
            return "exited";
          }
          if (now >= lingerUntil + 5000) {
            this.sb.signalUnit("watcher", "SIGKILL");
            return "exited";
          }
        }
      }
      await sleep(TICK_MS);
    }
  }

  /** docker at shutdown: SIGTERM to what still runs in a container, SIGKILL 0.5 s later (10 s in production). */
  private async shutdownContainers(): Promise<void> {
    if (this.sb.signalContainer("SIGTERM") === 0) return;
    for (let waited = 0; waited < 500 && this.sb.signalContainer(0) > 0; waited += TICK_MS) await sleep(TICK_MS);
  }

  /** The notice this attempt knows of (a next boot of the instance still sees it). */
  get notice(): FiredEvent | undefined {
    return this.fired.find((f) => f.event.kind === "notice" && f.effective);
  }

  private recordStop(): void {
    const flag = this.sb.path("run/gpu-training/stop-requested");
    if (existsSync(flag)) this.stopRecordedAt = statSync(flag).mtimeMs;
  }

  private terminated(): boolean {
    return this.sb.callsOf("aws", "ec2 terminate-instances").some((c) => c.t >= this.startedAt);
  }

  observe(index: number, instanceId: string, sameInstance: boolean, end: PhaseObservation["end"]): PhaseObservation {
    this.readTrainer();
    if (end !== "rebooted") this.recordStop();
    const endedAt = Date.now();
    const calls = join(this.sb.state, "calls.jsonl");
    const killedFile = join(this.sb.state, "docker", "killed");
    return {
      index,
      instanceId,
      sameInstance,
      startedAt: this.startedAt,
      endedAt,
      end,
      launcher: this.launcherExit,
      ...(this.unitKilledAt !== undefined ? { unitKilledAt: this.unitKilledAt } : {}),
      posts: this.posts,
      fired: this.fired,
      trainer: this.trainer,
      aws: stubCalls(calls, this.startedAt, endedAt),
      faults: stubCalls(join(this.sb.state, "faults.jsonl"), this.startedAt, endedAt),
      markersAtEnd: this.sb.markers(),
      modelAtEnd: this.sb.s3Exists(`runs/${RUN_ID}/outputs/model.bin`) ? this.sb.s3Read(`runs/${RUN_ID}/outputs/model.bin`) : undefined,
      containerKilled: existsSync(killedFile) && readLines(killedFile).lines.some((l) => Number(l.split(" ")[0]) >= this.startedAt),
      ...(this.stopRecordedAt !== undefined && this.stopRecordedAt >= this.startedAt ? { stopRecordedAt: this.stopRecordedAt } : {}),
    };
  }
}

/**
 * The stubs journal an S3 write right after it (a writer killed in between, e.g. an early sync whose process group the
 * drain kills, or the instance reclaimed, leaves the object unjournaled): after each attempt, what S3 holds under the
 * run and the journal does not say is journaled (`synthetic`) at the time it was put: the object's ctime, which the
 * stub's rename into place set (as the stub's own lines do). Stamped with the reconcile time instead, a LATEST.json put
 * before the marker read as written after it (soak seed 2474377474), and a checkpoint file put before LATEST.json as
 * missing when LATEST.json named it (2601275768). A delete the journal lacks has no such time: `t`.
 */
export function reconcile(journal: string, s3: string, t: number): void {
  const state = new Map<string, number>();
  for (const line of readLines(journal).lines) {
    const e = JSON.parse(line) as JournalEntry;
    if (e.op === "rm") state.delete(e.key);
    else state.set(e.key, e.size);
  }
  const prefix = `outputs-bucket/runs/${RUN_ID}/`;
  const present = new Set(Sandbox.files(join(s3, prefix)).map((f) => prefix + f));
  const out: string[] = [];
  for (const key of present) {
    const size = statSync(join(s3, key)).size;
    if (state.get(key) === size && !/(LATEST\.json|SUCCESS|FAILURE|INTERRUPTED)$/.test(key)) continue;
    const body = /(LATEST\.json|SUCCESS|FAILURE|INTERRUPTED)$/.test(key) ? readFileSync(join(s3, key), "utf8").trimEnd() : undefined; // as the stub's $(<file)
    if (state.get(key) === size && body !== undefined && lastBody(journal, key) === body) continue;
    const putAt = statSync(join(s3, key)).ctimeMs / 1000;
    out.push(JSON.stringify({ t: putAt, op: "put", key, size, ...(body !== undefined ? { body } : {}), synthetic: true }));
  }
  for (const key of state.keys()) if (key.startsWith(prefix) && !present.has(key)) out.push(JSON.stringify({ t: t / 1000, op: "rm", key, size: 0, synthetic: true }));
  if (out.length) appendFileSync(journal, `${out.join("\n")}\n`);
}

/** The journal's entries, times in epoch ms. */
export function readJournal(journal: string): JournalEntry[] {
  return readLines(journal).lines.map((l) => JSON.parse(l) as JournalEntry).map((e) => ({ ...e, t: e.t * 1000 }));
}

function lastBody(journal: string, key: string): string | undefined {
  let body: string | undefined;
  for (const line of readLines(journal).lines) {
    const e = JSON.parse(line) as JournalEntry;
    if (e.key === key) body = e.op === "rm" ? undefined : e.body;
  }
  return body;
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
