/**
 * Policy fixtures: small stacks with the pack applied, and one builder per resource kind that is compliant with
 * every rule by default, so a test can break exactly one rule by changing one input.
 */
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository, type EcrRepositoryConfig } from "@cdktf/provider-aws/lib/ecr-repository";
import { Instance, type InstanceConfig } from "@cdktf/provider-aws/lib/instance";
import { LambdaFunction, type LambdaFunctionConfig } from "@cdktf/provider-aws/lib/lambda-function";
import { LaunchTemplate, type LaunchTemplateConfig } from "@cdktf/provider-aws/lib/launch-template";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock, type S3BucketPublicAccessBlockConfig } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { SecurityGroup, type SecurityGroupIngress } from "@cdktf/provider-aws/lib/security-group";
import { type App, Fn, TerraformCount, TerraformStack, TerraformVariable, Token } from "cdktf";
import { address } from "../../../src/naming";
import { applyPolicy, evaluateStack, ALL_RULES, type PolicyReport } from "../../../src/policy";
import { testApp } from "../synth";

/** A fresh stack `fixture` with an AWS provider and the policy packs, on its own app (or the one given). */
export function policyStack(id = "fixture", app: App = testApp()): TerraformStack {
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  applyPolicy(stack);
  return stack;
}

/** Every rule's verdicts on a stack, without failing (what the aspect would throw for). */
export function evaluate(stack: TerraformStack): PolicyReport {
  return evaluateStack(stack, ALL_RULES);
}

/** The `create_instance` toggle, once per stack. */
export function createInstanceVariable(stack: TerraformStack): TerraformVariable {
  const existing = stack.node.tryFindChild("create_instance");
  if (existing instanceof TerraformVariable) return existing;
  return address(new TerraformVariable(stack, "create_instance", { type: "bool", default: false }), "create_instance");
}

/** `count = var.create_instance ? 1 : 0`. */
export function toggled(stack: TerraformStack): TerraformCount {
  return TerraformCount.of(Token.asNumber(Fn.conditional(createInstanceVariable(stack).booleanValue, 1, 0)));
}

/** Which parts of a hand-built bucket to create (all by default: a compliant bucket). */
export interface BucketParts {
  readonly encryption?: boolean;
  readonly versioning?: boolean;
  readonly publicAccessBlock?: Partial<S3BucketPublicAccessBlockConfig> | false;
  readonly tlsPolicy?: boolean;
  readonly lifecycle?: boolean;
  readonly forceDestroy?: boolean;
}

/** A bucket built from separate resources (not SecureBucket), `aws_s3_bucket.fixture_data`. */
export function bucket(stack: TerraformStack, parts: BucketParts = {}): S3Bucket {
  const b = address(new S3Bucket(stack, "Bucket", { bucket: "fixture-data-bucket", forceDestroy: parts.forceDestroy ?? false }), "fixture", "data");
  if (parts.encryption !== false) {
    address(
      new S3BucketServerSideEncryptionConfigurationA(stack, "Encryption", {
        bucket: b.id,
        rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      }),
      "fixture",
      "data",
    );
  }
  if (parts.versioning !== false) {
    address(new S3BucketVersioningA(stack, "Versioning", { bucket: b.id, versioningConfiguration: { status: "Enabled" } }), "fixture", "data");
  }
  if (parts.publicAccessBlock !== false) {
    address(
      new S3BucketPublicAccessBlock(stack, "PublicAccessBlock", {
        bucket: b.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
        ...(parts.publicAccessBlock ?? {}),
      }),
      "fixture",
      "data",
    );
  }
  const statements: DataAwsIamPolicyDocumentStatement[] = [
    {
      sid: "DenyOutdatedTls",
      effect: "Deny",
      principals: [{ type: "*", identifiers: ["*"] }],
      actions: ["s3:*"],
      resources: [b.arn, `${b.arn}/*`],
      condition: [{ test: "NumericLessThan", variable: "s3:TlsVersion", values: ["1.2"] }],
    },
  ];
  if (parts.tlsPolicy !== false) {
    statements.unshift({
      sid: "DenyInsecureTransport",
      effect: "Deny",
      principals: [{ type: "*", identifiers: ["*"] }],
      actions: ["s3:*"],
      resources: [b.arn, `${b.arn}/*`],
      condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
    });
  }
  const document = address(new DataAwsIamPolicyDocument(stack, "BucketPolicyDocument", { statement: statements }), "fixture", "data");
  address(new S3BucketPolicy(stack, "BucketPolicy", { bucket: b.id, policy: document.json }), "fixture", "data");
  if (parts.lifecycle !== false) {
    address(
      new S3BucketLifecycleConfiguration(stack, "Lifecycle", {
        bucket: b.id,
        rule: [{ id: "abort", status: "Enabled", filter: [{ prefix: "" }], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }] }],
      }),
      "fixture",
      "data",
    );
  }
  return b;
}

