/**
 * The invariants of the chaos soak (issue 21), checked after every iteration against what really happened: the fake
 * S3's write journal (every put and delete, with LATEST.json's and the markers' contents), the trainer's own log
 * (steps, saves, exits: the ground truth about progress and completeness) and the events as they fired.
 *
 * A checkpoint is complete when every byte the trainer meant to write is there (each one has a known size), whatever
 * the runtime thinks. Faults excuse nothing unless stated: only S3 failing or hanging (not slow) excuses a missing
 * marker under a notice, a failed upload at the end (FAILURE sync_failed) or a resume older than the bound.
 */
import { RUN_ID } from "../sandbox";
import { CHAOS_KNOBS } from "./runner";
import type { FiredEvent, JournalEntry, Observation, PhaseObservation } from "./runner";
import type { Scenario } from "./scenario";

export interface Violation {
  invariant: string;
  /** 1-based attempt number, when the violation belongs to one. */
  attempt?: number;
  detail: string;
}

export interface Verdict {
  checks: number;
  /** Checks per invariant (how often each one was exercised). */
  byInvariant: Partial<Record<InvariantName, number>>;
  violations: Violation[];
}

/** The invariants by name (what the soak prints and the docs list). */
export const INVARIANTS = {
  "latest-complete": "LATEST.json names a checkpoint that is complete in S3",
  "latest-forward": "LATEST.json never moves backwards",
  "marker-last": "LATEST.json is never written after the attempt's marker",
  "one-marker": "exactly one terminal marker per finished attempt",
  "marker-consistent": "the marker is consistent with what happened (INTERRUPTED for notices, stops and reboots; FAILURE only for a trainer failure; SUCCESS only for exit 0 with outputs uploaded)",
  "notice-deadline": "after a notice, the marker is written before AWS's action time whenever S3 answers",
  "resume-latest": "the resumed attempt starts from the checkpoint LATEST.json names, complete",
  "progress-lost": "progress lost is at most one checkpoint interval plus the in-flight checkpoint",
  "no-terminate-on-stop": "no self-termination while a stop was requested, nor before a SUCCESS/FAILURE marker",
  "no-orphan": "no run left without a marker with the instance still up",
  bounded: "every attempt and every stop ends within its time bound",
} as const;
export type InvariantName = keyof typeof INVARIANTS;

const PREFIX = `outputs-bucket/runs/${RUN_ID}/`;
const MARKERS = ["SUCCESS", "FAILURE", "INTERRUPTED"];
const MARGIN_MS = Number(CHAOS_KNOBS.GTI_DEADLINE_MARGIN_SECONDS) * 1000;
const RESERVE_MS = Number(CHAOS_KNOBS.GTI_MARKER_RESERVE_SECONDS) * 1000;
/**
 * A notice seen this long before AWS acts leaves time for the marker: the poll, the margin, the reserve, and 1 s for
 * the runtime's whole-second clock and a loaded machine.
 */
export const NOTICE_MARKER_MIN_MS = Number(CHAOS_KNOBS.GTI_SPOT_POLL_SECONDS) * 1000 + MARGIN_MS + RESERVE_MS + 1000;
/** ... and this long for the grace and the final sync too (the progress bound then applies). */
export const NOTICE_SYNC_MIN_MS = NOTICE_MARKER_MIN_MS + 1500;

/** An IMDS read's retries: each times out (GTI_IMDS_TIMEOUT) and waits 0.2 s. */
const IMDS_RETRY_SPAN_MS = Number(CHAOS_KNOBS.GTI_IMDS_RETRIES) * (Number(CHAOS_KNOBS.GTI_IMDS_TIMEOUT) + 0.2) * 1000;
/** The watcher has seen a visible notice and flagged it within a poll and this much. */
const NOTICE_SEEN_MS = Number(CHAOS_KNOBS.GTI_SPOT_POLL_SECONDS) * 1000 + 1000;
/** A stop's SIGTERM reaches the launcher's trap once the command it is waiting for returns: within this, surely. */
const STOP_RECORD_MS = 2000;

