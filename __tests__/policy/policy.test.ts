/**
 * The policy pack as a whole: the suppression rules, escape hatches (raw overrides), how synth fails, the project's
 * own stacks, and main.ts failing readably. Each rule's own behaviour: rules.test.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { AnnotationMetadataEntryType, Aspects, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GtiError } from "../../src/errors";
import { address } from "../../src/naming";
import {
  ALL_RULES,
  PolicyChecks,
  PolicyViolationError,
  applyPolicy,
  evaluateStack,
  formatSummary,
  policyReportOf,
  suppressRule,
  type PolicyReport,
} from "../../src/policy";
import type { SuppressibleElement } from "../../src/policy/suppressions";
import { SecureBucket } from "../../src/secure-bucket";
import { synthJson, testApp } from "../support/synth";
import { realEnvironments } from "../support/envs";
import { bucket, instance, policyStack, securityGroup } from "../support/policy/fixtures";
import { BootstrapStack } from "../../stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "../../stacks/environment-stack";

const PROJECT = join(__dirname, "..", "..");
const REASON = "accepted in this fixture on purpose";

describe("suppressions", () => {
  it("GIVEN a reason under 10 characters WHEN suppressing THEN it is rejected, naming the rule and the minimum", () => {
    const b = bucket(policyStack(), { forceDestroy: true });
    expect(() => suppressRule(b, "GTI-S3-006", "scratch")).toThrow(/GTI-S3-006 .* has the reason "scratch" \(7 characters\): a reason needs at least 10/);
  });

  it("GIVEN a reason padded with spaces to 10 characters WHEN suppressing THEN it is rejected (length after trimming)", () => {
    const b = bucket(policyStack(), { forceDestroy: true });
    expect(() => suppressRule(b, "GTI-S3-006", "   short    ")).toThrow(GtiError);
  });

  it("GIVEN an unknown rule id WHEN suppressing THEN it is rejected, listing the known ids", () => {
    const b = bucket(policyStack());
    expect(() => suppressRule(b, "GTI-S3-999", REASON)).toThrow(/unknown rule id "GTI-S3-999"\. Fix: use one of GTI-S3-001, /);
  });

  it("GIVEN a wildcard rule id WHEN suppressing THEN it is rejected (one rule per suppression)", () => {
    const b = bucket(policyStack());
    expect(() => suppressRule(b, "GTI-S3-*", REASON)).toThrow(/wildcard rule id "GTI-S3-\*"/);
  });

  it("GIVEN a rule that never inspects the resource's type WHEN suppressing THEN it is rejected", () => {
    const b = bucket(policyStack());
    expect(() => suppressRule(b, "GTI-LAMBDA-002", REASON)).toThrow(/GTI-LAMBDA-002, which never inspects aws_s3_bucket/);
  });

  it("GIVEN the same rule suppressed twice on one resource WHEN suppressing THEN the second is rejected", () => {
    const b = bucket(policyStack(), { forceDestroy: true });
    suppressRule(b, "GTI-S3-006", REASON);
    expect(() => suppressRule(b, "GTI-S3-006", "another reason, also long")).toThrow(/GTI-S3-006 is suppressed twice/);
  });

  it("GIVEN a construct that is not a resource WHEN suppressing THEN it is rejected, pointing at the resource", () => {
    const secure = new SecureBucket(policyStack(), "Secure", { bucketName: "fixture-secure", address: ["fixture", "secure"] });
    expect(() => suppressRule(secure as unknown as SuppressibleElement, "GTI-S3-006", REASON)).toThrow(/must be on a Terraform resource or data source/);
  });

  it("GIVEN a suppression on a compliant resource WHEN synthesized THEN synth fails: an unused suppression misleads", () => {
    const stack = policyStack();
    suppressRule(bucket(stack), "GTI-S3-006", REASON);
    expect(() => synthJson(stack)).toThrow(
      /unused suppression GTI-S3-006 aws_s3_bucket\.fixture_data \("accepted in this fixture on purpose"\): the rule finds the resource compliant, so it hides nothing\. Fix: remove/,
    );
  });

  it("GIVEN a suppression the rule does not apply to as configured WHEN synthesized THEN synth fails naming it", () => {
    const stack = policyStack();
    const group = address(new SecurityGroup(stack, "Empty", { name: "empty", description: "no rules" }), "fixture", "empty");
    suppressRule(group, "GTI-SG-001", REASON);
    expect(() => synthJson(stack)).toThrow(/unused suppression GTI-SG-001 aws_security_group\.fixture_empty .*: the rule does not apply/);
  });

  it("GIVEN a suppressed rule whose pack the stack does not run WHEN synthesized THEN synth fails naming it", () => {
    const stack = new TerraformStack(testApp(), "security-only");
    applyPolicy(stack, { packs: ["security"] });
    const b = bucket(stack, { lifecycle: false });
    suppressRule(b, "GTI-S3-005", REASON);
    expect(() => synthJson(stack)).toThrow(/unused suppression GTI-S3-005 .*: the rule is not in the packs applied to this stack/);
  });

  it("GIVEN a suppressed finding WHEN synthesized THEN no annotation repeats it (the cdktf CLI would print it again)", () => {
    const stack = policyStack();
    const b = bucket(stack, { forceDestroy: true });
    suppressRule(b, "GTI-S3-006", REASON);
    synthJson(stack);
    expect(b.node.metadata.filter((m) => m.type === AnnotationMetadataEntryType.INFO)).toEqual([]);
    expect(policyReportOf(stack)?.suppressed.map((s) => s.ruleId)).toEqual(["GTI-S3-006"]);
  });
});

describe("escape hatches: raw overrides", () => {
  it("GIVEN a SecureBucket whose force_destroy is overridden to true WHEN synthesized THEN GTI-S3-006 catches it", () => {
    const stack = policyStack();
    const secure = new SecureBucket(stack, "Secure", { bucketName: "fixture-secure", address: ["fixture", "secure"] });
    secure.bucket.addOverride("force_destroy", true);
    expect(secure.bucket.forceDestroyInput).toBe(false); // what an aspect reading typed inputs would see
    expect(() => synthJson(stack)).toThrow(/GTI-S3-006 aws_s3_bucket\.fixture_secure: force_destroy = true\. Fix:/);
  });

  it('GIVEN an instance typed http_tokens = "optional" fixed by an override to "required" WHEN synthesized THEN it passes', () => {
    const stack = policyStack();
    const gpu = instance(stack, { metadataOptions: { httpTokens: "optional" } });
    gpu.addOverride("metadata_options.http_tokens", "required");
    expect(() => synthJson(stack)).not.toThrow();
  });

  it("GIVEN a stack-level override setting force_destroy on a bucket WHEN synthesized THEN GTI-S3-006 catches it", () => {
    const stack = policyStack();
    bucket(stack);
    stack.addOverride("resource.aws_s3_bucket.fixture_data.force_destroy", true);
    expect(() => synthJson(stack)).toThrow(/GTI-S3-006 aws_s3_bucket\.fixture_data: force_destroy = true/);
  });

  it("GIVEN a dynamic ingress block added by override, open to 0.0.0.0/0 WHEN synthesized THEN GTI-SG-001 catches it", () => {
    const stack = policyStack();
    const group = securityGroup(stack, []);
    group.addOverride("dynamic.ingress", {
      for_each: "${var.open ? [1] : []}",
      content: { from_port: 443, to_port: 443, protocol: "tcp", cidr_blocks: ["0.0.0.0/0"], description: "HTTPS" },
    });
    expect(() => synthJson(stack)).toThrow(/GTI-SG-001 aws_security_group\.fixture_ssh: dynamic ingress 1 allows 0\.0\.0\.0\/0/);
  });

  it("GIVEN the project's spot override (dynamic instance_market_options) on a compliant instance WHEN synthesized THEN it passes", () => {
    const stack = policyStack();
    instance(stack).addOverride("dynamic.instance_market_options", {
      for_each: "${var.create_instance ? [1] : []}",
      content: { market_type: "spot", spot_options: { instance_interruption_behavior: "terminate" } },
    });
    expect(() => synthJson(stack)).not.toThrow();
  });
});

describe("failing synth", () => {
  it("GIVEN a violation WHEN synthesized THEN the error is a GtiError (main.ts prints it without a stack trace)", () => {
    const stack = policyStack();
    bucket(stack, { versioning: false });
    expect(() => synthJson(stack)).toThrow(PolicyViolationError);
    expect(PolicyViolationError.prototype).toBeInstanceOf(GtiError);
  });

  it("GIVEN violations in two stacks of one app WHEN the app synthesizes THEN one error lists both stacks' problems", () => {
    const app = testApp();
    bucket(policyStack("one", app), { versioning: false });
    bucket(policyStack("two", app), { forceDestroy: true });
    expect(() => app.synth()).toThrow(
      /Policy check failed: 2 problems in stacks "one", "two":\n {2}stack "one":\n {4}- GTI-S3-002 aws_s3_bucket\.fixture_data: .*\n {2}stack "two":\n {4}- GTI-S3-006 aws_s3_bucket\.fixture_data: /,
    );
  });

  it("GIVEN several violations in one stack WHEN synthesized THEN every one is listed, one line each", () => {
    const stack = policyStack();
    bucket(stack, { versioning: false, encryption: false, forceDestroy: true });
    expect(() => synthJson(stack)).toThrow(/3 problems in stack "fixture":\n {2}- GTI-S3-001 .*\n {2}- GTI-S3-002 .*\n {2}- GTI-S3-006 /);
  });

  it("GIVEN a violation WHEN synthesized THEN the resource also carries an error annotation with the finding", () => {
    const stack = policyStack();
    const b = bucket(stack, { versioning: false });
    expect(() => synthJson(stack)).toThrow(PolicyViolationError);
    const errors = b.node.metadata.filter((m) => m.type === AnnotationMetadataEntryType.ERROR).map((m) => String(m.data));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^GTI-S3-002 aws_s3_bucket\.fixture_data: /);
  });

  it("GIVEN PolicyChecks added to a construct that is not a stack WHEN synthesized THEN synth fails saying where to add it", () => {
    const stack = new TerraformStack(testApp(), "misplaced");
    Aspects.of(new Construct(stack, "Group")).add(new PolicyChecks());
    expect(() => synthJson(stack)).toThrow(/PolicyChecks was added to misplaced\/Group, which is not a stack\. Fix: add it to the stack/);
  });

  it("GIVEN a stack that already has the packs WHEN applyPolicy runs again THEN it is rejected (no double checking)", () => {
    const stack = policyStack();
    expect(() => applyPolicy(stack)).toThrow(/applied twice to stack "fixture"/);
  });

  it("GIVEN suppressed findings WHEN summarized THEN the summary is one line naming each rule and its stacks", () => {
    const report = (stack: string): PolicyReport => ({
      stack,
      rules: ALL_RULES.map((r) => r.id),
      elements: 3,
      violations: [],
      suppressed: [{ stack, ruleId: "GTI-S3-006", address: "aws_s3_bucket.x", constructPath: `${stack}/X`, what: "w", fix: "f", reason: REASON }],
      unused: [],
    });
    expect(formatSummary([report("dev"), report("prod")])).toBe(
      `Policy: ${ALL_RULES.length} rules passed on 2 stacks (dev, prod), 2 findings suppressed with a reason (GTI-S3-006 in dev, prod; GTI_POLICY_DETAILS=1 prints the reasons).\n`,
    );
  });

  it("GIVEN suppressed findings and details asked for WHEN summarized THEN each finding is listed with its reason", () => {
    const report: PolicyReport = {
      stack: "dev",
      rules: ALL_RULES.map((r) => r.id),
      elements: 3,
      violations: [],
      suppressed: [{ stack: "dev", ruleId: "GTI-S3-006", address: "aws_s3_bucket.x", constructPath: "dev/X", what: "w", fix: "f", reason: REASON }],
      unused: [],
    };
    expect(formatSummary([report], { details: true }).split("\n")[1]).toBe(`  suppressed [dev] GTI-S3-006 aws_s3_bucket.x: ${REASON}`);
  });

  it("GIVEN stacks with nothing suppressed WHEN summarized THEN the summary is one line", () => {
    const report: PolicyReport = { stack: "dev", rules: ALL_RULES.map((r) => r.id), elements: 3, violations: [], suppressed: [], unused: [] };
    expect(formatSummary([report])).toBe(`Policy: ${ALL_RULES.length} rules passed on 1 stack (dev), nothing suppressed.\n`);
  });
});

describe("the project's stacks", () => {
  const reports = new Map<string, PolicyReport>();

  beforeAll(async () => {
    const environments = await realEnvironments();
    const app = testApp();
    const stacks = [new BootstrapStack(app, { environments }), ...environments.map((config) => new TrainingEnvironmentStack(app, { config }))];
    for (const stack of stacks) reports.set(stack.node.id, evaluateStack(stack, ALL_RULES));
  });

  it.each(["bootstrap", "training", "dev", "prod"])("GIVEN stack %s WHEN the packs run THEN there is no violation and no unused suppression", (name) => {
    const report = reports.get(name);
    expect(report?.violations).toEqual([]);
    expect(report?.unused).toEqual([]);
  });
});

describe("main.ts with a violating stack", () => {
  const temp = mkdtempSync(join(tmpdir(), "gti-policy-main-"));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it("GIVEN a force_destroy bucket injected into training WHEN `tsx main.ts` runs THEN it exits 1 with the finding, no stack trace, no training JSON", () => {
    const outdir = join(temp, "out");
    const result = spawnSync(
      join(PROJECT, "node_modules", ".bin", "tsx"),
      ["--import", join(__dirname, "..", "support", "policy", "inject-violation.ts"), "main.ts"],
      { cwd: PROJECT, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", CDKTF_OUTDIR: outdir }, timeout: 60_000 },
    );
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain('Policy check failed: 6 problems in stack "training":');
    expect(result.stderr).toContain(
      "  - GTI-S3-006 aws_s3_bucket.injected_scratch: force_destroy = true. Fix: set force_destroy = false (SecureBucket does)",
    );
    expect(result.stderr).toMatch(/^ {2}- GTI-S3-001 aws_s3_bucket\.injected_bare: no aws_s3_bucket_server_side_encryption_configuration/m);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(outdir, "stacks", "training", "cdk.tf.json"))).toBe(false);
  });
});
