/**
 * Every policy rule, three ways: a compliant fixture passes synth; a fixture breaking exactly that rule fails synth
 * with the rule id, the Terraform address, what is wrong and the fix; the same fixture with the rule suppressed passes
 * synth and reports the suppressed finding.
 */
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SecurityGroupRule } from "@cdktf/provider-aws/lib/security-group-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Fn, type TerraformStack, TerraformVariable } from "cdktf";
import { describe, expect, it } from "vitest";
import { address } from "../../src/naming";
import {
  bucket,
  evaluate,
  instance,
  launchTemplate,
  policyDocument,
  policyStack,
  securityGroup,
} from "../support/policy/fixtures";

const KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const GITHUB = "token.actions.githubusercontent.com";
const OIDC_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

/** `GTI-... address: what` for each violation of the stack, without synthesizing. */
function findings(stack: TerraformStack): string[] {
  return evaluate(stack).violations.map((v) => `${v.ruleId} ${v.address}: ${v.what}`);
}

describe("rule details", () => {
  it("GIVEN Deny statements for principal * on * (a TLS-only bucket policy) WHEN checked THEN no IAM rule objects (Deny never widens access)", () => {
    const stack = policyStack();
    policyDocument(stack, [{ effect: "Deny", principals: [{ type: "*", identifiers: ["*"] }], actions: ["*"], resources: ["*"] }]);
    expect(findings(stack)).toEqual([]);
  });

  it('GIVEN a KMS key policy giving the account root "kms:*" on "*" WHEN checked THEN it passes (the default key policy)', () => {
    const stack = policyStack();
    const doc = policyDocument(stack, [
      { actions: ["kms:*"], resources: ["*"], principals: [{ type: "AWS", identifiers: ["arn:aws:iam::123456789012:root"] }] },
      { actions: ["kms:Decrypt", "kms:GenerateDataKey*"], resources: ["*"], principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }] },
    ]);
    address(new KmsKey(stack, "Key", { description: "alerts", enableKeyRotation: true, policy: doc.json }), "fixture", "key");
    expect(findings(stack)).toEqual([]);
  });

  it('GIVEN "kms:*" granted to a role outside a key policy WHEN checked THEN GTI-IAM-001 flags it', () => {
    const stack = policyStack();
    policyDocument(stack, [{ actions: ["kms:*"], resources: [KMS_KEY] }]);
    expect(findings(stack)).toEqual(['GTI-IAM-001 data.aws_iam_policy_document.fixture_policy: statement 1 allows "kms:*"']);
  });

  it("GIVEN ec2:DescribeInstances and cloudwatch:PutMetricData on * WHEN checked THEN they pass (allowlisted)", () => {
    const stack = policyStack();
    policyDocument(stack, [{ actions: ["ec2:DescribeInstances", "ec2:DescribeTags", "cloudwatch:PutMetricData"], resources: ["*"] }]);
    expect(findings(stack)).toEqual([]);
  });

  it("GIVEN a literal JSON inline role policy allowing * on * WHEN checked THEN IAM-001, IAM-002 and IAM-004 flag the role policy", () => {
    const stack = policyStack();
    address(
      new IamRolePolicy(stack, "Inline", {
        role: "fixture",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
      }),
      "fixture",
      "inline",
    );
    expect(findings(stack).map((f) => f.split(":")[0])).toEqual([
      "GTI-IAM-001 aws_iam_role_policy.fixture_inline",
      "GTI-IAM-002 aws_iam_role_policy.fixture_inline",
      "GTI-IAM-004 aws_iam_role_policy.fixture_inline",
    ]);
  });

  it("GIVEN a role policy built with jsonencode (known only at apply) WHEN checked THEN IAM-001 says it cannot check it", () => {
    const stack = policyStack();
    address(new IamRolePolicy(stack, "Inline", { role: "fixture", policy: Fn.jsonencode({ Statement: [] }) }), "fixture", "inline");
    expect(findings(stack)[0]).toMatch(/^GTI-IAM-001 aws_iam_role_policy\.fixture_inline: policy = \$\{jsonencode\(.* is known only at apply time/);
  });

  it("GIVEN a GitHub trust policy with sub repo:* (StringLike) WHEN checked THEN GTI-IAM-003 flags the unpinned subject", () => {
    const stack = policyStack();
    policyDocument(stack, [
      {
        actions: ["sts:AssumeRoleWithWebIdentity"],
        principals: [{ type: "Federated", identifiers: [OIDC_PROVIDER] }],
        condition: [
          { test: "StringEquals", variable: `${GITHUB}:aud`, values: ["sts.amazonaws.com"] },
          { test: "StringLike", variable: `${GITHUB}:sub`, values: ["repo:example-org/*"] },
        ],
      },
    ]);
    expect(findings(stack)).toEqual([
      `GTI-IAM-003 data.aws_iam_policy_document.fixture_policy: statement 1 ${GITHUB}:sub: "repo:example-org/*" does not name one repository (expected repo:<owner>/<repo>:<ref or environment>, no wildcard in owner/repo)`,
    ]);
  });

  it("GIVEN an instance without metadata options launched from a launch template requiring IMDSv2 WHEN checked THEN it passes", () => {
    const stack = policyStack();
    const template = launchTemplate(stack);
    instance(stack, { metadataOptions: undefined, rootBlockDevice: undefined, launchTemplate: { id: template.id } });
    expect(findings(stack)).toEqual([]);
  });

  it("GIVEN an all-protocol rule from 10.0.0.0/8 WHEN checked THEN GTI-EC2-003 flags SSH open to a /8", () => {
    const stack = policyStack();
    securityGroup(stack, [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["10.0.0.0/8"], description: "everything from the corporate network" }]);
    expect(findings(stack)).toEqual(["GTI-EC2-003 aws_security_group.fixture_ssh: ingress 1 opens port 22 to 10.0.0.0/8"]);
  });

  it("GIVEN an aws_vpc_security_group_ingress_rule from 0.0.0.0/0 without description WHEN checked THEN SG-001 and SG-002 flag it", () => {
    const stack = policyStack();
    address(
      new VpcSecurityGroupIngressRule(stack, "Https", { securityGroupId: "sg-0123abcd", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }),
      "fixture",
      "https",
    );
    expect(findings(stack)).toEqual([
      "GTI-SG-001 aws_vpc_security_group_ingress_rule.fixture_https: ingress rule allows 0.0.0.0/0",
      "GTI-SG-002 aws_vpc_security_group_ingress_rule.fixture_https: ingress rule has no description",
    ]);
  });

  it("GIVEN SSH from CIDRs held in a variable WHEN checked THEN EC2-003 and SG-001 say they cannot be checked at synth", () => {
    const stack = policyStack();
    const cidrs = new TerraformVariable(stack, "ssh_cidrs", { type: "list(string)", default: [] });
    address(
      new SecurityGroupRule(stack, "Ssh", { type: "ingress", securityGroupId: "sg-0123abcd", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: cidrs.listValue, description: "SSH" }),
      "fixture",
      "ssh",
    );
    expect(findings(stack)).toEqual([
      "GTI-EC2-003 aws_security_group_rule.fixture_ssh: ingress rule opens port 22 to ${var.ssh_cidrs}, known only at apply time",
      "GTI-SG-001 aws_security_group_rule.fixture_ssh: ingress rule takes its CIDRs from ${var.ssh_cidrs}, known only at apply time",
    ]);
  });

  it("GIVEN a bucket configured by its literal name (not a reference) WHEN checked THEN the configurations are found", () => {
    const stack = policyStack();
    const b = bucket(stack);
    stack.addOverride("resource.aws_s3_bucket_versioning.fixture_data.bucket", "fixture-data-bucket");
    expect(b.bucketInput).toBe("fixture-data-bucket");
    expect(findings(stack)).toEqual([]);
  });

  it("GIVEN an instance always on (no count) WHEN checked THEN GTI-COST-003 names the create_instance toggle", () => {
    const stack = policyStack();
    instance(stack, { count: undefined });
    expect(findings(stack)).toEqual([
      "GTI-COST-003 aws_instance.fixture_gpu: count = (not set): the instance exists (and bills) whatever create_instance says",
    ]);
  });
});
