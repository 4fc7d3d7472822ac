/**
 * The invariants of the chaos soak (issue 21), checked after every iteration against what really happened: the fake
 * S3's write journal (every put and delete, with LATEST.json's and the markers' contents), the trainer's own log
 * (steps, saves, exits: the ground truth about progress and completeness) and the events as they fired.
 *
 * A checkpoint is complete when every byte the trainer meant to write is there (each one has a known size), whatever
 * the runtime thinks. Faults excuse nothing unless stated: only S3 failing or hanging (not slow) excuses a missing
 * marker under a notice, a failed upload at the end (FAILURE sync_failed) or a resume older than the bound.
 */
import { allowedMarkers, happened, noticeFeasible, progressBound, stepOf } from "./happened";
import type { Observation } from "./observation";
import { completeIn, PREFIX, S3View } from "./s3-view";
import type { Scenario } from "./scenario";

// What moved out stays importable from here.
export { NOTICE_MARKER_MIN_MS, NOTICE_SYNC_MIN_MS } from "./happened";

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

/** A stop's SIGTERM reaches the launcher's trap once the command it is waiting for returns: within this, surely. */
const STOP_RECORD_MS = 2000;

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