interface MarkerBody {
  status: string;
  reason: string;
  exit_code: number | null;
}

const stepOf = (name: string): number => Number(/-(\d+)/.exec(name)?.[1] ?? Number.NaN);
const overlaps = (a0: number, a1: number, b0: number, b1: number) => a0 <= b1 && b0 <= a1;

/** The fake S3 as the journal says it was at a time. */
class S3View {
  private readonly entries: JournalEntry[];

  constructor(journal: JournalEntry[]) {
    this.entries = [...journal].sort((a, b) => a.t - b.t);
  }

  at(t: number): Map<string, JournalEntry> {
    const state = new Map<string, JournalEntry>();
    for (const e of this.entries) {
      if (e.t > t) break;
      if (e.op === "rm") state.delete(e.key);
      else state.set(e.key, e);
    }
    return state;
  }

  puts(suffix: string): JournalEntry[] {
    return this.entries.filter((e) => e.op === "put" && e.key === PREFIX + suffix);
  }

  markerPuts(from: number, to: number): (JournalEntry & { marker: MarkerBody })[] {
    const parse = (body: string | undefined): MarkerBody => {
      try {
        return JSON.parse(body ?? "") as MarkerBody;
      } catch {
        return { status: "INVALID-JSON", reason: String(body), exit_code: null };
      }
    };
    return this.entries
      .filter((e) => e.op === "put" && e.t >= from && e.t <= to && MARKERS.some((m) => e.key === PREFIX + m))
      .map((e) => ({ ...e, marker: parse(e.body) }));
  }

  latestAt(t: number): string | undefined {
    const e = this.at(t).get(`${PREFIX}checkpoints/LATEST.json`);
    return e ? (JSON.parse(e.body ?? "{}") as { checkpoint?: string }).checkpoint : undefined;
  }
}

function completeIn(state: Map<string, JournalEntry>, name: string, s: Scenario): boolean {
  const base = `${PREFIX}checkpoints/${name}`;
  const weights = s.trainer.chunks * s.trainer.chunkBytes;
  if (s.trainer.save === "atomic-file") return state.get(base)?.size === weights + 27;
  return state.has(`${base}/step`) && state.get(`${base}/weights.bin`)?.size === weights;
}

/** Faults that make S3 not answer (failing or hanging), as [from, until] windows. */
function s3Outages(p: PhaseObservation): [number, number][] {
  return p.fired.flatMap((f) => (f.event.kind === "s3" && f.event.mode !== "slow" && f.until ? [[f.t, f.until] as [number, number]] : []));
}

/**
 * When the watcher could first see a notice posted at `t`: after the IMDS faults covering it; `late`: at the latest (a
 * slow fault also delays the client's timed-out retries begun inside it).
 */
function visibleAt(p: PhaseObservation, t: number, late = false): number {
  let v = t;
  const windows = p.fired
    .flatMap((f) => (f.event.kind === "imds" && f.until ? [[f.t, f.until + (late && f.event.mode === "slow" ? IMDS_RETRY_SPAN_MS : 0)] as const] : []))
    .sort((a, b) => a[0] - b[0]);
  for (const [from, until] of windows) if (from <= v && until > v) v = until;
  return v;
}

/** A notice the watcher saw in time, with S3 answering at the end and no reboot: the marker must make it. */
function noticeFeasible(p: PhaseObservation, h: Happened): boolean {
  if (!h.notice) return false;
  const { seen, actionAt } = h.notice;
  return actionAt - seen >= NOTICE_MARKER_MIN_MS && !s3Outages(p).some(([a, b]) => overlaps(a, b, actionAt - MARGIN_MS - RESERVE_MS - 1000, actionAt)) && h.reboot === undefined;
}

interface Happened {
  /** visible: the earliest the watcher could see it; seen: the latest it surely could. */
  notice?: { t: number; visible: number; seen: number; actionAt: number };
  stop?: number;
  reboot?: number;
  sigkill?: number;
  /** The container exited on its own (not after our SIGTERM). */
  selfExit?: { t: number; code: number };
  attemptOpened: boolean;
}

