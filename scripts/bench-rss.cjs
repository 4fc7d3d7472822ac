// Preloaded into every node process of a benchmarked command (NODE_OPTIONS=--require): appends the process's peak
// resident set size (KiB) to the file named by GTI_BENCH_RSS_FILE when it exits.
const { appendFileSync } = require("node:fs");
const file = process.env.GTI_BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
}