/** A compliant GPU instance, `aws_instance.fixture_gpu`: toggled, IMDSv2, encrypted gp3 root, monitoring decided. */
export function instance(stack: TerraformStack, overrides: Partial<InstanceConfig> = {}): Instance {
  return address(
    new Instance(stack, "Gpu", {
      ami: "ami-0123456789abcdef0",
      instanceType: "g5.xlarge",
      count: toggled(stack),
      monitoring: false,
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
      rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 200 },
      ...overrides,
    }),
    "fixture",
    "gpu",
  );
}

/** A compliant launch template, `aws_launch_template.fixture_fleet`. */
export function launchTemplate(stack: TerraformStack, overrides: Partial<LaunchTemplateConfig> = {}): LaunchTemplate {
  return address(
    new LaunchTemplate(stack, "Fleet", {
      imageId: "ami-0123456789abcdef0",
      metadataOptions: { httpTokens: "required" },
      monitoring: { enabled: false },
      blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { encrypted: "true", volumeType: "gp3", volumeSize: 200 } }],
      ...overrides,
    }),
    "fixture",
    "fleet",
  );
}

/** A compliant auto-scaling group on the launch template, `aws_autoscaling_group.fixture_fleet`. */
export function autoscalingGroup(stack: TerraformStack, template: LaunchTemplate, minSize = 0): AutoscalingGroup {
  const desired = address(new TerraformVariable(stack, "desired_instances", { type: "number", default: 0 }), "desired_instances");
  return address(
    new AutoscalingGroup(stack, "FleetGroup", {
      minSize,
      maxSize: 2,
      desiredCapacity: desired.numberValue,
      launchTemplate: { id: template.id, version: "$Latest" },
      availabilityZones: ["us-east-1a"],
    }),
    "fixture",
    "fleet",
  );
}

/**
 * A security group with the given ingress rules and one egress rule (described, unless `egressDescription` is null),
 * `aws_security_group.fixture_ssh`.
 */
export function securityGroup(stack: TerraformStack, ingress: SecurityGroupIngress[], egressDescription: string | null = "all outbound"): SecurityGroup {
  return address(
    new SecurityGroup(stack, "Ssh", {
      name: "fixture-ssh",
      description: "fixture",
      ingress,
      egress: [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"], description: egressDescription ?? undefined }],
    }),
    "fixture",
    "ssh",
  );
}

/** A policy document with the statements, `data.aws_iam_policy_document.fixture_policy`. */
export function policyDocument(stack: TerraformStack, statement: DataAwsIamPolicyDocumentStatement[]): DataAwsIamPolicyDocument {
  return address(new DataAwsIamPolicyDocument(stack, "Policy", { statement }), "fixture", "policy");
}

/** A compliant ECR repository with its lifecycle policy, `aws_ecr_repository.fixture_images`. */
export function repository(stack: TerraformStack, overrides: Partial<EcrRepositoryConfig> = {}, lifecycle = true): EcrRepository {
  const repo = address(
    new EcrRepository(stack, "Images", { name: "fixture-images", imageScanningConfiguration: { scanOnPush: true }, ...overrides }),
    "fixture",
    "images",
  );
  if (lifecycle) {
    address(
      new EcrLifecyclePolicy(stack, "ImagesLifecycle", {
        repository: repo.name,
        policy: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 3 }, action: { type: "expire" } }] }),
      }),
      "fixture",
      "images",
    );
  }
  return repo;
}

/** A compliant Lambda function (log group with retention, reserved concurrency, DLQ), `aws_lambda_function.fixture_guard`. */
export function lambdaFunction(
  stack: TerraformStack,
  overrides: Partial<LambdaFunctionConfig> = {},
  logGroup: { retentionInDays?: number } | false = { retentionInDays: 30 },
): LambdaFunction {
  const fn = address(
    new LambdaFunction(stack, "Guard", {
      functionName: "fixture-guard",
      role: "arn:aws:iam::123456789012:role/fixture-guard",
      runtime: "nodejs22.x",
      handler: "index.handler",
      filename: "guard.zip",
      reservedConcurrentExecutions: 1,
      deadLetterConfig: { targetArn: "arn:aws:sns:us-east-1:123456789012:fixture-alerts" },
      ...overrides,
    }),
    "fixture",
    "guard",
  );
  if (logGroup) {
    address(new CloudwatchLogGroup(stack, "GuardLogs", { name: "/aws/lambda/fixture-guard", ...logGroup }), "fixture", "guard");
  }
  return fn;
}
