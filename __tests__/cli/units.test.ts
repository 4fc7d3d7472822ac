/**
 * The building blocks of `gti` that need no AWS: formatting, placeholders, quota mapping, the names the CLI shares
 * with the constructs, reading outputs through `terraform output`, and the bin as `npx gti` runs it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, describe, expect, it } from "vitest";
import { GPU_UTILIZATION_METRIC as SAFETY_GPU_METRIC, BUDGET_COST_TAG as SAFETY_COST_TAG } from "../../modules/training-safety";
import { BUDGET_COST_TAG } from "../../src/cli/doctor/aws-checks";
import { GPU_QUOTAS, quotasOf } from "../../src/cli/doctor/quotas";
import { bytes, duration, sparkline, table, usd } from "../../src/cli/format";
import { StackOutputs } from "../../src/cli/outputs";
import { loadProject } from "../../src/config/load";
import { findPlaceholders } from "../../src/config/placeholders";
import { configWith } from "../support/envs";
import { GTI_BIN, PROJECT, labEnv, runGti, spawnGti, stubTerraform, writeEnvFiles } from "../support/cli";

const temp = mkdtempSync(join(tmpdir(), "gti-units-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe("format", () => {
  it("GIVEN utilisation values and gaps WHEN drawn THEN one block per minute, a space per missing minute", () => {
    expect(sparkline([0, 12.5, 50, 99, 100, undefined, 75])).toBe("▁▂▅██ ▇");
  });

  it("GIVEN sizes, durations and amounts WHEN formatted THEN binary units, hours and minutes, cents or 4 decimals", () => {
    expect([bytes(512), bytes(1536), bytes(11 * 1024 * 1024)]).toEqual(["512 B", "1.5 KiB", "11.0 MiB"]);
    expect([duration(35_000), duration(250_000), duration(7_500_000), duration(90_000_000)]).toEqual(["35s", "4m 10s", "2h 05m", "1d 1h"]);
    expect([usd(1), usd(0.4), usd(1.006), usd(0.0381507), usd(12.5298)]).toEqual(["$1.00", "$0.40", "$1.006", "$0.0382", "$12.53"]);
  });

  it("GIVEN rows WHEN tabulated THEN columns align and lines carry no trailing spaces", () => {
    expect(table(["A", "BB"], [["xxx", "y"], ["z", ""]])).toBe("A    BB\nxxx  y\nz");
  });
});

describe("placeholders", () => {
  it("GIVEN the repository's envs WHEN checked THEN the example state bucket, repository and GitHub repository are found, in the files that hold them", async () => {
    const training = (await loadProject()).environments.find((env) => env.name === "training");
    const found = findPlaceholders(training ? [training] : []);
    expect(found.map((p) => `${p.file} ${p.field}`)).toEqual(["envs/_shared.ts repository", "envs/_shared.ts state.bucket"]);
    expect(found.find((p) => p.field === "state.bucket")?.fix).toContain("account");
  });

  it("GIVEN an env with real values WHEN checked THEN nothing is found; GIVEN example e-mails and account ids THEN each is found", () => {
    const clean = configWith({ state: { bucket: "acme-tfstate", region: "us-east-1" }, repository: "github.com/acme/infra", registry: { github: { repositories: [] } } });
    expect(findPlaceholders([clean])).toEqual([]);
    const examples = configWith({ allowedAccountIds: ["123456789012"], safety: { alertEmails: ["ops@example.com"] } });
    expect(findPlaceholders([examples]).map((p) => p.field)).toEqual(expect.arrayContaining(["allowedAccountIds[0]", "safety.alertEmails[0]"]));
  });
});

describe("names shared with the constructs", () => {
  it("GIVEN the CLI's copies of the safety module's names WHEN compared THEN they agree", () => {
    expect(BUDGET_COST_TAG).toBe(SAFETY_COST_TAG);
    expect(SAFETY_GPU_METRIC).toBe("nvidia_smi_utilization_gpu");
  });

  it("GIVEN GPU instance types WHEN mapped to quotas THEN G and VT, P, and P5 spot each have their own codes", () => {
    expect(quotasOf("g5.xlarge")).toEqual({ onDemand: GPU_QUOTAS.gOnDemand, spot: GPU_QUOTAS.gSpot });
    expect(quotasOf("gr6.4xlarge").spot.code).toBe("L-3819A6DF");
    expect(quotasOf("p4d.24xlarge")).toEqual({ onDemand: GPU_QUOTAS.pOnDemand, spot: GPU_QUOTAS.pSpot });
    expect(quotasOf("p5.48xlarge").spot.code).toBe("L-C4BD4855");
  });

  it("GIVEN outputs about a missing instance WHEN read THEN \"\" is absent, and requiring one names the deploy fix", () => {
    const outputs = new StackOutputs({ instance_id: "", outputs_bucket: "b" }, "s3://x/y", "lab");
    expect(outputs.get("instance_id")).toBeUndefined();
    expect(outputs.get("outputs_bucket")).toBe("b");
    expect(() => outputs.require("instance_id")).toThrow('The stack "lab" has no output instance_id (s3://x/y).');
  });
});

describe("outputs from terraform output", () => {
  const s3 = mockClient(S3Client);
  afterAll(() => s3.restore());

  it("GIVEN --outputs terraform WHEN `gti runs` runs THEN the bucket comes from `terraform output -json` in the stack folder", async () => {
    const stacks = join(temp, "stacks");
    mkdirSync(join(stacks, "lab"), { recursive: true });
    writeFileSync(join(stacks, "lab", "cdk.tf.json"), "{}");
    const tf = stubTerraform(join(temp, "tf"), { outputJson: JSON.stringify({ outputs_bucket: { value: "from-terraform", type: "string" } }) });
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    const env = { GTI_ENVS_DIR: writeEnvFiles(join(temp, "envs"), [labEnv("lab")]), GTI_STACKS_DIR: stacks, TERRAFORM_BIN: tf };
    const result = await runGti(["runs", "lab", "--outputs", "terraform"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("No runs yet in s3://from-terraform/runs/.\n");
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({ Bucket: "from-terraform", Prefix: "runs/" });
  });

  it("GIVEN --outputs terraform and no synthesized stack WHEN run THEN exit 1: synth first", async () => {
    const result = await runGti(["runs", "lab", "--outputs", "terraform"], { GTI_ENVS_DIR: join(temp, "envs"), GTI_STACKS_DIR: join(temp, "none") });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Fix: run `npx cdktf synth`");
  });
});

describe("the gti bin", () => {
  it("GIVEN the bin WHEN `gti --help` runs as a process THEN it lists the seven commands and exits 0", async () => {
    const result = await spawnGti(["--help"]);
    expect(result.code).toBe(0);
    for (const command of ["doctor", "status", "runs", "logs", "pull", "stop", "cost"]) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
  }, 60_000);

  it("GIVEN an unknown command WHEN run as a process THEN exit 2 with commander's suggestion", async () => {
    const result = await spawnGti(["stauts"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: unknown command 'stauts'\n(Did you mean status?)");
  }, 60_000);

  it("GIVEN GTI_DEBUG=1 WHEN a bug throws inside gti as a process THEN the stack trace names the TypeScript line", () => {
    // The bug: reading the project's package.json (gti's version) throws, in src/cli/main.ts's buildProgram.
    const preload = join(temp, "package-json-throws.cjs");
    writeFileSync(
      preload,
      `const fs = require("node:fs");\nconst read = fs.readFileSync;\nfs.readFileSync = function (path, ...rest) {\n  if (path === ${JSON.stringify(join(PROJECT, "package.json"))}) throw new Error("injected bug");\n  return read.call(this, path, ...rest);\n};\n`,
    );
    const main = join(PROJECT, "src", "cli", "main.ts");
    const line = readFileSync(main, "utf8").split("\n").findIndex((l) => l.includes('readFileSync(join(PROJECT_ROOT, "package.json")')) + 1;
    const result = spawnSync(process.execPath, ["-r", preload, GTI_BIN, "--version"], { cwd: PROJECT, encoding: "utf8", timeout: 60_000, env: { ...process.env, GTI_DEBUG: "1" } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Error: unexpected failure: injected bug\n");
    expect(result.stderr).toMatch(new RegExp(`^\\s+at (?:Object\\.)?buildProgram \\(${main.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:${line}:\\d+\\)$`, "m"));
  }, 60_000);
});

describe("npx gti", () => {
  it("GIVEN the project WHEN `npx gti --version` runs THEN npm resolves the project's own bin (package.json \"bin\") and prints the version", async () => {
    const result = spawnSync("npx", ["gti", "--version"], { cwd: PROJECT, encoding: "utf8", timeout: 60_000, env: { ...process.env, npm_config_yes: "true", npm_config_update_notifier: "false" } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe((JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")) as { version: string }).version);
  }, 60_000);
});
