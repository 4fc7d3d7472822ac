/**
 * The short chaos soak (runtime/README.md, "Chaos soak"): seeded random interruption sequences over the real runtime
 * scripts, every invariant checked after each iteration. The long soak is `npm run soak` (500 iterations).
 *
 * GTI_SOAK_SEED (21) and GTI_SOAK_ITERATIONS change the sequences; GTI_SOAK_REPLAY=<seed> runs that one sequence.
 */
import { describe, expect, it } from "vitest";
import { formatSummary, soak } from "../support/runtime/chaos/soak";

/** Each iteration runs 1-4 real attempts (about 1.5 s of CPU): this many keep the short soak near 10 s of CPU. */
const SHORT_SOAK_ITERATIONS = 8;

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === "" ? fallback : Number(v);
};

describe("chaos soak (short)", () => {
  it("GIVEN seeded random interruption sequences (trainer behaviours, notices, stops, reboots, kills, S3 and IMDS faults, replacements) WHEN each runs against the real runtime THEN no invariant is violated", async () => {
    const replay = process.env.GTI_SOAK_REPLAY;
    const failures: string[] = [];
    const summary = await soak({
      seed: env("GTI_SOAK_SEED", 21),
      iterations: env("GTI_SOAK_ITERATIONS", SHORT_SOAK_ITERATIONS),
      ...(replay ? { seeds: [Number(replay)] } : {}),
      log: (line) => {
        if (line.startsWith("FAILED")) failures.push(line);
      },
    });
    console.log(formatSummary(summary));
    expect(failures.join("\n\n")).toBe("");
    expect(summary.checks).toBeGreaterThan(summary.iterations * 5);
  }, 300_000);
});
