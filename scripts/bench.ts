/**
 * `npm run bench`: the performance targets of this project, measured the way users run things, each as a ratio
 * paired in the same run (the machine is shared: absolute times move with its load, ratios much less).
 *
 * - floor: `node -e "require('cdktf'); require('constructs')"`, what any cdktf app costs before its own code;
 * - `npm run synth` (all stacks): median wall time over the floor measured just before it, each round; peak RSS;
 * - `npx cdktf synth` (what `cdktf deploy` runs first): median wall time over `npm run synth` of the same round;
 * - the synthesized output: identical between `npm run synth` and `cdktf synth`, and to the baseline's;
 * - `npm test`: CPU (user + sys of every process it starts), wall time and test count, once per checkout.
 *
 * Options: `--runs N` (rounds, default 7), `--no-tests` (skip `npm test`), `--baseline <git rev>` (measure that
 * commit too, in a temporary `git worktree` sharing this checkout's node_modules, interleaved with this checkout
 * round by round), `--no-readme` (print only; by default the table replaces README.md's `bench:figures` block).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, relative } from "node:path";

const PROJECT = join(__dirname, "..");
const RSS_PRELOAD = join(__dirname, "bench-rss.cjs");
const README = join(PROJECT, "README.md");
const MARKERS = ["<!-- bench:figures -->", "<!-- /bench:figures -->"] as const;

const TARGETS = { synthOverFloor: 3, synthRssMiB: 140, cliOverSynth: 1.5, testCpuSeconds: 90 } as const;

interface Sample {
  readonly seconds: number;
  /** user + sys CPU of the command and everything it started, in seconds. */
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  readonly stdout: string;
  readonly status: number | null;
}

/**
 * Runs `command` through bash in `cwd` and measures it: wall time, CPU of the process tree (bash's `times`, which
 * counts waited-for children), peak RSS of the largest node process (bench-rss.cjs preloaded into each).
 */
