/** The pinned GPU instance table: internally consistent, dated, the P3 decision, and the docs showing the same table. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  GPU_INSTANCE_FAMILIES,
  GPU_INSTANCE_TABLE_CHECKED,
  GPU_INSTANCE_TYPES,
  gpuInstanceTableMarkdown,
  gpuInstanceType,
  instanceTypeProblem,
  isGpuInstanceType,
} from "../../src/gpu-instance-types";
import { realEnvironments } from "../support/envs";

const SOURCE = readFileSync(join(__dirname, "..", "..", "src", "gpu-instance-types.ts"), "utf8");
const DOCS = readFileSync(join(__dirname, "..", "..", "docs", "configuration.md"), "utf8");

describe("the GPU instance table", () => {
  it("GIVEN the table WHEN read THEN every type is listed once, under its own family", () => {
    const types = GPU_INSTANCE_TYPES.map((row) => row.type);
    expect(new Set(types).size).toBe(types.length);
    for (const row of GPU_INSTANCE_TYPES) expect(row.type.startsWith(`${row.family}.`), row.type).toBe(true);
    expect([...new Set(GPU_INSTANCE_TYPES.map((row) => row.family))]).toEqual(GPU_INSTANCE_FAMILIES);
  });

  it("GIVEN each size WHEN its vCPUs are read THEN they follow EC2's naming (N xlarge = 4N vCPUs; g4dn.metal 96)", () => {
    for (const row of GPU_INSTANCE_TYPES) {
      const size = row.type.slice(row.family.length + 1);
      const expected = size === "metal" ? 96 : 4 * Number(size.replace("xlarge", "") || "1");
      expect(row.vcpus, row.type).toBe(expected);
    }
  });

  it("GIVEN each row WHEN read THEN it has GPUs and GPU memory, the same memory per GPU across its family", () => {
    for (const family of GPU_INSTANCE_FAMILIES) {
      const rows = GPU_INSTANCE_TYPES.filter((row) => row.family === family);
      const perGpu = new Set(rows.map((row) => row.gpuMemoryGib / row.gpus));
      expect(perGpu.size, family).toBe(1);
      for (const row of rows) expect(row.gpus >= 1 && row.gpuMemoryGib >= 16, row.type).toBe(true);
    }
  });

  it("GIVEN the table WHEN read THEN it is dated and names its sources", () => {
    expect(GPU_INSTANCE_TABLE_CHECKED).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(SOURCE).toContain("https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html");
    expect(SOURCE).toContain(`Checked on ${GPU_INSTANCE_TABLE_CHECKED}`);
  });

  it("GIVEN P3, fractional, Graviton and AMD families WHEN checked THEN none is in the table", () => {
    for (const type of ["p3.2xlarge", "p3.16xlarge", "p3dn.24xlarge", "g6f.xlarge", "gr6f.4xlarge", "g5g.xlarge", "g4ad.xlarge"]) {
      expect(isGpuInstanceType(type), type).toBe(false);
    }
  });

  it("GIVEN the shipped envs WHEN loaded THEN every instance type they use is in the table", async () => {
    for (const env of await realEnvironments()) {
      for (const type of [env.compute.instanceType, ...env.fleet.instanceTypes]) expect(gpuInstanceType(type), `${env.name}: ${type}`).toBeDefined();
    }
  });
});

describe("instance type messages", () => {
  it.each([
    ["g5.3xlarge", /^g5 has no size "3xlarge": the g5 sizes are xlarge, 2xlarge/, /"g5\.xlarge"/],
    ["p3.2xlarge", /^P3 \(V100\) is no longer supported by the current GPU Deep Learning AMIs/, /"g5\.xlarge"/],
    ["g6f.large", /needs NVIDIA's GRID driver/, /src\/gpu-instance-types\.ts/],
    ["g5g.xlarge", /Graviton \(arm64\)/, /"g6\.xlarge"/],
    ["t3.micro", /^not an NVIDIA GPU instance type on x86_64 that this project launches \(families g4dn, g5/, /"p4d\.24xlarge"/],
  ])("GIVEN %s WHEN checked THEN the rule and the fix say what is wrong", (type, rule, fix) => {
    const problem = instanceTypeProblem(type);
    expect(problem?.rule).toMatch(rule);
    expect(problem?.fix).toMatch(fix);
  });

  it("GIVEN a type of the table WHEN checked THEN there is no problem", () => {
    expect(instanceTypeProblem("p6-b200.48xlarge")).toBeUndefined();
  });
});

describe("docs agree with the rules", () => {
  it("GIVEN docs/configuration.md WHEN read THEN it shows exactly this table, with its date", () => {
    expect(DOCS).toContain(gpuInstanceTableMarkdown());
    expect(DOCS).toContain(GPU_INSTANCE_TABLE_CHECKED);
  });

  it("GIVEN the README WHEN it mentions P3 THEN it says P3 is not supported", () => {
    const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
    for (const line of readme.split("\n").filter((l) => /\bP3\b|p3\./.test(l))) {
      expect(line).toMatch(/no longer|not supported|replaces p3/i);
    }
  });
});
