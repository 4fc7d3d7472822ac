/**
 * One attempt of a chaos scenario: the launcher and spot watcher of one boot, the scenario's events fired on time, and
 * the unit's lifecycle as systemd runs training.service (stop timeout, ExecStopPost, the leftovers).
 */
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { RUN_ID, type Running, type Sandbox } from "../sandbox";
import { STOP_TIMEOUT_S } from "./knobs";
import { readLines, stubCalls, trainerEvents } from "./logs";
import type { FiredEvent, PhaseObservation, PostRun, TrainerEvent } from "./observation";
import type { EventSpec, PhaseSpec } from "./scenario";

/** An attempt that has not ended after this long is a hang (a violation), then killed. */
const PHASE_CAP_MS = 30_000;
/** After an attempt ends on an instance that stays up, late events still fire for this long. */
const LINGER_MS = 200;
const TICK_MS = 25;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Phase {
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