function measure(cwd: string, command: string, env: Record<string, string> = {}, allowFailure = false): Sample {
  const work = mkdtempSync(join(tmpdir(), "gti-bench-"));
  const rssFile = join(work, "rss");
  const timesFile = join(work, "times");
  writeFileSync(rssFile, "");
  try {
    const start = process.hrtime.bigint();
    const result = spawnSync("bash", ["-c", `${command}\nstatus=$?\ntimes >"$GTI_BENCH_TIMES"\nexit $status`], {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: "1",
        CI: "1",
        GTI_BENCH_RSS_FILE: rssFile,
        GTI_BENCH_TIMES: timesFile,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${RSS_PRELOAD}`.trim(),
        ...env,
      },
      maxBuffer: 256 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0 && !allowFailure) {
      throw new Error(`${command} failed in ${cwd} (exit ${result.status}):\n${(result.stderr || result.stdout).slice(-4000)}`);
    }
    // `times`: the shell's user and sys, then its children's: "0m1.234s 0m0.056s".
    const children = (readFileSync(timesFile, "utf8").trim().split("\n")[1] ?? "").split(/\s+/).map(parseTimes);
    const rss = readFileSync(rssFile, "utf8").split("\n").filter(Boolean).map(Number);
    return {
      seconds,
      cpuSeconds: children.reduce((a, b) => a + b, 0),
      peakRssMiB: Math.max(0, ...rss) / 1024,
      stdout: `${result.stdout}\n${result.stderr}`,
      status: result.status,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function parseTimes(value: string): number {
  const match = /^(\d+)m([\d.]+)s$/.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** SHA-256 of every file under `dir` (path and bytes), the manifest excepted (it names the output directory). */
function treeHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const full = join(at, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name !== "manifest.json") hash.update(`${relative(dir, full)}\0`).update(readFileSync(full)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex");
}

interface Checkout {
  readonly label: string;
  readonly dir: string;
  readonly floor: number[];
  readonly synth: number[];
  readonly synthOverFloor: number[];
  readonly rss: number[];
  readonly cli: number[];
  readonly cliOverSynth: number[];
  outputs: Set<string>;
  cliOutputs: Set<string>;
  tests?: { cpuSeconds: number; seconds: number; count: string; status: number | null };
}

function checkout(label: string, dir: string): Checkout {
  return { label, dir, floor: [], synth: [], synthOverFloor: [], rss: [], cli: [], cliOverSynth: [], outputs: new Set(), cliOutputs: new Set() };
}

const FLOOR = `node -e "require('cdktf'); require('constructs')"`;

function round(c: Checkout): void {
  const out = mkdtempSync(join(tmpdir(), "gti-bench-out-"));
  try {
    const floor = measure(PROJECT, FLOOR);
    const synth = measure(c.dir, "npm run synth", { CDKTF_OUTDIR: join(out, "synth") });
    const cli = measure(c.dir, `npx cdktf synth --output ${join(out, "cli")}`);
    c.floor.push(floor.seconds);
    c.synth.push(synth.seconds);
    c.synthOverFloor.push(synth.seconds / floor.seconds);
    c.rss.push(synth.peakRssMiB);
    c.cli.push(cli.seconds);
    c.cliOverSynth.push(cli.seconds / synth.seconds);
    c.outputs.add(treeHash(join(out, "synth")));
    c.cliOutputs.add(treeHash(join(out, "cli")));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runTests(c: Checkout): void {
  const run = measure(c.dir, "npm test", {}, true);
  const plain = run.stdout.replace(/\x1b\[[0-9;]*m/g, ""); // eslint-disable-line no-control-regex
  // "3 failed | 1381 passed (1384)": "|" would end the table cell.
  const count = (/^\s*Tests\s+(.+)$/m.exec(plain)?.[1]?.trim() ?? "?").replace(/\s*\|\s*/g, ", ");
  c.tests = { cpuSeconds: run.cpuSeconds, seconds: run.seconds, count, status: run.status };
}

/** A temporary worktree of `rev` sharing this checkout's node_modules; removed by the returned function. */
function baselineWorktree(rev: string): { dir: string; remove: () => void } {
  const parent = mkdtempSync(join(tmpdir(), "gti-bench-baseline-"));
  const dir = join(parent, "checkout");
  const add = spawnSync("git", ["worktree", "add", "--detach", dir, rev], { cwd: PROJECT, encoding: "utf8" });
  if (add.status !== 0) throw new Error(`git worktree add ${rev} failed:\n${add.stderr}`);
  // This checkout's packages, but a cache of its own: the Lambda bundle cache keeps one build per bundle name, so a
  // shared node_modules/.cache had the two checkouts rebuild each other's guard bundle every round (~0.5 s and ~25 MiB
  // more per synth, both sides).
  mkdirSync(join(dir, "node_modules"));
  for (const entry of readdirSync(join(PROJECT, "node_modules"))) {
    if (entry !== ".cache") symlinkSync(join(PROJECT, "node_modules", entry), join(dir, "node_modules", entry));
  }
  return {
    dir,
    remove: () => {
      spawnSync("git", ["worktree", "remove", "--force", dir], { cwd: PROJECT });
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

const seconds = (s: number): string => `${s.toFixed(2)} s`;
const ratio = (r: number): string => `${r.toFixed(2)}x`;
const met = (ok: boolean): string => (ok ? "met" : "**not met**");

function table(checkouts: readonly Checkout[], runs: number): string[] {
  const now = checkouts[0] as Checkout;
  const base = checkouts[1];
  const head = base ? `| measure | baseline ${base.label} | now | target |` : "| measure | now | target |";
  const line = (name: string, figure: (c: Checkout) => string, target: string) =>
    base ? `| ${name} | ${figure(base)} | ${figure(now)} | ${target} |` : `| ${name} | ${figure(now)} | ${target} |`;
  const identical = (c: Checkout) =>
    c.outputs.size === 1 && c.cliOutputs.size === 1 && [...c.outputs][0] === [...c.cliOutputs][0] ? "identical" : "**DIFFERENT**";
  const rows = [
    head,
    base ? "| --- | --- | --- | --- |" : "| --- | --- | --- |",
    line("floor: `node -e \"require('cdktf'); require('constructs')\"`", (c) => seconds(median(c.floor)), "-"),
    line(
      "`npm run synth` (4 stacks) over the floor",
      (c) => `${ratio(median(c.synthOverFloor))} (${seconds(median(c.synth))})`,
      `<= ${TARGETS.synthOverFloor}x: ${met(median(now.synthOverFloor) <= TARGETS.synthOverFloor)}`,
    ),
    line("`npm run synth` peak RSS (largest process)", (c) => `${median(c.rss).toFixed(0)} MiB`, `<= ${TARGETS.synthRssMiB} MiB: ${met(median(now.rss) <= TARGETS.synthRssMiB)}`),
    line(
      "`npx cdktf synth` over `npm run synth`",
      (c) => `${ratio(median(c.cliOverSynth))} (${seconds(median(c.cli))})`,
      `<= ${TARGETS.cliOverSynth}x: ${met(median(now.cliOverSynth) <= TARGETS.cliOverSynth)}`,
    ),
    line("output of `npm run synth` and `cdktf synth`, every round", identical, "identical"),
  ];
  if (base) {
    const same = now.outputs.size === 1 && [...now.outputs][0] === [...base.outputs][0];
    rows.push(`| output now vs baseline | - | ${same ? "byte-identical" : "**DIFFERENT**"} | byte-identical |`);
  }
  if (now.tests) {
    rows.push(
      line(
        "`npm test`: CPU (user + sys), wall, tests",
        (c) => (c.tests ? `${c.tests.cpuSeconds.toFixed(0)} s CPU, ${c.tests.seconds.toFixed(0)} s wall, ${c.tests.count}${c.tests.status === 0 ? "" : " (FAILED)"}` : "-"),
        `<= ${TARGETS.testCpuSeconds} s CPU: ${met(now.tests.cpuSeconds <= TARGETS.testCpuSeconds)}`,
      ),
    );
  }
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown"}), Node ${process.version}`;
  return [
    `\`npm run bench${base ? ` -- --baseline ${base.label}` : ""}\`, ${new Date().toISOString().slice(0, 10)}: medians of ${runs} rounds on ${machine}; ` +
      `each round runs the floor, then \`npm run synth\`, then \`npx cdktf synth\`${base ? ", for each checkout in turn" : ""} (ratios are paired ` +
      "within a round; how and why: [docs/performance.md](docs/performance.md)).",
    "",
    ...rows,
  ];
}

function writeReadme(lines: readonly string[]): void {
  const text = readFileSync(README, "utf8");
  const start = text.indexOf(MARKERS[0]);
  const end = text.indexOf(MARKERS[1]);
  if (start < 0 || end < start) throw new Error(`README.md has no ${MARKERS[0]} ... ${MARKERS[1]} block`);
  writeFileSync(README, `${text.slice(0, start + MARKERS[0].length)}\n${lines.join("\n")}\n${text.slice(end)}`);
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const runs = Number(option("--runs") ?? 7);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number >= 1");
  const rev = option("--baseline");

  const now = checkout("now", PROJECT);
  const worktree = rev ? baselineWorktree(rev) : undefined;
  try {
    const checkouts = worktree && rev ? [now, checkout(rev, worktree.dir)] : [now];
    for (const c of checkouts) round(c); // warm-up: file system cache, compile and bundle caches
    for (const c of checkouts) {
      c.floor.length = c.synth.length = c.synthOverFloor.length = c.rss.length = c.cli.length = c.cliOverSynth.length = 0;
    }
    for (let i = 0; i < runs; i++) {
      for (const c of i % 2 ? [...checkouts].reverse() : checkouts) round(c);
      process.stderr.write(`round ${i + 1}/${runs} done\n`);
    }
    if (!args.includes("--no-tests")) {
      for (const c of checkouts) {
        process.stderr.write(`npm test in ${c.label}...\n`);
        runTests(c);
      }
    }
    const lines = table(checkouts, runs);
    console.log(lines.join("\n"));
    if (!args.includes("--no-readme")) writeReadme(lines);
  } finally {
    worktree?.remove();
  }
}

main();
