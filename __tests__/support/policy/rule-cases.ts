/** The policy rules' cases for __tests__/policy/rules.test.ts: per rule, a compliant fixture and one breaking exactly that rule. */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import type { TerraformStack } from "cdktf";
import { address } from "../../../src/naming";
import type { SuppressibleElement } from "../../../src/policy/suppressions";
import { SecureBucket } from "../../../src/secure-bucket";
import {
  autoscalingGroup,
  bucket,
  instance,
  lambdaFunction,
  launchTemplate,
  policyDocument,
  repository,
  securityGroup,
  toggled,
} from "./fixtures";

export interface RuleCase {
  /** The rule. */
  readonly id: string;
  /** What the compliant fixture is, for the test name. */
  readonly compliantAs: string;
  /** Builds a fixture that passes every rule. */
  compliant(stack: TerraformStack): void;
  /** What the breaking fixture is, for the test name. */
  readonly brokenAs: string;
  /** Builds a fixture that breaks this rule only; returns the element the finding is on. */
  broken(stack: TerraformStack): SuppressibleElement;
  /** The finding's Terraform address. */
  readonly address: string;
  /** A fragment of the finding's "what". */
  readonly what: string;
}

const KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ARN = "arn:aws:s3:::fixture-data-bucket";
const GITHUB = "token.actions.githubusercontent.com";
const OIDC_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

