/**
 * The chaos soak's own parts, without running anything: sequences are a function of the seed, and every invariant
 * fails on an observation that breaks it (so a green soak means the runtime held, not that the checks were blind).
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkInvariants, INVARIANTS, type InvariantName, NOTICE_MARKER_MIN_MS } from "../support/runtime/chaos/invariants";
import { type FiredEvent, type JournalEntry, type Observation, type PhaseObservation, readJournal, reconcile, type TrainerEvent } from "../support/runtime/chaos/runner";
import { describeScenario, drawScenario, iterationSeed, MAX_PHASES, type Scenario } from "../support/runtime/chaos/scenario";
import { formatFailure, pressureShare, replayCommand, STARVED } from "../support/runtime/chaos/soak";
import { RUN_ID } from "../support/runtime/sandbox";

describe("chaos soak: sequences", () => {
  it("GIVEN a seed WHEN the sequence is drawn twice THEN it is the same, and another seed draws another", () => {
    expect(drawScenario(42)).toEqual(drawScenario(42));
    expect(describeScenario(drawScenario(42))).toBe(describeScenario(drawScenario(42)));
    expect(describeScenario(drawScenario(43))).not.toBe(describeScenario(drawScenario(42)));
  });

  it("GIVEN a soak's base seed WHEN iteration seeds are derived THEN they are stable and distinct", () => {
    const seeds = Array.from({ length: 500 }, (_, i) => iterationSeed(21, i));
    expect(new Set(seeds).size).toBe(500);
    expect(iterationSeed(21, 7)).toBe(seeds[7]);
  });

  it("GIVEN 500 sequences WHEN drawn THEN every one can end: a container that trains until stopped always meets a stop, a notice, a reboot or a kill; the last attempt is calm", () => {
    for (let i = 0; i < 500; i++) {
      const s = drawScenario(iterationSeed(1, i));
      expect(s.phases).toHaveLength(MAX_PHASES);
      for (const p of s.phases) {
        if (p.ending.kind === "run") expect(p.events.some((e) => ["notice", "stop", "reboot", "sigkill"].includes(e.event.kind))).toBe(true);
      }
      expect(s.phases[MAX_PHASES - 1]).toMatchObject({ ending: { kind: "exit", code: 0 }, events: [] });
    }
  });

  it("GIVEN a failed iteration WHEN reported THEN the seed, the sequence and a one-line command to re-run it are printed", () => {
    const text = formatFailure({ index: 3, seed: 99, attempts: 2, checks: 10, byInvariant: {}, wallMs: 1, description: describeScenario(drawScenario(99)), violations: [{ invariant: "no-orphan", attempt: 1, detail: "x" }] });
    expect(text).toContain("seed 99");
    expect(text).toContain("attempt 1: ");
    expect(text).toContain(`reproduce: ${replayCommand(99)}`);
    expect(replayCommand(99)).toBe("npm run soak -- --replay 99");
  });

  it("GIVEN a failed iteration during which tasks waited for a CPU most of the time WHEN reported THEN the CPU pressure is printed and the iteration called starved; a calm one is not", () => {
    const failed = { index: 0, seed: 7, attempts: 1, checks: 3, byInvariant: {}, wallMs: 1000, description: "trainer: x", violations: [{ invariant: "progress-lost", detail: "x" }] };
    expect(pressureShare(1_000_000, 1_900_000, 1000)).toBeCloseTo(0.9);
    expect(pressureShare(undefined, 5, 1000)).toBeUndefined();
    expect(formatFailure({ ...failed, cpuPressure: 0.9 })).toContain("CPU pressure: 90% of the iteration some task waited for a CPU (starved: the scaled clocks were at risk)");
    expect(formatFailure({ ...failed, cpuPressure: 0.1 })).not.toContain("starved");
    expect(STARVED).toBe(0.5);
  });
});

// Synthetic observations: one attempt of a "complete" trainer (1 chunk of 512 B per checkpoint) from t = 1000 ms.
const P = `outputs-bucket/runs/${RUN_ID}/`;
const scenario: Scenario = {
  seed: 1,
  trainer: { save: "complete", every: 1, stepSeconds: 0.05, chunks: 1, chunkBytes: 512, chunkSeconds: 0, huge: false, keep: 3, onTerm: "save" },
  phases: [],
};
const put = (t: number, key: string, size = 0, body?: object): JournalEntry => ({ t, op: "put", key: P + key, size, ...(body ? { body: JSON.stringify(body) } : {}) });
const ckpt = (t: number, step: number): JournalEntry[] => [put(t, `checkpoints/checkpoint-${step}/step`, 6), put(t, `checkpoints/checkpoint-${step}/weights.bin`, 512), put(t, `checkpoints/checkpoint-${step}/COMPLETE`)];
const latest = (t: number, step: number) => put(t, "checkpoints/LATEST.json", 100, { checkpoint: `checkpoint-${step}` });
const marker = (t: number, status: string, reason: string) => put(t, status, 300, { status, reason, exit_code: null });
const steps = (n: number, from = 0, t0 = 1000): TrainerEvent[] => [
  { t: t0, event: "start", fields: [String(from), from ? `checkpoint-${from}` : "-", from ? "ok" : "none"] },
  ...Array.from({ length: n }, (_, i) => ({ t: t0 + 50 * (i + 1), event: "step", fields: [String(from + i + 1)] })),
];
const stopAt = (t: number): FiredEvent => ({ t, event: { kind: "stop" }, effective: true });

function phase(over: Partial<PhaseObservation>): PhaseObservation {
  return {
    index: 0,
    instanceId: "i-1",
    sameInstance: false,
    startedAt: 900,
    endedAt: 5000,
    end: "exited",
    launcher: { code: 0, signal: null, exitedAt: 4000 },
    posts: [],
    fired: [],
    trainer: steps(4),
    aws: [{ t: 950, line: `aws s3 sync s3://${P}outputs/ /x` }],
    faults: [],
    markersAtEnd: ["INTERRUPTED"],
    modelAtEnd: undefined,
    containerKilled: false,
    ...over,
  };
}

const violated = (o: Observation): InvariantName[] => checkInvariants(scenario, o).violations.map((v) => v.invariant as InvariantName);
/** A stop at 1300 ms, checkpoints 1..3 in S3, LATEST.json -> 3, INTERRUPTED service_stopped: every invariant holds. */
const good = (): Observation => ({
  phases: [phase({ fired: [stopAt(1300)] })],
  journal: [...ckpt(1100, 1), latest(1120, 1), ...ckpt(1350, 3), latest(1400, 3), marker(1500, "INTERRUPTED", "service_stopped")],
  wallMs: 1,
});

