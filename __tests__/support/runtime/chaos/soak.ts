/**
 * The chaos soak: iterations of seeded random interruption sequences over the real runtime scripts (chaos/runner.ts),
 * each checked against the invariants (chaos/invariants.ts). Used by the short soak in `npm test`
 * (__tests__/runtime/chaos-soak.test.ts) and the long one, `npm run soak` (scripts/soak.ts).
 */
import { readFileSync } from "node:fs";
import { checkInvariants, INVARIANTS, type InvariantName, type Verdict, type Violation } from "./invariants";
import { runScenario } from "./runner";
import { describeScenario, drawScenario, iterationSeed } from "./scenario";

export interface IterationResult {
  index: number;
  seed: number;
  attempts: number;
  checks: number;
  byInvariant: Verdict["byInvariant"];
  violations: Violation[];
  wallMs: number;
  /**
   * The share of the iteration's wall time some runnable task waited for a CPU (Linux PSI, /proc/pressure/cpu "some",
   * machine-wide); undefined without PSI. High values mean the scaled clocks (0.25-2 s) were at risk: printed with a
   * failure, so a timing verdict on a starved machine is read as such.
   */
  cpuPressure?: number;
  description: string;
}

export interface SoakSummary {
  iterations: number;
  checks: number;
  byInvariant: Verdict["byInvariant"];
  failures: IterationResult[];
  wallMs: number;
  /** CPU seconds of this process and the processes it waited for (the runtime scripts, stubs, trainers). */
  cpuSeconds: number;
  /** CPU pressure over the whole soak (see {@link IterationResult.cpuPressure}). */
  cpuPressure?: number;
}

/** The one-line command that re-runs one iteration exactly. */
export const replayCommand = (seed: number): string => `npm run soak -- --replay ${seed}`;

/** CPU seconds so far: this process and its reaped descendants (/proc/self/stat utime, stime, cutime, cstime). */
export function cpuSeconds(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ");
  return fields.slice(11, 15).reduce((s, f) => s + Number(f), 0) / 100;
}

/** Microseconds some task has waited for a CPU since boot (PSI), or undefined where the kernel does not expose it. */
export function cpuPressureMicros(): number | undefined {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The share of `wallMs` some task waited for a CPU, from two PSI readings. */
export function pressureShare(before: number | undefined, after: number | undefined, wallMs: number): number | undefined {
  return before === undefined || after === undefined || wallMs <= 0 ? undefined : Math.min(1, (after - before) / 1000 / wallMs);
}

export async function runIteration(seed: number, index = 0): Promise<IterationResult> {
  const scenario = drawScenario(seed);
  const p0 = cpuPressureMicros();
  const t0 = Date.now();
  const observation = await runScenario(scenario);
  const cpuPressure = pressureShare(p0, cpuPressureMicros(), Date.now() - t0);
  const verdict = checkInvariants(scenario, observation);
  return {
    index,
    seed,
    attempts: observation.phases.length,
    checks: verdict.checks,
    byInvariant: verdict.byInvariant,
    violations: verdict.violations,
    wallMs: observation.wallMs,
    ...(cpuPressure !== undefined ? { cpuPressure } : {}),
    description: describeScenario(scenario),
  };
}

/** From this CPU pressure on, an iteration counts as starved (most of its time something waited for a CPU). */
export const STARVED = 0.5;
const pct = (x: number): string => `${Math.round(x * 100)}%`;

export function formatFailure(r: IterationResult): string {
  return [
    `FAILED iteration ${r.index + 1}, seed ${r.seed} (${r.attempts} attempt(s)):`,
    ...r.violations.map((v) => `  [${v.invariant}] ${v.detail}`),
    ...(r.cpuPressure !== undefined ? [`  CPU pressure: ${pct(r.cpuPressure)} of the iteration some task waited for a CPU${r.cpuPressure >= STARVED ? " (starved: the scaled clocks were at risk)" : ""}`] : []),
    "  sequence:",
    ...r.description.split("\n").map((l) => `    ${l}`),
    `  reproduce: ${replayCommand(r.seed)}`,
  ].join("\n");
}

/**
 * `iterations` iterations from `seed` (iteration i runs the sequence of iterationSeed(seed, i)), or the given seeds,
 * `jobs` at a time (each on its own instances: nothing is shared between iterations); `log` gets a line per iteration
 * and the failures as they happen.
 */
export async function soak(options: { seed: number; iterations: number; seeds?: number[]; jobs?: number; log?: (line: string) => void }): Promise<SoakSummary> {
  const t0 = Date.now();
  const cpu0 = cpuSeconds();
  const p0 = cpuPressureMicros();
  const seeds = options.seeds ?? Array.from({ length: options.iterations }, (_, i) => iterationSeed(options.seed, i));
  const failures: IterationResult[] = [];
  let checks = 0;
  let next = 0;
  const byInvariant: Verdict["byInvariant"] = {};
  const worker = async (): Promise<void> => {
    while (next < seeds.length) {
      const i = next++;
      const r = await runIteration(seeds[i] as number, i);
      checks += r.checks;
      for (const [name, n] of Object.entries(r.byInvariant)) byInvariant[name as InvariantName] = (byInvariant[name as InvariantName] ?? 0) + n;
      if (r.violations.length) failures.push(r);
      options.log?.(
        r.violations.length
          ? formatFailure(r)
          : `iteration ${i + 1}/${seeds.length} seed ${r.seed}: ${r.attempts} attempt(s), ${r.checks} checks, ${(r.wallMs / 1000).toFixed(1)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 1) }, worker));
  failures.sort((a, b) => a.index - b.index);
  const wallMs = Date.now() - t0;
  const cpuPressure = pressureShare(p0, cpuPressureMicros(), wallMs);
  return { iterations: seeds.length, checks, byInvariant, failures, wallMs, cpuSeconds: cpuSeconds() - cpu0, ...(cpuPressure !== undefined ? { cpuPressure } : {}) };
}

export function formatSummary(s: SoakSummary): string {
  const per = (Object.keys(INVARIANTS) as InvariantName[]).map((name) => `${name} ${s.byInvariant[name] ?? 0}`).join(", ");
  return (
    `chaos soak: ${s.iterations} iterations, ${s.checks} invariant checks, ${s.failures.length} failed iteration(s), ` +
    `${s.failures.reduce((n, f) => n + f.violations.length, 0)} violation(s); wall ${(s.wallMs / 1000).toFixed(1)} s, CPU ${s.cpuSeconds.toFixed(1)} s` +
    `${s.cpuPressure !== undefined ? `, CPU pressure ${pct(s.cpuPressure)}` : ""}\n` +
    `  checks per invariant: ${per}`
  );
}