export const CASES: readonly RuleCase[] = [
  {
    id: "GTI-S3-001",
    compliantAs: "a SecureBucket",
    compliant: (s) => void new SecureBucket(s, "Secure", { bucketName: "fixture-secure", address: ["fixture", "secure"] }),
    brokenAs: "a bucket without an encryption configuration",
    broken: (s) => bucket(s, { encryption: false }),
    address: "aws_s3_bucket.fixture_data",
    what: "no aws_s3_bucket_server_side_encryption_configuration targets this bucket",
  },
  {
    id: "GTI-S3-002",
    compliantAs: "a bucket with versioning Enabled",
    compliant: (s) => void bucket(s),
    brokenAs: "a bucket without versioning",
    broken: (s) => bucket(s, { versioning: false }),
    address: "aws_s3_bucket.fixture_data",
    what: "no aws_s3_bucket_versioning targets this bucket",
  },
  {
    id: "GTI-S3-003",
    compliantAs: "a bucket with all four public access blocks",
    compliant: (s) => void bucket(s),
    brokenAs: "a bucket whose public access block leaves restrict_public_buckets off",
    broken: (s) => bucket(s, { publicAccessBlock: { restrictPublicBuckets: false } }),
    address: "aws_s3_bucket.fixture_data",
    what: "aws_s3_bucket_public_access_block.fixture_data leaves restrict_public_buckets off",
  },
  {
    id: "GTI-S3-004",
    compliantAs: "a bucket whose policy denies aws:SecureTransport = false",
    compliant: (s) => void bucket(s),
    brokenAs: "a bucket whose policy only denies old TLS versions",
    broken: (s) => bucket(s, { tlsPolicy: false }),
    address: "aws_s3_bucket.fixture_data",
    what: "the policy of aws_s3_bucket_policy.fixture_data has no statement denying requests without TLS",
  },
  {
    id: "GTI-S3-005",
    compliantAs: "a bucket with an enabled lifecycle rule",
    compliant: (s) => void bucket(s),
    brokenAs: "a bucket without a lifecycle configuration",
    broken: (s) => bucket(s, { lifecycle: false }),
    address: "aws_s3_bucket.fixture_data",
    what: "no aws_s3_bucket_lifecycle_configuration targets this bucket",
  },
  {
    id: "GTI-S3-006",
    compliantAs: "a bucket with force_destroy = false",
    compliant: (s) => void bucket(s, { forceDestroy: false }),
    brokenAs: "a bucket with force_destroy = true",
    broken: (s) => bucket(s, { forceDestroy: true }),
    address: "aws_s3_bucket.fixture_data",
    what: "force_destroy = true",
  },
  {
    id: "GTI-EC2-001",
    compliantAs: "an instance and a launch template requiring IMDSv2",
    compliant: (s) => {
      instance(s);
      launchTemplate(s);
    },
    brokenAs: 'an instance with http_tokens = "optional"',
    broken: (s) => instance(s, { metadataOptions: { httpTokens: "optional" } }),
    address: "aws_instance.fixture_gpu",
    what: 'metadata_options.http_tokens = "optional", not "required"',
  },
  {
    id: "GTI-EC2-002",
    compliantAs: "an instance with an encrypted root volume and a launch template with encrypted EBS",
    compliant: (s) => {
      instance(s);
      launchTemplate(s);
    },
    brokenAs: "a launch template whose EBS mapping is not encrypted",
    broken: (s) => launchTemplate(s, { blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "false", volumeType: "gp3" } }] }),
    address: "aws_launch_template.fixture_fleet",
    what: '"/dev/sda1" has ebs.encrypted = "false"',
  },
  {
    id: "GTI-EC2-003",
    compliantAs: "SSH from an office /24",
    compliant: (s) =>
      void securityGroup(s, [{ fromPort: 22, toPort: 22, protocol: "tcp", cidrBlocks: ["203.0.113.0/24"], description: "SSH from the office" }]),
    brokenAs: "SSH from 0.0.0.0/1 (half the internet, dodging a /0 check)",
    broken: (s) => securityGroup(s, [{ fromPort: 22, toPort: 22, protocol: "tcp", cidrBlocks: ["0.0.0.0/1"], description: "SSH" }]),
    address: "aws_security_group.fixture_ssh",
    what: "ingress 1 opens port 22 to 0.0.0.0/1",
  },
  {
    id: "GTI-EC2-004",
    compliantAs: "an instance with monitoring = false",
    compliant: (s) => void instance(s, { monitoring: false }),
    brokenAs: "an instance without monitoring set",
    broken: (s) => instance(s, { monitoring: undefined }),
    address: "aws_instance.fixture_gpu",
    what: "monitoring is not set",
  },
  {
    id: "GTI-SG-001",
    compliantAs: "HTTPS ingress from a private range",
    compliant: (s) => void securityGroup(s, [{ fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["10.0.0.0/16"], description: "HTTPS from the VPC" }]),
    brokenAs: "HTTPS ingress from ::/0",
    broken: (s) => securityGroup(s, [{ fromPort: 443, toPort: 443, protocol: "tcp", ipv6CidrBlocks: ["::/0"], description: "HTTPS" }]),
    address: "aws_security_group.fixture_ssh",
    what: "ingress 1 allows ::/0",
  },
  {
    id: "GTI-SG-002",
    compliantAs: "rules with descriptions",
    compliant: (s) => void securityGroup(s, [{ fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["10.0.0.0/16"], description: "HTTPS from the VPC" }]),
    brokenAs: "an egress rule without a description",
    broken: (s) => securityGroup(s, [], null),
    address: "aws_security_group.fixture_ssh",
    what: "egress 1 has no description",
  },
  {
    id: "GTI-IAM-001",
    compliantAs: "a policy naming s3:GetObject on the bucket",
    compliant: (s) => void policyDocument(s, [{ actions: ["s3:GetObject"], resources: [`${ARN}/*`] }]),
    brokenAs: 'a policy allowing "s3:*" on the bucket',
    broken: (s) => policyDocument(s, [{ actions: ["s3:*"], resources: [ARN, `${ARN}/*`] }]),
    address: "data.aws_iam_policy_document.fixture_policy",
    what: 'statement 1 allows "s3:*"',
  },
  {
    id: "GTI-IAM-002",
    compliantAs: 'ecr:GetAuthorizationToken (allowlisted) on "*"',
    compliant: (s) => void policyDocument(s, [{ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }]),
    brokenAs: 's3:GetObject on "*"',
    broken: (s) => policyDocument(s, [{ actions: ["ecr:GetAuthorizationToken", "s3:GetObject"], resources: ["*"] }]),
    address: "data.aws_iam_policy_document.fixture_policy",
    what: 'statement 1 allows s3:GetObject on Resource "*"',
  },
  {
    id: "GTI-IAM-003",
    compliantAs: "a GitHub trust policy pinning aud and sub",
    compliant: (s) =>
      void policyDocument(s, [
        {
          actions: ["sts:AssumeRoleWithWebIdentity"],
          principals: [{ type: "Federated", identifiers: [OIDC_PROVIDER] }],
          condition: [
            { test: "StringEquals", variable: `${GITHUB}:aud`, values: ["sts.amazonaws.com"] },
            { test: "StringEquals", variable: `${GITHUB}:sub`, values: ["repo:example-org/llm-training:ref:refs/heads/main"] },
          ],
        },
      ]),
    brokenAs: "a GitHub trust policy pinning aud only",
    broken: (s) =>
      policyDocument(s, [
        {
          actions: ["sts:AssumeRoleWithWebIdentity"],
          principals: [{ type: "Federated", identifiers: [OIDC_PROVIDER] }],
          condition: [{ test: "StringEquals", variable: `${GITHUB}:aud`, values: ["sts.amazonaws.com"] }],
        },
      ]),
    address: "data.aws_iam_policy_document.fixture_policy",
    what: "statement 1 has no StringEquals/StringLike condition on <provider>:sub",
  },
  {
    id: "GTI-IAM-004",
    compliantAs: "an attachment of AmazonSSMManagedInstanceCore",
    compliant: (s) =>
      void address(
        new IamRolePolicyAttachment(s, "Attachment", { role: "fixture", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }),
        "fixture",
        "admin",
      ),
    brokenAs: "an attachment of AdministratorAccess",
    broken: (s) =>
      address(new IamRolePolicyAttachment(s, "Attachment", { role: "fixture", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }), "fixture", "admin"),
    address: "aws_iam_role_policy_attachment.fixture_admin",
    what: "attaches arn:aws:iam::aws:policy/AdministratorAccess",
  },
  {
    id: "GTI-ECR-001",
    compliantAs: "a repository scanning on push",
    compliant: (s) => void repository(s),
    brokenAs: "a repository with scan_on_push = false",
    broken: (s) => repository(s, { imageScanningConfiguration: { scanOnPush: false } }),
    address: "aws_ecr_repository.fixture_images",
    what: "image_scanning_configuration.scan_on_push = false",
  },
  {
    id: "GTI-ECR-002",
    compliantAs: "a repository with a lifecycle policy",
    compliant: (s) => void repository(s),
    brokenAs: "a repository without a lifecycle policy",
    broken: (s) => repository(s, {}, false),
    address: "aws_ecr_repository.fixture_images",
    what: "no aws_ecr_lifecycle_policy targets this repository",
  },
  {
    id: "GTI-LAMBDA-001",
    compliantAs: "a function with /aws/lambda/<name> kept 30 days",
    compliant: (s) => void lambdaFunction(s),
    brokenAs: "a function without a log group",
    broken: (s) => lambdaFunction(s, {}, false),
    address: "aws_lambda_function.fixture_guard",
    what: 'no aws_cloudwatch_log_group named "/aws/lambda/fixture-guard" in this stack',
  },
  {
    id: "GTI-LAMBDA-002",
    compliantAs: "a function with reserved concurrency 1",
    compliant: (s) => void lambdaFunction(s),
    brokenAs: "a function without reserved concurrency",
    broken: (s) => lambdaFunction(s, { reservedConcurrentExecutions: undefined }),
    address: "aws_lambda_function.fixture_guard",
    what: "reserved_concurrent_executions = (not set)",
  },
  {
    id: "GTI-LAMBDA-003",
    compliantAs: "a function with a dead-letter topic",
    compliant: (s) => void lambdaFunction(s),
    brokenAs: "a function without a dead-letter target or on-failure destination",
    broken: (s) => lambdaFunction(s, { deadLetterConfig: undefined }),
    address: "aws_lambda_function.fixture_guard",
    what: "neither dead_letter_config nor an aws_lambda_function_event_invoke_config with an on-failure destination is set",
  },
  {
    id: "GTI-SNS-001",
    compliantAs: "a topic encrypted with a KMS key",
    compliant: (s) => void address(new SnsTopic(s, "Alerts", { name: "fixture-alerts", kmsMasterKeyId: KMS_KEY }), "fixture", "alerts"),
    brokenAs: "a topic without kms_master_key_id",
    broken: (s) => address(new SnsTopic(s, "Alerts", { name: "fixture-alerts" }), "fixture", "alerts"),
    address: "aws_sns_topic.fixture_alerts",
    what: "kms_master_key_id = (not set)",
  },
  {
    id: "GTI-LOGS-001",
    compliantAs: "a log group kept 30 days",
    compliant: (s) => void address(new CloudwatchLogGroup(s, "Logs", { name: "/gti/fixture", retentionInDays: 30 }), "fixture", "logs"),
    brokenAs: "a log group kept forever (retention 0)",
    broken: (s) => address(new CloudwatchLogGroup(s, "Logs", { name: "/gti/fixture", retentionInDays: 0 }), "fixture", "logs"),
    address: "aws_cloudwatch_log_group.fixture_logs",
    what: "retention_in_days = 0 (never expire)",
  },
  {
    id: "GTI-COST-001",
    compliantAs: "a NAT gateway switched by create_instance",
    compliant: (s) => void address(new NatGateway(s, "Nat", { subnetId: "subnet-0123abcd", count: toggled(s) }), "fixture", "nat"),
    brokenAs: "an always-on NAT gateway",
    broken: (s) => address(new NatGateway(s, "Nat", { subnetId: "subnet-0123abcd" }), "fixture", "nat"),
    address: "aws_nat_gateway.fixture_nat",
    what: "NAT gateway with count = (not set) bills every hour it exists",
  },
  {
    id: "GTI-COST-002",
    compliantAs: "an S3 gateway endpoint",
    compliant: (s) => void address(new VpcEndpoint(s, "Endpoint", { vpcId: "vpc-0123abcd", serviceName: "com.amazonaws.us-east-1.s3" }), "fixture", "endpoint"),
    brokenAs: "an always-on interface endpoint",
    broken: (s) =>
      address(
        new VpcEndpoint(s, "Endpoint", { vpcId: "vpc-0123abcd", serviceName: "com.amazonaws.us-east-1.ecr.api", vpcEndpointType: "Interface" }),
        "fixture",
        "endpoint",
      ),
    address: "aws_vpc_endpoint.fixture_endpoint",
    what: 'vpc_endpoint_type = "Interface" bills every hour it exists',
  },
  {
    id: "GTI-COST-003",
    compliantAs: "an instance counted by create_instance and a group with min_size 0",
    compliant: (s) => {
      instance(s);
      autoscalingGroup(s, launchTemplate(s));
    },
    brokenAs: "an auto-scaling group with min_size 1",
    broken: (s) => autoscalingGroup(s, launchTemplate(s), 1),
    address: "aws_autoscaling_group.fixture_fleet",
    what: "min_size = 1, not 0",
  },
  {
    id: "GTI-COST-004",
    compliantAs: "a gp3 root volume at the baseline",
    compliant: (s) => void instance(s, { rootBlockDevice: { encrypted: true, volumeType: "gp3", iops: 3000, throughput: 125 } }),
    brokenAs: "a gp3 root volume provisioned at 6000 IOPS",
    broken: (s) => instance(s, { rootBlockDevice: { encrypted: true, volumeType: "gp3", iops: 6000 } }),
    address: "aws_instance.fixture_gpu",
    what: "root_block_device provisions iops = 6000 (baseline 3000)",
  },
  {
    id: "GTI-COST-005",
    compliantAs: "an Elastic IP counted by create_instance",
    compliant: (s) => void address(new Eip(s, "Ip", { domain: "vpc", count: toggled(s) }), "fixture", "ip"),
    brokenAs: "an always-allocated Elastic IP",
    broken: (s) => address(new Eip(s, "Ip", { domain: "vpc" }), "fixture", "ip"),
    address: "aws_eip.fixture_ip",
    what: "the Elastic IP has count = (not set): it exists (and bills) while no instance runs",
  },
];
