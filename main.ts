/**
 * The cdktf app: one stack per environment in envs/ (named after it) plus the `bootstrap` stack that creates the
 * remote-state bucket. `npm run synth` (or `npx cdktf synth`) writes each to cdktf.out/stacks/<stack>/cdk.tf.json.
 * Each stack runs the policy packs (src/policy) during synth; the summary lists every suppressed finding.
 */
import { App } from "cdktf";
import { loadEnvironments } from "./src/config/load";
import { exitOnUserError } from "./src/main-errors";
import { printPolicySummary } from "./src/policy";
import { BootstrapStack } from "./src/stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "./src/stacks/environment-stack";

async function main(): Promise<void> {
  const environments = await loadEnvironments();
  const app = new App({ stackTraces: false });
  new BootstrapStack(app, { environments });
  for (const config of environments) {
    new TrainingEnvironmentStack(app, { config });
  }
  app.synth();
  printPolicySummary(app);
}

main().catch(exitOnUserError);
