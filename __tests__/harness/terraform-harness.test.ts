/**
 * The terraform harness itself, with a fake terraform binary (a shell script printing canned output), so detection
 * failures and JSON parsing are proven on any machine.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type TerraformToolchain,
  boundAwsProviderVersion,
  detectTerraform,
  formatDiagnostics,
  terraformTest,
} from "../support/terraform";
import { recordCheck, summarize } from "../support/terraform-report";
import { WHOLE_STACK_FILES, environmentFilesFor, installTerraformSuite } from "../support/terraform-suites";

const root = mkdtempSync(join(tmpdir(), "gti-harness-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function dir(): string {
  const path = join(root, String(counter++));
  mkdirSync(path, { recursive: true });
  return path;
}

/** A fake terraform that answers `version -json` with `version` and prints `testOutput` for `test`. */
function fakeTerraform(version: string, testOutput = ""): string {
  const path = join(dir(), "terraform");
  const outputFile = `${path}.test-output`;
  writeFileSync(outputFile, testOutput);
  writeFileSync(
    path,
    `#!/bin/sh\ncase "$1" in\n  version) echo '{"terraform_version":"${version}"}' ;;\n  test) cat '${outputFile}' ;;\nesac\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

function mirrorWithProvider(): string {
  const mirror = dir();
  mkdirSync(join(mirror, "registry.terraform.io", "hashicorp", "aws", boundAwsProviderVersion(), "linux_amd64"), { recursive: true });
  return mirror;
}

describe("detectTerraform", () => {
  it("GIVEN TERRAFORM_BIN pointing nowhere WHEN detecting THEN it is unavailable and the reason names the path", () => {
    const result = detectTerraform({ TERRAFORM_BIN: "/nowhere/terraform", PATH: "" }, dir());
    expect(result).toEqual({ available: false, reason: "terraform not found: TERRAFORM_BIN=/nowhere/terraform is not an executable file" });
  });

  it("GIVEN a terraform older than 1.10 WHEN detecting THEN it is unavailable and the reason says so", () => {
    const result = detectTerraform({ TERRAFORM_BIN: fakeTerraform("1.5.7"), PATH: "" }, dir());
    expect(result.available).toBe(false);
    expect(!result.available && result.reason).toMatch(/terraform 1\.5\.7 at .* is older than 1\.10\.0/);
  });

  it("GIVEN a mirror holding the provider WHEN detecting THEN the CLI config installs hashicorp/* from it only", () => {
    const mirror = mirrorWithProvider();
    const result = detectTerraform({ TERRAFORM_BIN: fakeTerraform("1.11.4"), TF_PROVIDER_MIRROR: mirror, PATH: "" }, dir());
    if (!result.available) throw new Error(result.reason);
    expect(result.toolchain.mirror).toBe(mirror);
    const config = readFileSync(result.toolchain.cliConfigFile, "utf8");
    expect(config).toContain(`path    = ${JSON.stringify(mirror)}`);
    expect(config).toContain('exclude = ["registry.terraform.io/hashicorp/*"]');
  });

  it("GIVEN a mirror without the provider WHEN detecting THEN it falls back to a network install and says so", () => {
    const empty = dir();
    const result = detectTerraform({ TERRAFORM_BIN: fakeTerraform("1.11.4"), TF_PROVIDER_MIRROR: empty, PATH: "" }, dir());
    if (!result.available) throw new Error(result.reason);
    expect(result.toolchain.mirror).toBeUndefined();
    expect(result.toolchain.description).toContain(`from the network (not in ${empty})`);
  });
});

describe("terraformTest parsing", () => {
  const lines = [
    { type: "test_file", "@testfile": "tests/a.tftest.hcl", test_file: { path: "tests/a.tftest.hcl", progress: "starting" } },
    { type: "test_run", "@testfile": "tests/a.tftest.hcl", "@testrun": "plan", test_run: { path: "tests/a.tftest.hcl", run: "plan", progress: "complete", status: "pass" } },
    { type: "diagnostic", "@testfile": "tests/a.tftest.hcl", "@testrun": "apply", diagnostic: { severity: "error", summary: "Test assertion failed", detail: "count must be 1", address: "aws_instance.x" } },
    { type: "test_run", "@testfile": "tests/a.tftest.hcl", "@testrun": "apply", test_run: { path: "tests/a.tftest.hcl", run: "apply", progress: "complete", status: "fail" } },
    { type: "test_file", "@testfile": "tests/a.tftest.hcl", test_file: { path: "tests/a.tftest.hcl", progress: "teardown" } },
    {
      type: "diagnostic",
      "@testfile": "tests/a.tftest.hcl",
      "@testrun": "apply",
      diagnostic: { severity: "error", summary: "Instance cannot be destroyed", detail: "Resource aws_s3_bucket.state has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed." },
    },
    { type: "test_summary", test_summary: { status: "fail", passed: 1, failed: 1, errored: 0, skipped: 0 } },
  ];

  async function report() {
    const binary = fakeTerraform("1.11.4", lines.map((l) => JSON.stringify(l)).join("\n"));
    const toolchain: TerraformToolchain = {
      binary,
      version: "1.11.4",
      awsProviderVersion: "5.100.0",
      mirror: undefined,
      cliConfigFile: "/dev/null",
      description: "fake",
    };
    return terraformTest(toolchain, dir());
  }

  it("GIVEN terraform's JSON stream WHEN parsed THEN every run's status is reported", async () => {
    expect((await report()).runs).toEqual([
      { file: "tests/a.tftest.hcl", run: "plan", status: "pass" },
      { file: "tests/a.tftest.hcl", run: "apply", status: "fail" },
    ]);
  });

  it("GIVEN a prevent_destroy refusal at teardown WHEN parsed THEN the protected resource is listed", async () => {
    expect((await report()).protectedFromDestroy).toEqual(["aws_s3_bucket.state"]);
  });

  it("GIVEN diagnostics WHEN parsed THEN each is tagged with its run and phase", async () => {
    const diagnostics = (await report()).diagnostics;
    expect(diagnostics.map((d) => [d.testRun, d.phase, d.summary])).toEqual([
      ["apply", "run", "Test assertion failed"],
      ["apply", "teardown", "Instance cannot be destroyed"],
    ]);
  });

  it("GIVEN a failed assertion WHEN formatted THEN it reads as summary, address, test run and detail", async () => {
    const [failed] = (await report()).diagnostics;
    expect(formatDiagnostics(failed ? [failed] : [])).toBe(
      "error: Test assertion failed at aws_instance.x in tests/a.tftest.hcl/apply\n    count must be 1",
    );
  });
});

describe("the one-line summary", () => {
  it("GIVEN terraform unavailable WHEN summarized THEN the line says SKIPPED and why", () => {
    expect(summarize({ available: false, reason: "terraform not found: x" }, dir())).toBe("Terraform checks: SKIPPED - terraform not found: x");
  });

  it("GIVEN recorded checks with a failure WHEN summarized THEN the line says RAN and names the failed stack", () => {
    const reportDir = dir();
    const toolchain = { description: "terraform 1.11.4" } as TerraformToolchain;
    recordCheck(reportDir, { stack: "dev", check: "test", ok: true });
    recordCheck(reportDir, { stack: "prod", check: "test", ok: false });
    expect(summarize({ available: true, toolchain }, reportDir)).toBe(
      "Terraform checks: RAN - terraform test 1/2 stacks passed (FAILED: prod) [dev, prod]; using terraform 1.11.4",
    );
  });

  it("GIVEN terraform available but no check recorded WHEN summarized THEN the line says NOT RUN", () => {
    const toolchain = { description: "terraform 1.11.4" } as TerraformToolchain;
    expect(summarize({ available: true, toolchain }, dir())).toMatch(/^Terraform checks: NOT RUN/);
  });
});

describe("which terraform test files each stack runs", () => {
  const suiteFiles = (suite: string) => readdirSync(join(__dirname, "..", "terraform", suite)).filter((f) => f.endsWith(".tftest.hcl"));

  it("GIVEN the training stack WHEN installing the environment suite THEN every file is copied, and the shared ones", () => {
    const stackDir = dir();
    const files = installTerraformSuite(stackDir, "environment", environmentFilesFor("training"));
    expect(files).toEqual([...suiteFiles("environment"), ...suiteFiles("shared")]);
    expect(readdirSync(join(stackDir, "tests")).filter((f) => f.endsWith(".tftest.hcl"))).toEqual([...files].sort());
  });

  it("GIVEN the bootstrap stack WHEN installing its suite THEN its files and the shared ones are copied", () => {
    const files = installTerraformSuite(dir(), "bootstrap");
    expect(files).toEqual([...suiteFiles("bootstrap"), ...suiteFiles("shared")]);
    expect(files).toContain("placeholders.tftest.hcl");
  });

  it.each(["dev", "prod"])("GIVEN the %s stack WHEN installing the environment suite THEN only the whole-stack files are copied", (stack) => {
    const stackDir = dir();
    installTerraformSuite(stackDir, "environment", environmentFilesFor(stack));
    expect(readdirSync(join(stackDir, "tests")).filter((f) => f.endsWith(".tftest.hcl"))).toEqual([...WHOLE_STACK_FILES].sort());
    expect(readdirSync(join(stackDir, "tests", "mocks"))).toContain("aws.tfmock.hcl");
  });

  it("GIVEN a file the suite does not have WHEN installing THEN it fails naming it", () => {
    expect(() => installTerraformSuite(dir(), "environment", ["nope.tftest.hcl"])).toThrow(/no nope\.tftest\.hcl in __tests__\/terraform\/environment\//);
  });
});
