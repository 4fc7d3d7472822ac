/**
 * The cdktf app: one stack per environment in envs/ (named after it) plus the `bootstrap` stack that creates the
 * remote-state bucket. `npm run synth` (or `npx cdktf synth`) writes each to cdktf.out/stacks/<stack>/cdk.tf.json.
 *
 * Before synth, every env file is checked and every problem printed once, grouped by file (src/run.ts); each stack
 * runs the policy packs (src/policy) during synth. Errors end with one message, never a stack trace
 * (src/main-errors.ts; GTI_DEBUG=1 or --debug shows the trace).
 */
import { App } from "cdktf";
import { exitOnError } from "./src/main-errors";
import { printPolicySummary } from "./src/policy";
import { finishRun, prepareRun } from "./src/run";
import { BootstrapStack } from "./stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "./stacks/environment-stack";

async function main(): Promise<void> {
  const run = await prepareRun();
  const app = new App({ stackTraces: false });
  if (run.bootstrapEnvironments) new BootstrapStack(app, { environments: run.bootstrapEnvironments });
  for (const config of run.environments) {
    new TrainingEnvironmentStack(app, { config });
  }
  app.synth();
  printPolicySummary(app);
  finishRun(app, run.options);
}

main().catch((error: unknown) => exitOnError(error));