describe("chaos soak: each invariant catches its violation", () => {
  it("GIVEN an observation where the runtime did everything right THEN no invariant is violated", () => {
    expect(checkInvariants(scenario, good()).violations).toEqual([]);
    expect(checkInvariants(scenario, good()).checks).toBeGreaterThan(5);
  });

  it("GIVEN LATEST.json names a checkpoint whose weights are short in S3 THEN latest-complete", () => {
    const o = good();
    o.journal.push(put(1600, "checkpoints/checkpoint-4/step", 6), put(1600, "checkpoints/checkpoint-4/weights.bin", 100), latest(1610, 4));
    expect(violated(o)).toContain("latest-complete");
  });

  it("GIVEN LATEST.json goes from checkpoint-3 to checkpoint-1 THEN latest-forward", () => {
    const o = good();
    o.journal.push(latest(1450, 1));
    expect(violated(o)).toContain("latest-forward");
  });

  it("GIVEN LATEST.json is written after the attempt's marker THEN marker-last", () => {
    const o = good();
    o.journal.push(latest(1600, 3));
    expect(violated(o)).toContain("marker-last");
  });

  it("GIVEN two markers in S3 after an attempt, or an attempt that wrote INTERRUPTED then FAILURE THEN one-marker", () => {
    const o = good();
    o.phases[0] = phase({ fired: [stopAt(1300)], markersAtEnd: ["FAILURE", "INTERRUPTED"] });
    expect(violated(o)).toEqual(["one-marker"]);
    const twice = good();
    twice.journal.push(marker(1600, "INTERRUPTED", "service_stopped"));
    expect(violated(twice)).toEqual([]); // the same marker again (a second finalize of the attempt)
    twice.journal.push(marker(1700, "FAILURE", "launcher_signal"));
    expect(violated(twice)).toContain("one-marker");
  });

  it("GIVEN a stopped attempt marked FAILURE, or a trainer that exited 0 marked INTERRUPTED with nothing interrupting it THEN marker-consistent", () => {
    const o = good();
    o.journal[o.journal.length - 1] = marker(1500, "FAILURE", "training_failed");
    expect(violated(o)).toEqual(["marker-consistent"]);
    const p = good();
    p.phases[0] = phase({ trainer: [...steps(4), { t: 1300, event: "exit", fields: ["0"] }] });
    expect(violated(p)).toEqual(["marker-consistent"]);
  });

  it("GIVEN SUCCESS without the attempt's model in S3 THEN marker-consistent", () => {
    const o = good();
    o.phases[0] = phase({ markersAtEnd: ["SUCCESS"], trainer: [...steps(4), { t: 1290, event: "output", fields: ["4"] }, { t: 1300, event: "exit", fields: ["0"] }] });
    o.journal[o.journal.length - 1] = marker(1500, "SUCCESS", "completed");
    expect(violated(o)).toEqual(["marker-consistent"]);
    o.phases[0].modelAtEnd = "model after 4 steps\n";
    o.journal.push(put(1450, "outputs/model.bin", 20));
    expect(violated(o)).toEqual([]);
  });

  it("GIVEN a notice seen in time and S3 answering WHEN no marker is written before AWS acts THEN notice-deadline", () => {
    const notice: FiredEvent = { t: 1300, event: { kind: "notice", leftS: 6 }, actionAt: 1300 + NOTICE_MARKER_MIN_MS + 500, effective: true };
    const o: Observation = { phases: [phase({ fired: [notice], end: "reclaimed", endedAt: notice.actionAt as number, markersAtEnd: [] })], journal: [...ckpt(1100, 1), latest(1120, 1)], wallMs: 1 };
    expect(violated(o)).toEqual(["notice-deadline"]);
    o.journal.push(marker((notice.actionAt as number) - 100, "INTERRUPTED", "spot_interruption"));
    expect(violated(o)).toEqual([]);
    // Seen too late (IMDS refused it until then): no deadline to hold.
    const late: Observation = { ...o, journal: o.journal.slice(0, 4), phases: [phase({ ...o.phases[0], fired: [notice, { t: 1200, event: { kind: "imds", mode: "401", forMs: 1000 }, until: 2200, effective: true }] })] };
    expect(violated(late)).toEqual([]);
  });

  it("GIVEN a resumed attempt that did not start from what LATEST.json named, or from a corrupt copy THEN resume-latest", () => {
    const o = good();
    o.phases.push(phase({ index: 1, startedAt: 5100, endedAt: 9000, trainer: steps(2, 1, 5200), fired: [], aws: [] }));
    expect(violated(o)).toContain("resume-latest");
    o.phases[1] = phase({ index: 1, startedAt: 5100, endedAt: 9000, trainer: [{ t: 5200, event: "start", fields: ["3", "checkpoint-3", "corrupt"] }], aws: [] });
    expect(violated(o)).toContain("resume-latest");
  });

  it("GIVEN a clean stop at step 8 and a resume at step 3 of a trainer saving every step THEN progress-lost", () => {
    const o = good();
    o.phases[0] = phase({ fired: [stopAt(1300)], trainer: steps(8) });
    o.phases.push(phase({ index: 1, startedAt: 5100, endedAt: 9000, trainer: steps(1, 3, 5200), aws: [] }));
    expect(violated(o)).toEqual(["progress-lost"]);
  });

  it("GIVEN the instance terminates itself after the runtime recorded a stop, or long after a stop was sent THEN no-terminate-on-stop", () => {
    const o = good();
    o.journal[o.journal.length - 1] = marker(1500, "FAILURE", "training_failed");
    const terminate = { t: 1600, line: "aws ec2 terminate-instances --instance-ids i-1" };
    const failed = { fired: [stopAt(1300)], trainer: [...steps(4), { t: 1250, event: "exit", fields: ["1"] }], aws: [...phase({}).aws, terminate] };
    o.phases[0] = phase({ ...failed, stopRecordedAt: 1350 });
    expect(violated(o)).toEqual(["no-terminate-on-stop"]);
    o.phases[0] = phase(failed); // sent 300 ms before, never recorded: the stop came after the decision
    expect(violated(o)).toEqual([]);
    o.phases[0] = phase({ ...failed, aws: [...phase({}).aws, { ...terminate, t: 4000 }] }); // sent 2.7 s before
    expect(violated(o)).toEqual(["no-terminate-on-stop"]);
  });

  it("GIVEN an attempt that ended with no marker and the instance up THEN no-orphan", () => {
    const o = good();
    o.journal.pop();
    o.phases[0] = phase({ fired: [stopAt(1300)], markersAtEnd: [] });
    expect(violated(o)).toEqual(expect.arrayContaining(["no-orphan"]));
  });

  it("GIVEN an attempt that never ended, or an ExecStopPost killed at its timeout THEN bounded", () => {
    const o = good();
    o.phases[0] = phase({ fired: [stopAt(1300)], end: "capped" });
    expect(violated(o)).toContain("bounded");
    o.phases[0] = phase({ fired: [stopAt(1300)], posts: [{ t: 2000, result: "signal", code: null, timedOut: true }] });
    expect(violated(o)).toEqual(["bounded"]);
  });

  it("GIVEN the invariants THEN each one is named and described (what the soak prints)", () => {
    expect(Object.keys(INVARIANTS)).toHaveLength(11);
  });
});