function happened(p: PhaseObservation): Happened {
  const first = (kind: FiredEvent["event"]["kind"]) => p.fired.find((f) => f.effective && f.event.kind === kind);
  const notice = first("notice");
  const h: Happened = { attemptOpened: p.aws.some((c) => c.line.startsWith(`aws s3 sync s3://${PREFIX}outputs/`)) };
  if (notice?.actionAt !== undefined) h.notice = { t: notice.t, visible: visibleAt(p, notice.t), seen: visibleAt(p, notice.t, true), actionAt: notice.actionAt };
  const stop = first("stop");
  if (stop) h.stop = stop.t;
  const reboot = first("reboot");
  if (reboot) h.reboot = reboot.t;
  const kill = first("sigkill");
  if (kill) h.sigkill = kill.t;
  const term = p.trainer.find((e) => e.event === "term");
  const exit = p.trainer.find((e) => e.event === "exit");
  if (exit && (!term || term.t > exit.t)) h.selfExit = { t: exit.t, code: Number(exit.fields[0]) };
  return h;
}

/** What the marker of this attempt may say ("KIND reason"), given what happened before it was written. */
function allowedMarkers(p: PhaseObservation, h: Happened, markerAt: number): Set<string> {
  const ok = new Set<string>();
  const before = (t: number | undefined) => t !== undefined && t < markerAt;
  if (h.notice && before(h.notice.visible)) ok.add("INTERRUPTED spot_interruption");
  if (before(h.stop) || before(h.reboot)) ok.add("INTERRUPTED service_stopped");
  if (h.selfExit && before(h.selfExit.t)) {
    if (h.selfExit.code !== 0) ok.add("FAILURE training_failed");
    else {
      ok.add("SUCCESS completed");
      if (s3Outages(p).some(([a, b]) => overlaps(a, b, (h.selfExit as { t: number }).t, markerAt))) ok.add("FAILURE sync_failed");
    }
  }
  // A SIGKILLed launcher (no stop, no notice the watcher could have seen before): FAILURE launcher_signal, documented,
  // unless the container had already ended on its own (its exit code is the run's result).
  const kill = h.sigkill;
  if (before(kill) && !(h.selfExit && h.selfExit.t + 200 < (kill as number)) && !(h.stop !== undefined && h.stop < (kill as number))) {
    if (!(h.notice && h.notice.seen + NOTICE_SEEN_MS < (kill as number))) ok.add("FAILURE launcher_signal");
  }
  return ok;
}

