/**
 * `npm run soak`: the long chaos soak over the real runtime scripts (runtime/README.md, "Chaos soak"). Prints a line
 * per iteration, every failure with its sequence and the command that re-runs it, then iterations, invariant checks,
 * failures, wall time and CPU. Exit code 1 when an invariant was violated.
 *
 * Options: `--iterations N` (500), `--seed S` (21: iteration i runs the sequence of seed iterationSeed(S, i)),
 * `--replay SEED` (that exact sequence, printed first; `--repeat N` runs it N times: real processes interleave differently
 * from run to run, a race may need several), `--jobs N` (iterations at a time, 2; each has its own instances),
 * `--quiet` (failures and the summary only).
 */
import { describeScenario, drawScenario } from "../__tests__/support/runtime/chaos/scenario";
import { formatSummary, soak } from "../__tests__/support/runtime/chaos/soak";

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} needs a non-negative integer, got '${args[i + 1] ?? ""}'`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const replay = args.includes("--replay") ? option(args, "--replay", 0) : undefined;
  const quiet = args.includes("--quiet");
  if (replay !== undefined) console.log(`replaying seed ${replay}:\n${describeScenario(drawScenario(replay))}\n`);
  const summary = await soak({
    seed: option(args, "--seed", 21),
    iterations: option(args, "--iterations", 500),
    jobs: option(args, "--jobs", 2),
    ...(replay !== undefined ? { seeds: Array.from({ length: Math.max(1, option(args, "--repeat", 1)) }, () => replay) } : {}),
    log: (line) => {
      if (!quiet || line.startsWith("FAILED")) console.log(line);
    },
  });
  console.log(`\n${formatSummary(summary)}`);
  process.exitCode = summary.failures.length ? 1 : 0;
}

void main();