describe("chaos soak: the S3 journal reconciled with S3", () => {
  it("GIVEN puts whose journal lines were lost (the writer killed after its rename: a checkpoint's weights, then LATEST.json) before a journaled marker WHEN the attempt's journal is reconciled after its end THEN they count at their put time: neither latest-complete nor marker-last (soak seeds 2601275768, 2474377474)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gti-chaos-journal-"));
    try {
      const s3 = join(dir, "s3");
      const journal = join(dir, "s3-journal.jsonl");
      const object = (key: string, content: string) => {
        mkdirSync(join(s3, P, key, ".."), { recursive: true });
        writeFileSync(join(s3, P, key), content);
      };
      const t0 = Date.now();
      object("checkpoints/checkpoint-1/step", "step 1");
      object("checkpoints/checkpoint-1/weights.bin", "w".repeat(512)); // its journal line lost
      appendFileSync(journal, `${JSON.stringify({ t: Date.now() / 1000, op: "put", key: `${P}checkpoints/checkpoint-1/step`, size: 6 })}\n`);
      await new Promise((r) => setTimeout(r, 30));
      object("checkpoints/LATEST.json", JSON.stringify({ checkpoint: "checkpoint-1" })); // its journal line lost too
      await new Promise((r) => setTimeout(r, 30));
      const body = JSON.stringify({ status: "INTERRUPTED", reason: "service_stopped", exit_code: null });
      object("INTERRUPTED", body);
      appendFileSync(journal, `${JSON.stringify({ t: Date.now() / 1000, op: "put", key: `${P}INTERRUPTED`, size: body.length, body })}\n`);
      const end = Date.now() + 1000;
      reconcile(journal, s3, end);
      const entries = readJournal(journal);
      const latestPuts = entries.filter((e) => e.key === `${P}checkpoints/LATEST.json`);
      expect(latestPuts.at(-1)).toMatchObject({ synthetic: true });
      expect(latestPuts.at(-1)?.t).toBeLessThan(entries.find((e) => e.key === `${P}INTERRUPTED`)?.t ?? 0);
      const o: Observation = {
        phases: [phase({ startedAt: t0 - 100, endedAt: end, fired: [stopAt(t0 - 50)], trainer: steps(1, 0, t0 - 90), aws: [{ t: t0 - 80, line: `aws s3 sync s3://${P}outputs/ /x` }] })],
        journal: entries,
        wallMs: 1,
      };
      expect(checkInvariants(scenario, o).violations).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