export function checkInvariants(s: Scenario, o: Observation): Verdict {
  const violations: Violation[] = [];
  const byInvariant: Verdict["byInvariant"] = {};
  let checks = 0;
  const check = (invariant: InvariantName, ok: boolean, detail: () => string, attempt?: number) => {
    checks++;
    byInvariant[invariant] = (byInvariant[invariant] ?? 0) + 1;
    if (!ok) violations.push({ invariant, ...(attempt !== undefined ? { attempt } : {}), detail: detail() });
  };
  const s3 = new S3View(o.journal);

  // LATEST.json: complete, forward, never after the attempt's marker.
  let previous: { name: string; t: number } | undefined;
  for (const put of s3.puts("checkpoints/LATEST.json")) {
    const name = (JSON.parse(put.body ?? "{}") as { checkpoint?: string }).checkpoint ?? "";
    const state = s3.at(put.t);
    check("latest-complete", completeIn(state, name, s), () => `LATEST.json -> ${name} at +${put.t - (o.phases[0]?.startedAt ?? 0)}ms, but ${name} is not complete in S3`);
    if (previous) {
      const from = previous.name;
      check("latest-forward", stepOf(name) >= stepOf(from), () => `LATEST.json moved back from ${from} to ${name}`);
    }
    previous = { name, t: put.t };
  }

  const at = (t: number) => `+${Math.round(t - (o.phases[0]?.startedAt ?? t))}ms`;
  o.phases.forEach((p, i) => {
    const n = i + 1;
    const h = happened(p);
    const markers = s3.markerPuts(p.startedAt, p.endedAt);
    const first = markers[0];

    check("bounded", p.end !== "capped", () => `attempt ${n} did not end within its cap`, n);
    const timedOut = p.posts.find((x) => x.timedOut);
    check("bounded", !timedOut, () => `ExecStopPost (${timedOut?.result}) outlasted TimeoutStopSec and was killed`, n);
    const stopFired = p.fired.find((f) => f.effective && (f.event.kind === "stop" || f.event.kind === "reboot"));
    if (stopFired && !(stopFired.event.kind === "stop" && stopFired.event.killAfterS !== undefined)) {
      check("bounded", p.unitKilledAt === undefined, () => `the launcher outlasted TimeoutStopSec after the ${stopFired.event.kind} at ${at(stopFired.t)}`, n);
    }

    // One marker per finished attempt (written again by a second finalize of the attempt, it must say the same).
    check("one-marker", new Set(markers.map((m) => m.marker.status)).size <= 1, () => `attempt ${n} wrote ${markers.length} markers: ${markers.map((m) => `${m.marker.status} ${m.marker.reason}`).join(", ")}`, n);
    const feasible = h.notice !== undefined && noticeFeasible(p, h);
    if (h.attemptOpened && ["exited", "terminated", "rebooted"].includes(p.end)) {
      check("one-marker", p.markersAtEnd.length === 1, () => `after attempt ${n} (${p.end}) S3 holds [${p.markersAtEnd.join(", ")}]`, n);
    } else if (p.end === "reclaimed" && !feasible) {
      // Reclaimed with too little time, a terminal marker may be in S3 before the earlier INTERRUPTED is deleted (the
      // terminal one wins for every reader); never two terminal ones.
      check("one-marker", p.markersAtEnd.filter((m) => m !== "INTERRUPTED").length <= 1, () => `after attempt ${n} (${p.end}) S3 holds [${p.markersAtEnd.join(", ")}]`, n);
    } else {
      check("one-marker", p.markersAtEnd.length <= 1, () => `after attempt ${n} (${p.end}) S3 holds [${p.markersAtEnd.join(", ")}]`, n);
    }
    if (p.end === "exited" && h.attemptOpened) {
      check("no-orphan", p.markersAtEnd.length > 0, () => `attempt ${n} ended with no marker and the instance up`, n);
    }

    if (first) {
      const allowed = allowedMarkers(p, h, first.t);
      const got = `${first.marker.status} ${first.marker.reason}`;
      check("marker-consistent", allowed.has(got), () => `attempt ${n} wrote ${got} at ${at(first.t)}; consistent: [${[...allowed].join(", ") || "nothing"}]`, n);
      if (first.marker.status === "SUCCESS") {
        const out = p.trainer.find((e) => e.event === "output");
        const model = s3.at(first.t).get(`${PREFIX}outputs/model.bin`);
        check("marker-consistent", out !== undefined && model !== undefined && p.modelAtEnd === `model after ${out.fields[0]} steps\n`, () => `SUCCESS at ${at(first.t)} without the attempt's outputs in S3 (S3: ${JSON.stringify(p.modelAtEnd)})`, n);
      }
      const late = s3.puts("checkpoints/LATEST.json").find((e) => e.t > first.t && e.t <= p.endedAt);
      check("marker-last", late === undefined, () => `LATEST.json written at ${at(late?.t ?? 0)}, after attempt ${n}'s ${first.marker.status} at ${at(first.t)}`, n);
    }

    // A notice: the marker before AWS acts, when the watcher saw it in time and S3 answers.
    if (h.notice && h.attemptOpened) {
      const { visible, actionAt } = h.notice;
      if (feasible) {
        const marker = s3.markerPuts(p.startedAt, actionAt)[0];
        check("notice-deadline", marker !== undefined, () => `notice seen at ${at(visible)} (AWS acts at ${at(actionAt)}): no marker before ${at(actionAt)}${markers[0] ? ` (written at ${at(markers[0].t)})` : ""}`, n);
      }
    }

    // Self-termination: never once the runtime recorded a stop (its decision and the stop are serialized: a later
    // stop is refused as too late), nor long after a stop was sent (a stop never recorded); only after SUCCESS/FAILURE.
    for (const call of p.aws.filter((c) => c.line.startsWith("aws ec2 terminate-instances"))) {
      const sent = [h.stop, h.reboot].filter((t): t is number => t !== undefined && t < call.t - STOP_RECORD_MS);
      const recorded = p.stopRecordedAt !== undefined && p.stopRecordedAt < call.t;
      check("no-terminate-on-stop", !recorded && sent.length === 0, () => `the instance terminated itself at ${at(call.t)} though a stop was ${recorded ? `recorded at ${at(p.stopRecordedAt as number)}` : `requested at ${at(sent[0] as number)}`}`, n);
      const state = s3.at(call.t);
      check("no-terminate-on-stop", ["SUCCESS", "FAILURE"].some((m) => state.has(PREFIX + m)), () => `the instance terminated itself at ${at(call.t)} with no SUCCESS/FAILURE marker`, n);
    }

    // Resume: from what LATEST.json names, complete; and not further back than the bound.
    const start = p.trainer.find((e) => e.event === "start");
    if (start) {
      const expected = s3.latestAt(start.t) ?? "-";
      const [, resumed = "", verdict = ""] = start.fields;
      check("resume-latest", resumed === expected && verdict !== "corrupt", () => `attempt ${n} resumed from ${resumed} (${verdict}); LATEST.json named ${expected}`, n);
      // The last earlier attempt that trained: what it reached, and whether its end left time and S3 to save it.
      const prev = o.phases.slice(0, i).reverse().find((q) => q.trainer.some((e) => e.event === "start"));
      if (prev && resumed !== "-") {
        const bound = progressBound(s, prev, happened(prev));
        const steps = prev.trainer.filter((e) => e.event === "step").map((e) => Number(e.fields[0]));
        const reached = Math.max(...steps, Number(prev.trainer.find((e) => e.event === "start")?.fields[0] ?? 0));
        const lost = reached - stepOf(resumed);
        if (bound !== undefined) {
          check("progress-lost", lost <= bound, () => `attempt ${n} resumed at step ${stepOf(resumed)}, attempt ${prev.index + 1} reached ${reached}: ${lost} steps lost, bound ${bound}`, n);
        }
      }
    }
  });
  return { checks, byInvariant, violations };
}

