/**
 * `npm run policy:readme`: synthesizes the project's stacks (as main.ts wires them), runs the policy packs on each and
 * rewrites the README's generated tables: every rule (`<!-- policy:rules -->`) and every suppression in force
 * (`<!-- policy:suppressions -->`). `--check` only reports whether they are stale (exit 1 when they are).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { loadEnvironments } from "../src/config/load";
import { exitOnUserError } from "../src/main-errors";
import { ALL_RULES, PolicyViolationError, evaluateStack, failed } from "../src/policy";
import { renderPolicyReadme } from "../src/policy/readme";
import { BootstrapStack } from "../stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "../stacks/environment-stack";

const README = join(__dirname, "..", "README.md");

async function main(): Promise<void> {
  const environments = await loadEnvironments();
  const outdir = mkdtempSync(join(tmpdir(), "gti-policy-readme-"));
  try {
    const app = new App({ outdir, stackTraces: false });
    const stacks = [new BootstrapStack(app, { environments }), ...environments.map((config) => new TrainingEnvironmentStack(app, { config }))];
    const reports = stacks.map((stack) => evaluateStack(stack, ALL_RULES));
    if (reports.some(failed)) throw new PolicyViolationError(reports);
    const current = readFileSync(README, "utf8");
    const next = renderPolicyReadme(current, ALL_RULES, reports);
    if (process.argv.includes("--check")) {
      console.log(current === next ? "README policy tables are up to date." : "README policy tables are stale: run `npm run policy:readme`.");
      process.exitCode = current === next ? 0 : 1;
      return;
    }
    if (current !== next) writeFileSync(README, next);
    const suppressed = reports.reduce((n, r) => n + r.suppressed.length, 0);
    console.log(`README policy tables ${current === next ? "already up to date" : "updated"}: ${ALL_RULES.length} rules, ${suppressed} suppressed findings.`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

main().catch(exitOnUserError);
