/**
 * The Terraform variables ops teams flip at apply time: exact names, types, per-env defaults, descriptions, and the
 * validation conditions and messages (the same rules as the config schema). `variables-terraform.test.ts`
 * proves the conditions with the real terraform.
 */
import { describe, expect, it } from "vitest";
import { GPU_INSTANCE_TYPE_NAMES, isGpuInstanceType } from "../../src/gpu-instance-types";
import type { SynthesizedStack } from "../support/synth";
import { DEFAULT_VARIABLE_VALUES, TrainingVariables, VARIABLE_NAMES, hclString } from "../../src/variables";
import { realEnvironment } from "../support/envs";
import { synthModule } from "../support/module-stack";
import { synthEnvironment } from "../support/stacks";

interface Variable {
  readonly type: string;
  readonly default: unknown;
  readonly description: string;
  readonly nullable?: boolean;
  readonly validation?: { condition: string; error_message: string }[];
}

function variablesOf(json: SynthesizedStack): Record<string, Variable> {
  return (json.variable ?? {}) as unknown as Record<string, Variable>;
}

const TYPES: Record<string, string> = {
  create_instance: "bool",
  use_spot: "bool",
  instance_type: "string",
  auto_shutdown: "bool",
  max_runtime_hours: "number",
  spot_max_price: "string",
  root_volume_size_gb: "number",
  training_image_tag: "string",
  run_id: "string",
};

describe("training variables: the interface", () => {
  const { json } = synthModule((stack) => new TrainingVariables(stack, "Variables"));
  const variables = variablesOf(json);

  it("GIVEN the variables WHEN synthesized THEN their names are exactly the documented ones", () => {
    expect(Object.keys(variables).sort()).toEqual(Object.keys(TYPES).sort());
    expect(Object.values(VARIABLE_NAMES).sort()).toEqual(Object.keys(TYPES).sort());
  });

  it.each(Object.entries(TYPES))("GIVEN %s WHEN synthesized THEN its type is %s", (name, type) => {
    expect(variables[name]?.type).toBe(type);
  });

  it("GIVEN no defaults WHEN synthesized THEN the schema's defaults apply (no instance, spot, auto-shutdown, 12 h, 200 GiB, latest)", () => {
    expect(Object.fromEntries(Object.entries(variables).map(([name, v]) => [name, v.default]))).toEqual({
      create_instance: false,
      use_spot: true,
      instance_type: "g5.xlarge",
      auto_shutdown: true,
      max_runtime_hours: 12,
      spot_max_price: "",
      root_volume_size_gb: 200,
      training_image_tag: "latest",
      run_id: "",
    });
    expect(DEFAULT_VARIABLE_VALUES.createInstance).toBe(false);
  });

  it.each(Object.keys(TYPES))("GIVEN %s WHEN synthesized THEN it is not nullable (-var x=null is refused)", (name) => {
    expect(variables[name]?.nullable).toBe(false);
  });

  it.each(Object.keys(TYPES))("GIVEN %s WHEN synthesized THEN it has a description", (name) => {
    expect(variables[name]?.description.length).toBeGreaterThan(30);
  });

  it.each(["instance_type", "max_runtime_hours", "spot_max_price", "root_volume_size_gb", "training_image_tag", "run_id"])(
    "GIVEN %s WHEN synthesized THEN it has a validation whose message names the value and the fix",
    (name) => {
      const [validation] = variables[name]?.validation ?? [];
      expect(validation?.condition).toMatch(/^\$\{.*\}$/s);
      expect(validation?.error_message).toContain(`\${var.${name}}`);
      expect(validation?.error_message).toMatch(/Fix: /);
    },
  );

  it.each(["create_instance", "use_spot", "auto_shutdown"])("GIVEN the bool %s WHEN synthesized THEN its type is its only rule", (name) => {
    expect(variables[name]?.validation).toBeUndefined();
  });
});