/**
 * Steps an attempt may lose, when its end left the runtime the time and the S3 it needs; undefined otherwise (the
 * resume is then only checked against LATEST.json). One interval plus the in-flight checkpoint: 2 x every. A trainer
 * without the contract (fallback: settled for GTI_CHECKPOINT_SETTLE_SECONDS on the runtime's whole-second clock, the
 * newest suspect after a non-zero exit) may lose one interval and those ~2.2 s more.
 */
function progressBound(s: Scenario, p: PhaseObservation, h: Happened): number | undefined {
  if (p.end === "capped" || p.posts.some((x) => x.timedOut)) return undefined;
  const ends = [h.stop, h.reboot, h.sigkill, h.selfExit?.t, h.notice?.seen].filter((t): t is number => t !== undefined);
  const from = ends.length ? Math.min(...ends) : p.endedAt;
  if (s3Outages(p).some(([a, b]) => overlaps(a, b, from - 1000, p.endedAt))) return undefined;
  // A notice before the attempt ended (its deadline bounds every upload from then on): AWS's time must have sufficed.
  if (h.notice && h.notice.t < p.endedAt) {
    if (s.trainer.huge || h.notice.actionAt - from < NOTICE_SYNC_MIN_MS) return undefined;
  }
  const every = s.trainer.every;
  return s.trainer.save === "inplace" ? 3 * every + Math.ceil(2.2 / s.trainer.stepSeconds) : 2 * every;
}
