/**
 * The shared run id of a multi-node fleet (`FleetRunId`), applied by the real terraform: `terraform test` with
 * `__tests__/terraform/fleet-run-id/run-id.tftest.hcl` on a stack holding only the variables, the run id and two test
 * outputs. No provider to install or mock, so six applies take about a second. Skips where terraform is missing.
 */
import { join } from "node:path";
import { TerraformOutput } from "cdktf";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FleetRunId } from "../../../modules/training-fleet";
import { FleetVariables } from "../../../src/fleet-variables";
import type { SynthesizedApp } from "../../support/synth";
import { type TerraformToolchain, describeTestFailures, terraformTest } from "../../support/terraform";
import { TrainingVariables } from "../../../src/variables";
import { stackWithSuite } from "../../support/terraform-suites";

const detection = inject("terraform");
const SUITE = join(__dirname, "..", "..", "terraform", "fleet-run-id", "run-id.tftest.hcl");

describe.skipIf(!detection.available)("the fleet's shared run id under the real terraform", () => {
  const toolchain = (detection as { toolchain: TerraformToolchain }).toolchain;
  let app: SynthesizedApp;
  let dir: string;

  beforeAll(async () => {
    ({ app, dir } = await stackWithSuite(
      toolchain,
      "runid",
      (stack) => {
        const variables = new TrainingVariables(stack, "Variables");
        const fleetVariables = new FleetVariables(stack, "FleetVariables", { maxInstances: 8, environment: "lab" });
        const runId = new FleetRunId(stack, "RunId", { runId: variables.runId.stringValue, desiredInstances: fleetVariables.desiredInstances.numberValue });
        // Test outputs: the id, and the resource's own id, which changes exactly when the run id is regenerated.
        new TerraformOutput(stack, "run_id", { value: runId.value });
        new TerraformOutput(stack, "run_id_resource", { value: runId.data.id });
      },
      SUITE,
    ));
  });

  afterAll(() => app?.cleanup());

  it("GIVEN scale-ups, resizes, a scale to zero and an override WHEN applied in turn THEN the run id is new, kept, regenerated and overridden", async () => {
    const report = await terraformTest(toolchain, dir);
    expect(describeTestFailures(report)).toBe("");
    expect(report.runs.map((r) => `${r.run}: ${r.status}`)).toEqual([
      "apply_scaled_to_zero: pass",
      "apply_scale_up_starts_a_new_run: pass",
      "apply_scale_out_keeps_the_run: pass",
      "apply_scale_in_keeps_the_run: pass",
      "apply_scale_to_zero_regenerates: pass",
      "apply_run_id_overrides: pass",
    ]);
    expect(report.diagnostics.filter((d) => d.severity === "warning")).toEqual([]);
  }, 60_000);
});
