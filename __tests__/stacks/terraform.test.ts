/**
 * The real terraform on what we synthesize: `init -backend=false` and `terraform test` (which validates first; mocked
 * AWS, real plans and applies) for every stack, exactly as main.ts wires them. Skips, saying why, where terraform or the
 * hashicorp/aws provider cannot be found.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BootstrapStack } from "../../stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "../../stacks/environment-stack";
import { type SynthesizedApp, synthesizeToDisk } from "../support/synth";
import {
  type TerraformToolchain,
  type TestReport,
  describeTestFailures,
  formatDiagnostics,
  terraformInit,
  terraformTest,
} from "../support/terraform";
import { realEnvironments } from "../support/envs";
import { environmentFilesFor, installFleetSuites, installTerraformSuite, suiteFor } from "../support/terraform-suites";
import { recordCheck } from "../support/terraform-report";

const detection = inject("terraform");
const reportDir = inject("terraformReportDir");
const STACKS = ["bootstrap", "dev", "prod", "training"] as const;

/** Warnings tolerated from `terraform test`, each with the reason. Empty is the goal (and the state today). */
const TOLERATED_TEST_WARNINGS: string[] = [];

/** Resources each stack must refuse to destroy (terraform test's teardown proves prevent_destroy). */
const ENV_PROTECTED = ["aws_s3_bucket.storage_data", "aws_s3_bucket.storage_outputs"];
const PROTECTED_FROM_DESTROY: Record<string, string[]> = {
  bootstrap: ["aws_s3_bucket.state"],
  // training-storage's buckets (the ECR repository is not protected: images are rebuildable, and ECR itself refuses
  // to delete a repository that still holds images, since force_delete = false).
  dev: ENV_PROTECTED,
  prod: ENV_PROTECTED,
  training: ENV_PROTECTED,
};

/**
 * Per-stack time limit of `terraform test` (the training stack plans 7 times and applies and tears down twice against
 * the mock, the others less): under 25 s each on an idle 2-core machine with all stacks
 * running at once; the margin is for a machine whose cores are shared with other jobs.
 */
const TERRAFORM_TEST_TIMEOUT_MS = 180_000;

const title = detection.available
  ? `real terraform (${detection.toolchain.description})`
  : `real terraform (SKIPPED: ${detection.reason})`;

describe.skipIf(!detection.available)(title, () => {
  const toolchain = (detection as { toolchain: TerraformToolchain }).toolchain;
  let app: SynthesizedApp;
  const reports = new Map<string, Promise<TestReport>>();

  beforeAll(async () => {
    const environments = await realEnvironments();
    app = synthesizeToDisk((a) => {
      new BootstrapStack(a, { environments });
      for (const config of environments) new TrainingEnvironmentStack(a, { config });
    });
    await Promise.all(
      STACKS.map(async (stack) => {
        installTerraformSuite(app.stackDir(stack), suiteFor(stack), suiteFor(stack) === "environment" ? environmentFilesFor(stack) : undefined);
        // Spot fleet suites, on the stacks of envs with a fleet (dev, prod), with each env's maximum.
        const fleet = environments.find((env) => env.name === stack)?.fleet;
        if (fleet) installFleetSuites(app.stackDir(stack), fleet);
        await terraformInit(toolchain, app.stackDir(stack));
        const pending = terraformTest(toolchain, app.stackDir(stack)).then((result) => {
          const warnings = result.diagnostics.filter((d) => d.severity === "warning" && !TOLERATED_TEST_WARNINGS.includes(d.summary));
          const ok = describeTestFailures(result) === "" && warnings.length === 0 && result.runs.length > 0;
          recordCheck(reportDir, { stack, check: "test", ok });
          return result;
        });
        pending.catch(() => undefined); // reported by the tests that await it
        reports.set(stack, pending);
      }),
    );
  });

  afterAll(() => app?.cleanup());

  // One `terraform test` per stack, all at once (terraform is CPU-bound in child processes, so both cores stay busy),
  // started when the stacks are ready; each test below reads its stack's report.
  //
  // No separate `terraform validate`: `terraform test` validates the configuration first and reports the same
  // diagnostics, errors and warnings alike, at the same file and line (measured on a synthesized stack with a
  // deprecated argument and with an undeclared variable: docs/performance.md), and the first test below fails on any
  // error or warning it reports. A validate of its own cost a provider start and a schema load (~3 s of CPU) per stack.
  const report = (stack: string): Promise<TestReport> => {
    const pending = reports.get(stack);
    if (!pending) throw new Error(`terraform test did not start for ${stack} (the setup failed)`);
    return pending;
  };

  it.concurrent.each(STACKS)("GIVEN the synthesized %s stack WHEN terraform test runs (mocked AWS) THEN the configuration is valid, with no warnings", async (stack) => {
    const { diagnostics } = await report(stack);
    const warnings = diagnostics.filter((d) => d.severity === "warning" && !TOLERATED_TEST_WARNINGS.includes(d.summary));
    const errors = diagnostics.filter((d) => d.severity === "error" && !d.testRun);
    expect(errors, formatDiagnostics(errors)).toEqual([]);
    expect(warnings, formatDiagnostics(warnings)).toEqual([]);
  }, TERRAFORM_TEST_TIMEOUT_MS);

  it.concurrent.each(STACKS)("GIVEN the synthesized %s stack WHEN terraform test runs (mocked AWS) THEN every run passes", async (stack) => {
    const result = await report(stack);
    const failures = describeTestFailures(result);
    expect(failures, failures).toBe("");
    expect(result.runs.length).toBeGreaterThan(0);
  }, TERRAFORM_TEST_TIMEOUT_MS);

  it.concurrent.each(STACKS)("GIVEN the synthesized %s stack WHEN terraform test tears down THEN it refuses to destroy exactly the protected resources", async (stack) => {
    expect((await report(stack)).protectedFromDestroy).toEqual(PROTECTED_FROM_DESTROY[stack] ?? []);
  }, TERRAFORM_TEST_TIMEOUT_MS);
});
