// Preloaded into every node process of a benchmarked command (NODE_OPTIONS=--require): appends the process's peak
// resident set size (KiB) to the file named by GTI_BENCH_RSS_FILE when it exits.
//
// The peak is VmHWM from /proc/self/status: this process image's own high-water mark. process.resourceUsage().maxRSS
// is not: Linux keeps ru_maxrss across execve, so a node started by fork + exec from a large process reports that
// process's size (a synth spawned by a vitest worker that had synthesized in-process: 227 MiB, its VmHWM 106 MiB).
// Where there is no /proc, maxRSS is the fallback.
const { appendFileSync, readFileSync } = require("node:fs");
const file = process.env.GTI_BENCH_RSS_FILE;

function peakKiB() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]);
  } catch {
    // no procfs
  }
  return process.resourceUsage().maxRSS;
}

if (file) {
  process.on("exit", () => appendFileSync(file, `${peakKiB()}\n`));
}
