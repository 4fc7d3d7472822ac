/**
 * The variables' validation rules, proven by the real terraform: `terraform console -var ...` on a stack holding only
 * the variables (no provider: nothing to install, no credentials) evaluates every validation block and prints its
 * message. `__tests__/terraform/environment/modules.tftest.hcl` covers the full stacks (plans, an apply, failures).
 * Skips, saying why, where terraform is not available.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynthesizedApp } from "../support/synth";
import type { TerraformToolchain } from "../support/terraform";
import { TrainingVariables } from "../../src/variables";
import { consoleWith, initializedStack } from "../support/terraform-console";

const detection = inject("terraform");

describe.skipIf(!detection.available)("training variables under the real terraform", () => {
  const toolchain = (detection as { toolchain: TerraformToolchain }).toolchain;
  let app: SynthesizedApp;
  let dir: string;

  beforeAll(async () => {
    // The local backend initialized for real (console needs it); no provider to install.
    ({ app, dir } = await initializedStack(toolchain, "variables", (stack) => {
      new TrainingVariables(stack, "Variables", { defaults: { instanceType: "g6.xlarge" } });
    }));
  });

  afterAll(() => app?.cleanup());

  it("GIVEN t3.micro WHEN passed as instance_type THEN terraform refuses it with the GPU family message", () => {
    // terraform console reports the failed validation and goes on (exit 0): the message is what counts.
    const { stderr } = consoleWith(toolchain, dir, { instance_type: "t3.micro" });
    expect(stderr).toContain("Error: Invalid value for variable");
    expect(stderr).toContain('instance_type = "t3.micro" is not an NVIDIA GPU instance type on x86_64 that the GPU Deep');
    expect(stderr).toContain("(families g4dn, g5,");
    expect(stderr).toContain('Fix: pick one such as "g5.xlarge"');
  });

  it("GIVEN one bad value per variable WHEN passed THEN terraform refuses each with its own message", () => {
    const { stderr } = consoleWith(toolchain, dir, {
      instance_type: "g5g.xlarge",
      max_runtime_hours: 0,
      spot_max_price: "cheap",
      root_volume_size_gb: 99,
      training_image_tag: "bad tag",
      run_id: "../escape",
    });
    expect(stderr.match(/Error: Invalid value for variable/g)).toHaveLength(6);
    for (const message of [
      'instance_type = "g5g.xlarge" is not an NVIDIA GPU instance type',
      "max_runtime_hours = 0 must be a whole number of hours from 1 to 168",
      'spot_max_price = "cheap" must be empty (capped at the on-demand price) or a price in USD per hour above 0',
      "root_volume_size_gb = 99 must be a whole number of GiB from 100 to 16384",
      'training_image_tag = "bad tag" is not a valid image tag',
      'run_id = "../escape" is not a valid run id',
    ]) {
      expect(stderr).toContain(message);
    }
  });

  it("GIVEN the other edges (fractions, over the top, a zero price, a dot tag) WHEN passed THEN terraform refuses each", () => {
    const { stderr } = consoleWith(toolchain, dir, {
      max_runtime_hours: 1.5,
      spot_max_price: "0.00",
      root_volume_size_gb: 16385,
      training_image_tag: ".hidden",
      run_id: "-x",
    });
    for (const message of [
      "max_runtime_hours = 1.5 must be a whole number",
      'spot_max_price = "0.00" must be empty',
      "root_volume_size_gb = 16385 must be a whole number of GiB",
      'training_image_tag = ".hidden" is not a valid image tag',
      'run_id = "-x" is not a valid run id',
    ]) {
      expect(stderr).toContain(message);
    }
  });

  it("GIVEN a week of runtime WHEN passed THEN 169 hours is refused", () => {
    expect(consoleWith(toolchain, dir, { max_runtime_hours: 169 }).stderr).toContain("max_runtime_hours = 169 must be a whole number");
  });

  it("GIVEN the largest and smallest valid values WHEN passed THEN terraform accepts them", () => {
    const { status, stdout, stderr } = consoleWith(
      toolchain,
      dir,
      {
        instance_type: "p5.48xlarge",
        max_runtime_hours: 168,
        spot_max_price: "0.01",
        root_volume_size_gb: 100,
        training_image_tag: "0123456789abcdef0123456789abcdef01234567",
        run_id: "run-20250131-143005",
      },
      '"${var.instance_type}|${var.max_runtime_hours}|${var.spot_max_price}|${var.root_volume_size_gb}|${var.run_id}"',
    );
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stdout).toContain('"p5.48xlarge|168|0.01|100|run-20250131-143005"');
  });

  it("GIVEN no -var WHEN evaluated THEN the defaults hold (the env's instance type, no instance)", () => {
    const { stdout } = consoleWith(toolchain, dir, {}, '"${var.instance_type}|${var.create_instance}|${var.use_spot}"');
    expect(stdout).toContain('"g6.xlarge|false|true"');
  });
});
