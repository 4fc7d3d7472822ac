/**
 * `npm run docs`: synthesizes the project's stacks (as main.ts wires them) and rewrites the generated docs,
 * docs/policy-rules.md and docs/terraform-interface.md (scripts/docs/). `--check` only reports which are stale
 * (exit 1 when any is).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { loadEnvironments } from "../src/config/load";
import { exitOnUserError } from "../src/main-errors";
import { PolicyViolationError, failed } from "../src/policy";
import { BootstrapStack } from "../stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "../stacks/environment-stack";
import { generateDocs } from "./docs/generate";

const ROOT = join(__dirname, "..");

async function main(): Promise<void> {
  const environments = await loadEnvironments();
  const outdir = mkdtempSync(join(tmpdir(), "gti-docs-"));
  try {
    const app = new App({ outdir, stackTraces: false });
    const stacks = [new BootstrapStack(app, { environments }), ...environments.map((config) => new TrainingEnvironmentStack(app, { config }))];
    const { docs, reports } = generateDocs(stacks);
    if (reports.some(failed)) throw new PolicyViolationError(reports);
    const check = process.argv.includes("--check");
    const stale: string[] = [];
    for (const [path, content] of docs) {
      const file = join(ROOT, path);
      let current = "";
      try {
        current = readFileSync(file, "utf8");
      } catch {
        // A missing doc is stale.
      }
      if (current === content) continue;
      stale.push(path);
      if (!check) writeFileSync(file, content);
    }
    if (check) {
      console.log(stale.length ? `Stale: ${stale.join(", ")}. Fix: npm run docs` : `Generated docs are up to date: ${[...docs.keys()].join(", ")}.`);
      process.exitCode = stale.length ? 1 : 0;
      return;
    }
    console.log(stale.length ? `Updated ${stale.join(", ")}.` : `Generated docs already up to date: ${[...docs.keys()].join(", ")}.`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

main().catch(exitOnUserError);
