/**
 * The acceptance tier's own helpers, on canned input (fast, part of npm test): how a non-empty plan is described,
 * the one-line summary `.ci/run` repeats, and the provider override that points Terraform at the local AWS API.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TerraformToolchain } from "../support/terraform";
import { describeChanges, type PlanJson, plannedChanges } from "../support/acceptance/plan-changes";
import { PROVIDER_ENDPOINT_SERVICES, providerOverride } from "../support/acceptance/local-stacks";
import { recordScenario, summarizeAcceptance, timedScenario } from "../support/acceptance/report";

const root = mkdtempSync(join(tmpdir(), "gti-acceptance-harness-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
function dir(): string {
  const path = join(root, String(counter++));
  mkdirSync(path, { recursive: true });
  return path;
}

const terraformFound = { available: true as const, toolchain: { description: "terraform 1.11.4" } as TerraformToolchain };
const motoFound = { available: true as const, version: "5.2.1" };

describe("a plan that should be empty, described", () => {
  const plan: PlanJson = {
    resource_changes: [
      { address: "aws_s3_bucket.untouched", change: { actions: ["no-op"], before: { a: 1 }, after: { a: 1 } } },
      {
        address: "aws_launch_template.fleet",
        change: {
          actions: ["update"],
          before: { latest_version: 1, tag_specifications: [{ resource_type: "instance" }, { resource_type: "launch-template" }], name: "x" },
          after: { tag_specifications: [{ resource_type: "instance" }], name: "x" },
          after_unknown: { latest_version: true },
        },
      },
      {
        address: "aws_instance.compute_training[0]",
        action_reason: "replace_because_cannot_update",
        change: {
          actions: ["delete", "create"],
          before: { instance_market_options: [], user_data: "old" },
          after: { instance_market_options: [{ market_type: "spot" }], user_data: "new" },
          after_sensitive: { user_data: true },
          before_sensitive: { user_data: true },
          replace_paths: [["instance_market_options"]],
        },
      },
    ],
    output_changes: { instance_id: { actions: ["update"], before: "i-1", after: null, after_unknown: true } },
  };

  it("GIVEN a plan with no-ops and changes WHEN read THEN only the changes are listed, resources then outputs", () => {
    expect(plannedChanges(plan).map((c) => `${c.address} ${c.actions.join("+")}`)).toEqual([
      "aws_launch_template.fleet update",
      "aws_instance.compute_training[0] delete+create",
      "output.instance_id update",
    ]);
  });

  it("GIVEN changed, unknown, replacing and sensitive attributes WHEN described THEN each reads `path: before -> after`", () => {
    expect(describeChanges(plannedChanges(plan))).toBe(
      [
        "aws_launch_template.fleet update:",
        "    latest_version: 1 -> (known after apply)",
        '    tag_specifications: [{"resource_type":"instance"},{"resource_type":"launch-template"}] -> [{"resource_type":"instance"}]',
        "aws_instance.compute_training[0] delete+create (replace_because_cannot_update):",
        '    instance_market_options: [] -> [{"market_type":"spot"}] (forces replacement)',
        "    user_data: (sensitive) -> (sensitive)",
        "output.instance_id update:",
        '    (whole value): "i-1" -> (known after apply)',
      ].join("\n"),
    );
  });

  it("GIVEN an empty plan WHEN described THEN it says so", () => {
    expect(describeChanges(plannedChanges({ resource_changes: [] }))).toBe("(no changes)");
  });
});

describe("the acceptance tier's one-line summary", () => {
  it("GIVEN no moto server WHEN summarized THEN the line says SKIPPED with the reason and the fix", () => {
    const line = summarizeAcceptance(terraformFound, { available: false, reason: 'moto server is not installed. Fix: pip install "moto[server]"' }, dir(), 1);
    expect(line).toBe('Acceptance tests: SKIPPED - moto server is not installed. Fix: pip install "moto[server]"');
  });

  it("GIVEN neither terraform nor moto WHEN summarized THEN both reasons are given", () => {
    const line = summarizeAcceptance({ available: false, reason: "terraform not found" }, { available: false, reason: "python3 not found" }, dir(), 1);
    expect(line).toBe("Acceptance tests: SKIPPED - python3 not found; terraform not found");
  });

  it("GIVEN moto but no terraform WHEN only the guard scenario ran THEN the line says PARTIAL and why the others were skipped", () => {
    const reportDir = dir();
    recordScenario(reportDir, { scenario: "5 runtime guard Lambda", ok: true, seconds: 29 });
    expect(summarizeAcceptance({ available: false, reason: "terraform not found" }, motoFound, reportDir, 40)).toBe(
      "Acceptance tests: PARTIAL - 1/1 scenarios passed in 40 s [5 runtime guard Lambda 29 s]; the Terraform and cdktf scenarios SKIPPED - terraform not found; " +
        "using moto 5.2.1 (scripts/local-aws.py)",
    );
  });

  it("GIVEN recorded scenarios with a failure WHEN summarized THEN the line says RAN, counts, names the failure and lists each time in order", () => {
    const reportDir = dir();
    recordScenario(reportDir, { scenario: "19 deploy bootstrap", ok: true, seconds: 94.4 });
    recordScenario(reportDir, { scenario: "2 training", ok: false, seconds: 119.6 });
    recordScenario(reportDir, { scenario: "1 bootstrap", ok: true, seconds: 60 });
    expect(summarizeAcceptance(terraformFound, motoFound, reportDir, 448.2)).toBe(
      "Acceptance tests: RAN - 2/3 scenarios passed (FAILED: 2 training) in 448 s [1 bootstrap 60 s, 2 training FAILED 120 s, 19 deploy bootstrap 94 s]; " +
        "using moto 5.2.1 (scripts/local-aws.py), terraform 1.11.4",
    );
  });

  it("GIVEN everything available but no scenario recorded WHEN summarized THEN the line says NOT RUN", () => {
    expect(summarizeAcceptance(terraformFound, motoFound, dir(), 1)).toMatch(/^Acceptance tests: NOT RUN - /);
  });

  it("GIVEN a scenario that throws WHEN timed THEN it is recorded as failed and the error still fails the test", async () => {
    const reportDir = dir();
    await expect(timedScenario(reportDir, "3 toggles", () => Promise.reject(new Error("plan not empty")))).rejects.toThrow("plan not empty");
    expect(JSON.parse(readFileSync(join(reportDir, "scenarios.jsonl"), "utf8"))).toMatchObject({ scenario: "3 toggles", ok: false });
  });
});

describe("the provider override for the local AWS API", () => {
  it("GIVEN an endpoint WHEN the override is built THEN every service the stacks call goes there, S3 by path, with test credentials", () => {
    const provider = (providerOverride("http://127.0.0.1:4566").provider as { aws: Record<string, unknown>[] }).aws[0];
    expect(provider).toMatchObject({ access_key: "testing", secret_key: "testing", s3_use_path_style: true, skip_credentials_validation: true });
    expect(provider?.endpoints).toEqual([Object.fromEntries(PROVIDER_ENDPOINT_SERVICES.map((s) => [s, "http://127.0.0.1:4566"]))]);
  });
});
