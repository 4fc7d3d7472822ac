/**
 * The fleet's variables, `desired_instances` and `on_demand_base_capacity`: their synthesized shape, and their
 * validation rules and messages proven by the real terraform (`terraform console -var ...` on a stack holding only the
 * variables: no provider, no plan). `__tests__/terraform/fleet/` proves the env stacks' boundaries with plans.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FLEET_VARIABLE_NAMES, FleetVariables } from "../../src/fleet-variables";
import type { SynthesizedApp } from "../support/synth";
import type { TerraformToolchain } from "../support/terraform";
import { TrainingVariables } from "../../src/variables";
import { realEnvironment } from "../support/envs";
import { synthModule } from "../support/module-stack";
import { synthEnvironment } from "../support/stacks";
import { consoleWith, initializedStack } from "../support/terraform-console";

const detection = inject("terraform");

describe("fleet variables: shape", () => {
  const { json } = synthModule((stack) => {
    new TrainingVariables(stack, "Variables");
    new FleetVariables(stack, "FleetVariables", { maxInstances: 3, environment: "lab", desiredInstances: 1, onDemandBaseCapacity: 1 });
  });
  const variables = json.variable ?? {};

  it.each(Object.values(FLEET_VARIABLE_NAMES))("GIVEN %s WHEN synthesized THEN it is a non-nullable number with a description", (name) => {
    expect(variables[name]).toMatchObject({ type: "number", nullable: false });
    expect(String(variables[name]?.description).length).toBeGreaterThan(60);
  });

  it("GIVEN defaults WHEN synthesized THEN they are the variables' defaults", () => {
    expect([variables.desired_instances?.default, variables.on_demand_base_capacity?.default]).toEqual([1, 1]);
  });

  it("GIVEN max 3 WHEN synthesized THEN desired_instances must be a whole number from 0 to 3", () => {
    expect(variables.desired_instances?.validation).toEqual([
      expect.objectContaining({
        condition:
          "${var.desired_instances >= 0 && var.desired_instances <= 3 && floor(var.desired_instances) == var.desired_instances}",
      }),
    ]);
  });

  it("GIVEN max 3 WHEN synthesized THEN on_demand_base_capacity is 0..3 and at most desired_instances (cross-variable)", () => {
    const conditions = (variables.on_demand_base_capacity?.validation as { condition: string }[]).map((v) => v.condition);
    expect(conditions).toEqual([
      "${var.on_demand_base_capacity >= 0 && var.on_demand_base_capacity <= 3 && floor(var.on_demand_base_capacity) == var.on_demand_base_capacity}",
      "${var.on_demand_base_capacity <= var.desired_instances}",
    ]);
  });

  it.each([
    ["over the maximum", { desiredInstances: 4 }],
    ["a fraction", { desiredInstances: 0.5 }],
    ["a negative base", { onDemandBaseCapacity: -1 }],
    ["a zero maximum", { maxInstances: 0 }],
  ])("GIVEN a default %s WHEN built THEN the construct refuses it", (_what, props) => {
    const build = () =>
      synthModule((stack) => new FleetVariables(stack, "FleetVariables", { maxInstances: 3, environment: "lab", ...props }));
    expect(build).toThrow(/FleetVariables: maxInstances/);
  });

  it.each([
    ["dev", 1],
    ["prod", 8],
  ])("GIVEN env %s WHEN synthesized THEN the variables default to 0 and accept up to its fleet.maxInstances (%i)", async (name, max) => {
    const stackVariables = synthEnvironment(await realEnvironment(name)).json.variable ?? {};
    expect([stackVariables.desired_instances?.default, stackVariables.on_demand_base_capacity?.default]).toEqual([0, 0]);
    expect(JSON.stringify(stackVariables.desired_instances?.validation)).toContain(`var.desired_instances <= ${max} `);
  });
});

describe.skipIf(!detection.available)("fleet variables under the real terraform", () => {
  const toolchain = (detection as { toolchain: TerraformToolchain }).toolchain;
  let app: SynthesizedApp;
  let dir: string;

  beforeAll(async () => {
    // The local backend initialized for real (console needs it); no provider to install.
    ({ app, dir } = await initializedStack(toolchain, "variables", (stack) => {
      new FleetVariables(stack, "FleetVariables", { maxInstances: 4, environment: "lab" });
    }));
  });

  afterAll(() => app?.cleanup());

  it("GIVEN desired_instances over the maximum WHEN passed THEN terraform refuses it, naming the value, the rule and the fix", () => {
    const { stderr } = consoleWith(toolchain, dir, { desired_instances: 5 });
    expect(stderr).toContain("Error: Invalid value for variable");
    expect(stderr).toContain(
      'desired_instances = 5 is not a whole number from 0 to 4, the fleet\'s maximum (fleet.maxInstances of env "lab"). Fix: pick a value in 0..4, or raise fleet.maxInstances in envs/lab.ts',
    );
  });

  it("GIVEN on_demand_base_capacity over the maximum WHEN passed THEN terraform refuses it by both of its rules", () => {
    // Terraform skips a variable's rules when a variable they reference is itself invalid: desired_instances is valid here.
    const { stderr } = consoleWith(toolchain, dir, { desired_instances: 2, on_demand_base_capacity: 7 });
    expect(stderr.match(/Error: Invalid value for variable/g)).toHaveLength(2);
    expect(stderr).toContain("on_demand_base_capacity = 7 is not a whole number from 0 to 4");
    expect(stderr).toContain("on_demand_base_capacity = 7 exceeds desired_instances = 2");
  });

  it("GIVEN a fraction WHEN passed as desired_instances THEN terraform refuses it", () => {
    expect(consoleWith(toolchain, dir, { desired_instances: 1.5 }).stderr).toContain("desired_instances = 1.5 is not a whole number from 0 to 4");
  });

  it("GIVEN an on-demand base over desired_instances WHEN passed THEN the cross-variable rule refuses it", () => {
    const { stderr } = consoleWith(toolchain, dir, { desired_instances: 1, on_demand_base_capacity: 2 });
    expect(stderr).toContain("on_demand_base_capacity = 2 exceeds desired_instances = 1");
    expect(stderr).toContain("Fix: lower on_demand_base_capacity");
  });

  it("GIVEN the maximum for both WHEN passed THEN terraform accepts them", () => {
    const { stderr, stdout } = consoleWith(
      toolchain,
      dir,
      { desired_instances: 4, on_demand_base_capacity: 4 },
      '"${var.desired_instances}|${var.on_demand_base_capacity}"',
    );
    expect(stderr).toBe("");
    expect(stdout).toContain('"4|4"');
  });
});
