/**
 * `npm run bench`: synthesizes every stack several times the way `npm run synth` does (a fresh `tsx main.ts`
 * process each time) and prints the median wall time and the peak RSS; then times the test suite once.
 *
 * Options: `--runs N` (default 7), `--no-tests` (skip timing the test suite).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

const PROJECT = join(__dirname, "..");
const TSX = join(PROJECT, "node_modules", ".bin", "tsx");
const VITEST = join(PROJECT, "node_modules", ".bin", "vitest");
const TARGET_SECONDS = 1.5;

interface Sample {
  readonly seconds: number;
  readonly peakRssMiB: number;
}

function timeCommand(command: string, args: readonly string[], env: Record<string, string>): Sample {
  const work = mkdtempSync(join(tmpdir(), "gti-bench-"));
  const rssFile = join(work, "rss");
  writeFileSync(rssFile, "");
  try {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, [...args], {
      cwd: PROJECT,
      encoding: "utf8",
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: "1",
        CDKTF_OUTDIR: join(work, "cdktf.out"),
        GTI_BENCH_RSS_FILE: rssFile,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${join(__dirname, "bench-rss.cjs")}`.trim(),
        ...env,
      },
      maxBuffer: 256 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
    }
    const rss = readFileSync(rssFile, "utf8").split("\n").filter(Boolean).map(Number);
    return { seconds, peakRssMiB: Math.max(0, ...rss) / 1024 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function main(): void {
  const args = process.argv.slice(2);
  const runsIndex = args.indexOf("--runs");
  const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number >= 1");

  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}`);
  timeCommand(TSX, ["main.ts"], {}); // warm-up: file system cache, esbuild/asset caches
  const samples = Array.from({ length: runs }, () => timeCommand(TSX, ["main.ts"], {}));
  const seconds = samples.map((s) => s.seconds);
  const synthMedian = median(seconds);
  const peak = Math.max(...samples.map((s) => s.peakRssMiB));
  console.log(
    `Synth, all stacks (tsx main.ts), ${runs} runs: median ${synthMedian.toFixed(2)} s ` +
      `(min ${Math.min(...seconds).toFixed(2)}, max ${Math.max(...seconds).toFixed(2)}), peak RSS ${peak.toFixed(0)} MiB; ` +
      `target < ${TARGET_SECONDS} s: ${synthMedian < TARGET_SECONDS ? "met" : "MISSED"}`,
  );

  if (!args.includes("--no-tests")) {
    const suite = timeCommand(VITEST, ["run"], {});
    console.log(`Test suite (vitest run): ${suite.seconds.toFixed(1)} s, peak RSS of one process ${suite.peakRssMiB.toFixed(0)} MiB`);
  }
}

main();
