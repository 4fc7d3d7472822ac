/**
 * `gti doctor [env]`: everything that stops a first deploy or a first run, each PASS, WARN, FAIL or SKIP with the fix:
 * terraform and the AWS provider, credentials and the account guard, placeholder values, the state bucket, GPU
 * quotas, the budget's cost allocation tag, alert subscriptions and the training image (the last two once deployed).
 * Exit code 1 when anything FAILs.
 */
import { Command } from "commander";
import { envsDir, loadProject } from "../../config/load";
import { type OutputsOptions, withEnvArgument, withJson, withOutputs } from "../command-kit";
import type { Context } from "../context";
import { CliError } from "../errors";
import { json } from "../format";
import type { Bind } from "../main";
import type { StackOutputs } from "../outputs";
import { alertsCheck, costTagCheck, credentialsCheck, imageCheck, stateBucketCheck } from "../doctor/aws-checks";
import { type Check, skip } from "../doctor/check";
import { placeholdersCheck, providerCheck, terraformCheck } from "../doctor/local-checks";
import { quotaChecks } from "../doctor/quotas";

export function doctorCommand(bind: Bind): Command {
  const command = new Command("doctor").description("check everything a first deploy and a first run need; PASS/WARN/FAIL with the fix");
  withEnvArgument(command);
  withOutputs(withJson(command));
  return command.action(bind(doctor));
}

async function doctor(ctx: Context, envName: string, options: OutputsOptions): Promise<number> {
  const config = await ctx.environment(envName);
  const checks: Check[] = [];
  const report = (check: Check): void => {
    checks.push(check);
    if (!options.json) printCheck(ctx, check);
  };
  if (!options.json) ctx.out(`gti doctor ${config.name} (${config.region})\n`);

  const terraform = terraformCheck(ctx.io.env);
  report(terraform.check);
  report(await providerCheck(terraform.binary, ctx.io.env));
  // The loaded environment knows which file holds each value (envs/_shared.ts for shared ones).
  const project = await loadProject(envsDir(ctx.io.env));
  report(placeholdersCheck(project.environments.find((loaded) => loaded.name === config.name) ?? config));

  const credentials = await credentialsCheck(ctx, config);
  report(credentials.check);
  const needsAws = ["state bucket", "GPU quotas", "cost allocation tag", "alert subscriptions", "training image"];
  if (!credentials.account) {
    for (const name of needsAws) report(skip(name, "not checked: no usable AWS credentials", "fix the credentials check first"));
  } else {
    report(await stateBucketCheck(ctx, config));
    for (const check of await quotaChecks(ctx, config)) report(check);
    report(await costTagCheck(ctx));
    let outputs: StackOutputs | undefined;
    let why = "";
    try {
      outputs = await ctx.outputs(config, options.outputs);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      why = error.message;
    }
    if (outputs) {
      report(await alertsCheck(ctx, config, outputs));
      report(await imageCheck(ctx, config, outputs));
    } else {
      for (const name of ["alert subscriptions", "training image"]) report(skip(name, `not checked: ${why}`, `after the first deploy (npx cdktf deploy ${config.name}), run gti doctor again`));
    }
  }

  const count = (status: Check["status"]): number => checks.filter((c) => c.status === status).length;
  const failed = count("FAIL");
  if (options.json) {
    ctx.out(json({ env: config.name, region: config.region, ok: failed === 0, checks }));
  } else {
    ctx.out(`\nSummary: ${count("PASS")} PASS, ${count("WARN")} WARN, ${failed} FAIL, ${count("SKIP")} SKIP`);
    ctx.out(failed === 0 ? `Ready: npx cdktf deploy ${config.name}` : "Fix the FAIL lines above, then run gti doctor again.");
  }
  return failed === 0 ? 0 : 1;
}

function printCheck(ctx: Context, check: Check): void {
  ctx.out(`${check.status.padEnd(4)}  ${check.name}: ${check.detail}`);
  if (check.fix && check.status !== "PASS") ctx.out(`      fix: ${check.fix}`);
}