describe("training variables: validation conditions", () => {
  const { json } = synthModule((stack) => new TrainingVariables(stack, "Variables"));
  const condition = (name: string) => variablesOf(json)[name]?.validation?.[0]?.condition ?? "";

  it("GIVEN instance_type WHEN validated THEN the condition is the GPU instance table the config schema uses", () => {
    expect(condition("instance_type")).toBe(`\${contains(${JSON.stringify(GPU_INSTANCE_TYPE_NAMES).replace(/","/g, '", "')}, var.instance_type)}`);
  });

  it.each([
    ["g5.xlarge", true],
    ["g4dn.12xlarge", true],
    ["g4dn.metal", true],
    ["g6e.2xlarge", true],
    ["gr6.4xlarge", true],
    ["p4d.24xlarge", true],
    ["p5.4xlarge", true],
    ["p5.48xlarge", true],
    ["p6-b200.48xlarge", true],
    ["g5.3xlarge", false],
    ["p3.2xlarge", false],
    ["p3dn.24xlarge", false],
    ["g6f.xlarge", false],
    ["t3.micro", false],
    ["g5g.xlarge", false],
    ["g4ad.xlarge", false],
    ["m7i.large", false],
    ["g5.xlarge ", false],
  ])("GIVEN the instance type %j WHEN checked by the variable's list and the table THEN it passes: %s", (type, ok) => {
    const list = JSON.parse(/contains\((\[.*?\]), var/.exec(condition("instance_type"))?.[1] ?? "[]") as string[];
    expect(list.includes(type)).toBe(ok);
    expect(isGpuInstanceType(type)).toBe(ok);
  });

  it("GIVEN max_runtime_hours WHEN validated THEN it must be a whole number from 1 to 168", () => {
    expect(condition("max_runtime_hours")).toBe(
      "${var.max_runtime_hours >= 1 && var.max_runtime_hours <= 168 && floor(var.max_runtime_hours) == var.max_runtime_hours}",
    );
  });

  it("GIVEN root_volume_size_gb WHEN validated THEN it must be a whole number from 100 to 16384", () => {
    expect(condition("root_volume_size_gb")).toBe(
      "${var.root_volume_size_gb >= 100 && var.root_volume_size_gb <= 16384 && floor(var.root_volume_size_gb) == var.root_volume_size_gb}",
    );
  });

  it("GIVEN spot_max_price WHEN validated THEN it is empty or a price above 0", () => {
    expect(condition("spot_max_price")).toBe(
      '${can(regex("^$|^[0-9]+([.][0-9]+)?$", var.spot_max_price)) && (var.spot_max_price == "" || try(tonumber(var.spot_max_price) > 0, false))}',
    );
  });

  it("GIVEN training_image_tag WHEN validated THEN it is a Docker tag", () => {
    expect(condition("training_image_tag")).toBe('${can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.training_image_tag))}');
  });

  it("GIVEN run_id WHEN validated THEN it is empty or a run id the runtime accepts", () => {
    expect(condition("run_id")).toBe('${can(regex("^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", var.run_id))}');
  });

  it("GIVEN a regex with a backslash WHEN embedded in an expression THEN it is an HCL string literal with the backslash escaped", () => {
    expect(hclString("a\\.b")).toBe('"a\\\\.b"');
  });

  it("GIVEN a string with a template sequence WHEN embedded in an expression THEN hclString refuses it", () => {
    expect(() => hclString("${x}")).toThrow(/template sequence/);
  });
});

describe("training variables: defaults per environment", () => {
  it.each([
    ["training", { instance_type: "g5.xlarge", spot_max_price: "", max_runtime_hours: 12, root_volume_size_gb: 200 }],
    ["dev", { instance_type: "g4dn.xlarge", spot_max_price: "0.30", max_runtime_hours: 6, root_volume_size_gb: 150 }],
    ["prod", { instance_type: "g4dn.2xlarge", spot_max_price: "1.00", max_runtime_hours: 24, root_volume_size_gb: 200 }],
  ])("GIVEN env %s WHEN synthesized THEN the variables default to its compute settings", async (name, expected) => {
    const variables = variablesOf(synthEnvironment(await realEnvironment(name)).json);
    expect(Object.fromEntries(Object.keys(expected).map((key) => [key, variables[key]?.default]))).toEqual(expected);
    expect(variables.create_instance?.default).toBe(false);
    expect(variables.use_spot?.default).toBe(true);
  });
});
