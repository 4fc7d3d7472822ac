/**
 * What happened in one attempt of a chaos run, read from its observation (the notice and when the watcher could see
 * it, stops, reboots, kills, the trainer's own exit, S3 outages), and what it allows: the markers consistent with it
 * and the progress it may lose.
 */
import { CHAOS_KNOBS } from "./knobs";
import type { FiredEvent, PhaseObservation } from "./observation";
import { PREFIX } from "./s3-view";
import type { Scenario } from "./scenario";

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

export const stepOf = (name: string): number => Number(/-(\d+)/.exec(name)?.[1] ?? Number.NaN);
const overlaps = (a0: number, a1: number, b0: number, b1: number) => a0 <= b1 && b0 <= a1;

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
export function noticeFeasible(p: PhaseObservation, h: Happened): boolean {
  if (!h.notice) return false;
  const { seen, actionAt } = h.notice;
  return actionAt - seen >= NOTICE_MARKER_MIN_MS && !s3Outages(p).some(([a, b]) => overlaps(a, b, actionAt - MARGIN_MS - RESERVE_MS - 1000, actionAt)) && h.reboot === undefined;
}

export interface Happened {
  /** visible: the earliest the watcher could see it; seen: the latest it surely could. */
  notice?: { t: number; visible: number; seen: number; actionAt: number };
  stop?: number;
  reboot?: number;
  sigkill?: number;
  /** The container exited on its own (not after our SIGTERM). */
  selfExit?: { t: number; code: number };
  attemptOpened: boolean;
}

export function happened(p: PhaseObservation): Happened {
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
export function allowedMarkers(p: PhaseObservation, h: Happened, markerAt: number): Set<string> {
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

/**
 * Steps an attempt may lose, when its end left the runtime the time and the S3 it needs; undefined otherwise (the
 * resume is then only checked against LATEST.json). One interval plus the in-flight checkpoint: 2 x every. A trainer
 * without the contract (fallback: settled for GTI_CHECKPOINT_SETTLE_SECONDS on the runtime's whole-second clock, the
 * newest suspect after a non-zero exit) may lose one interval and those ~2.2 s more.
 */
export function progressBound(s: Scenario, p: PhaseObservation, h: Happened): number | undefined {
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
