/**
 * The chaos soak's sequences: everything an iteration does is drawn here from its seed, up front, so a seed names one
 * sequence exactly (printed by {@link describeScenario}). Times are scaled: the soak's clocks (chaos/knobs.ts) make
 * AWS's two-minute notice about 6 s.
 */

/** mulberry32: small, fast, and the same sequence for a seed on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A float in [a, b), rounded to 3 decimals (so a printed sequence is the sequence). */
  float(a: number, b: number): number {
    return Math.round((a + (b - a) * this.next()) * 1000) / 1000;
  }

  /** An integer in [a, b]. */
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of the values, by weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of choices) {
      if ((r -= w) < 0) return v;
    }
    return (choices[choices.length - 1] as readonly [number, T])[1];
  }
}

/** The seed of iteration `i` of a soak started with `base` (each iteration re-runs alone from its own seed). */
export function iterationSeed(base: number, i: number): number {
  let h = (base ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** How the training code saves (runtime/README.md, checkpoint contract). */
export type SaveKind = "complete" | "tmpcomplete" | "atomic-dir" | "atomic-file" | "inplace";

export interface TrainerSpec {
  save: SaveKind;
  /** A checkpoint every `every` steps; 0: never. */
  every: number;
  stepSeconds: number;
  /** Weights written in `chunks` blocks of `chunkBytes`, `chunkSeconds` apart (huge: many, slow, throttled uploads). */
  chunks: number;
  chunkBytes: number;
  chunkSeconds: number;
  huge: boolean;
  /** Local checkpoints kept (older ones deleted, like save_total_limit). */
  keep: number;
  onTerm: "save" | "exit" | "ignore";
}

/** How the container ends in a phase: trains until stopped, or exits by itself after `more` steps. */
export type Ending = { kind: "run" } | { kind: "exit"; more: number; code: 0 | 1 | 137 | 143; midSave: boolean };

/** When an event fires: once the phase's trainer made `afterSteps` steps, plus a delay; or at a time after the start. */
export type Trigger = { afterSteps: number; delayMs: number } | { atMs: number };

export type EventSpec =
  | { kind: "rebalance" }
  /** A spot notice with `leftS` seconds before AWS acts (scaled: 6 s ~ 120 s). */
  | { kind: "notice"; leftS: number }
  /** `systemctl stop training`; `killAfterS`: the host is too slow, systemd SIGKILLs the unit that early (timeout). */
  | { kind: "stop"; killAfterS?: number }
  /** An OS reboot: both units stopped, the container stopped by docker, /run wiped; the same instance boots again. */
  | { kind: "reboot" }
  /** SIGKILL of the launcher's main process (systemd then runs ExecStopPost). */
  | { kind: "sigkill" }
  | { kind: "s3"; mode: "slow" | "fail" | "hang"; forMs: number; delayS: number }
  | { kind: "imds"; mode: "slow" | "401"; forMs: number };

export interface PlannedEvent {
  trigger: Trigger;
  event: EventSpec;
}

export interface PhaseSpec {
  ending: Ending;
  events: PlannedEvent[];
  /** After a stop that leaves the instance up: the operator starts training again there, or replaces the instance. */
  afterStop: "same" | "replacement";
}

export interface Scenario {
  seed: number;
  trainer: TrainerSpec;
  /** S3 copies at this rate (huge checkpoints); undefined: instant. */
  s3BytesPerSecond?: number;
  /** Attempts in order, as long as the run goes on (the last one is calm and finishes). */
  phases: PhaseSpec[];
}

export const MAX_PHASES = 4;
const TERMINAL: ReadonlySet<EventSpec["kind"]> = new Set(["notice", "stop", "reboot", "sigkill"]);

function drawTrainer(rng: Rng): { trainer: TrainerSpec; s3BytesPerSecond?: number } {
  const huge = rng.chance(0.15);
  const trainer: TrainerSpec = {
    save: rng.weighted<SaveKind>([[1, "complete"], [1, "tmpcomplete"], [1, "atomic-dir"], [1, "atomic-file"], [1, "inplace"]]),
    every: rng.weighted([[0.07, 0], [0.4, 1], [0.33, 2], [0.2, 3]]),
    stepSeconds: rng.float(0.03, 0.08),
    chunks: huge ? rng.int(6, 12) : rng.int(1, 2),
    chunkBytes: huge ? 32768 : 512,
    chunkSeconds: huge ? rng.float(0.01, 0.03) : 0,
    huge,
    keep: rng.int(2, 4),
    onTerm: rng.weighted([[0.6, "save"], [0.25, "exit"], [0.15, "ignore"]] as const),
  };
  return huge ? { trainer, s3BytesPerSecond: 1_000_000 } : { trainer };
}

function drawEvent(rng: Rng): EventSpec {
  const kind = rng.weighted<EventSpec["kind"]>([[2, "rebalance"], [3, "notice"], [2, "stop"], [1.5, "reboot"], [1, "sigkill"], [2.5, "s3"], [1.5, "imds"]]);
  switch (kind) {
    case "notice":
      return { kind, leftS: rng.chance(0.55) ? rng.float(4.5, 6.5) : rng.float(0, 4.5) };
    case "stop":
      return rng.chance(0.15) ? { kind, killAfterS: rng.float(0.2, 2) } : { kind };
    case "s3": {
      const mode = rng.weighted([[0.35, "slow"], [0.4, "fail"], [0.25, "hang"]] as const);
      return { kind, mode, forMs: rng.int(200, 1200), delayS: mode === "slow" ? rng.float(0.05, 0.4) : 0 };
    }
    case "imds":
      return { kind, mode: rng.chance(0.5) ? "slow" : "401", forMs: rng.int(200, 1500) };
    default:
      return { kind } as EventSpec;
  }
}

function drawTrigger(rng: Rng): Trigger {
  return rng.chance(0.7) ? { afterSteps: rng.int(1, 8), delayMs: rng.int(0, 200) } : { atMs: rng.int(0, 1500) };
}

function drawPhase(rng: Rng, calm: boolean): PhaseSpec {
  const afterStop = rng.chance(0.5) ? "same" : "replacement";
  if (calm) return { ending: { kind: "exit", more: rng.int(1, 4), code: 0, midSave: false }, events: [], afterStop };
  const ending: Ending = rng.chance(0.6)
    ? { kind: "run" }
    : (() => {
        const code = rng.weighted([[0.5, 0], [0.2, 1], [0.15, 137], [0.15, 143]] as const);
        return { kind: "exit", more: rng.int(2, 12), code, midSave: code !== 0 && rng.chance(0.3) } as const;
      })();
  const events: PlannedEvent[] = [];
  for (let n = rng.int(1, 4); n > 0; n--) events.push({ trigger: drawTrigger(rng), event: drawEvent(rng) });
  if (ending.kind === "run" && !events.some((e) => TERMINAL.has(e.event.kind))) {
    // Something must end a container that trains forever: a stop, a notice, a reboot or a kill.
    events.push({ trigger: drawTrigger(rng), event: rng.weighted<EventSpec>([[3, { kind: "notice", leftS: rng.float(0, 6.5) }], [2, { kind: "stop" }], [1.5, { kind: "reboot" }], [1, { kind: "sigkill" }]]) });
  }
  return { ending, events, afterStop };
}

export function drawScenario(seed: number): Scenario {
  const rng = new Rng(seed);
  const { trainer, s3BytesPerSecond } = drawTrainer(rng);
  const phases: PhaseSpec[] = [drawPhase(rng, false)];
  while (phases.length < MAX_PHASES) phases.push(drawPhase(rng, phases.length === MAX_PHASES - 1 || rng.chance(0.55)));
  return s3BytesPerSecond ? { seed, trainer, s3BytesPerSecond, phases } : { seed, trainer, phases };
}

function describeTrigger(t: Trigger): string {
  return "atMs" in t ? `@${t.atMs}ms` : `@step+${t.afterSteps}+${t.delayMs}ms`;
}

export function describeEvent(e: EventSpec): string {
  switch (e.kind) {
    case "notice":
      return `notice(${e.leftS}s left)`;
    case "stop":
      return e.killAfterS === undefined ? "systemctl-stop" : `systemctl-stop(SIGKILL after ${e.killAfterS}s)`;
    case "s3":
      return `s3-${e.mode}(${e.forMs}ms${e.mode === "slow" ? `, +${e.delayS}s per call` : ""})`;
    case "imds":
      return `imds-${e.mode}(${e.forMs}ms)`;
    default:
      return e.kind;
  }
}

/** The sequence on one line per attempt (what a failure report prints with its seed). */
export function describeScenario(s: Scenario): string {
  const t = s.trainer;
  const lines = [
    `trainer: ${t.save}, ${t.every ? `checkpoint every ${t.every} step(s)` : "never checkpoints"}, ${t.stepSeconds}s/step, ` +
      `${t.chunks}x${t.chunkBytes}B${t.huge ? ` (huge, ${t.chunkSeconds}s/chunk, S3 at ${s.s3BytesPerSecond} B/s)` : ""}, keeps ${t.keep}, SIGTERM: ${t.onTerm}`,
  ];
  s.phases.forEach((p, i) => {
    const end = p.ending.kind === "run" ? "trains until stopped" : `exits ${p.ending.code} after ${p.ending.more} step(s)${p.ending.midSave ? " mid-save" : ""}`;
    const events = p.events.map((e) => `${describeEvent(e.event)}${describeTrigger(e.trigger)}`).join(", ");
    lines.push(`attempt ${i + 1}: ${end}${events ? `; ${events}` : ""}${p.events.some((e) => e.event.kind === "stop") ? `; after a stop: ${p.afterStop} instance` : ""}`);
  });
  return lines.join("\n");
}
