/**
 * Issue 13, item 5: `-var use_spot=true` on an env whose safety nets "stop" (compute.useSpot false, so synth accepted
 * it) is refused by Terraform itself: `terraform test` (expect_failures) with
 * `__tests__/terraform/safety-spot-stop/spot-stop.tftest.hcl` on a stack holding only the variables and the check
 * (no provider to install or mock). Plus the synth side: the check exists exactly when a net stops a one-time request.
 */
import { join } from "node:path";
import { Fn, TerraformCount, Token } from "cdktf";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SpotStopCheck } from "../../../modules/training-safety";
import type { SynthesizedApp } from "../../support/synth";
import { type TerraformToolchain, describeTestFailures, terraformTest } from "../../support/terraform";
import { TrainingVariables } from "../../../src/variables";
import { synthSafety } from "../../support/safety/stack";
import { stackWithSuite } from "../../support/terraform-suites";

const detection = inject("terraform");
const SUITE = join(__dirname, "..", "..", "terraform", "safety-spot-stop", "spot-stop.tftest.hcl");

describe("safety: the spot stop check at synth", () => {
  it("GIVEN on-demand defaults and guard.action stop WHEN synthesized THEN the check exists, counted like the instance, on var.use_spot", () => {
    const { json } = synthSafety({ defaults: { useSpot: false }, safety: { guard: { action: "stop" } } });
    const check = json.resource?.terraform_data?.safety_spot_stop_check as { count: string; lifecycle: { precondition: { condition: string; error_message: string }[] } };
    expect(check.count).toBe("${var.create_instance ? 1 : 0}");
    expect(check.lifecycle.precondition[0]?.condition).toBe("${!var.use_spot}");
    expect(check.lifecycle.precondition[0]?.error_message).toContain('safety.guard.action is "stop"');
    expect(check.lifecycle.precondition[0]?.error_message).toContain("Fix: apply with -var use_spot=false");
  });

  it("GIVEN every net terminates (the default) WHEN synthesized THEN there is no check", () => {
    const { json } = synthSafety({ defaults: { useSpot: false } });
    expect(json.resource?.terraform_data?.safety_spot_stop_check).toBeUndefined();
  });
});

describe.skipIf(!detection.available)("safety: the spot stop check under the real terraform", () => {
  const toolchain = (detection as { toolchain: TerraformToolchain }).toolchain;
  let app: SynthesizedApp;
  let dir: string;

  beforeAll(async () => {
    ({ app, dir } = await stackWithSuite(
      toolchain,
      "spotstop",
      (stack) => {
        const variables = new TrainingVariables(stack, "Variables", { defaults: { useSpot: false } });
        const count = TerraformCount.of(Token.asNumber(Fn.conditional(variables.createInstance.booleanValue, 1, 0)));
        new SpotStopCheck(stack, "SpotStopCheck", { useSpot: variables.useSpot.booleanValue, count, requestType: "one-time", stoppingNets: ["safety.guard.action"] });
      },
      SUITE,
    ));
  });

  afterAll(() => app?.cleanup());

  it("GIVEN an env whose guard stops WHEN planned with use_spot=true and an instance THEN terraform refuses it; on demand or without an instance it plans", async () => {
    const report = await terraformTest(toolchain, dir);
    expect(describeTestFailures(report)).toBe("");
    expect(report.runs.map((r) => `${r.run}: ${r.status}`)).toEqual([
      "plan_on_demand_instance_is_accepted: pass",
      "plan_one_time_spot_with_a_stopping_guard_is_refused: pass",
      "plan_spot_without_an_instance_is_accepted: pass",
    ]);
  }, 60_000);
});
