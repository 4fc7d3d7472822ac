/**
 * An S3 bucket with every safe default this project promises, used for the state bucket (bootstrap stack) and the
 * data and outputs buckets (training-storage): encryption (SSE-S3, or SSE-KMS with S3 Bucket Keys), versioning, all
 * four public access blocks, `BucketOwnerEnforced` ownership (ACLs off), a bucket policy that denies requests without
 * TLS (and TLS older than 1.2), `force_destroy = false` plus `prevent_destroy`, lifecycle rules, and optional server
 * access logging.
 */
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";
import { address } from "./naming";

export interface SecureBucketProps {
  /** The bucket's globally unique name (a literal, or a token such as one built from the account id). */
  readonly bucketName: string;
  /**
   * Address parts of every resource of the bucket: `["storage", "data"]` gives `aws_s3_bucket.storage_data`,
   * `aws_s3_bucket_versioning.storage_data`, and so on.
   */
  readonly address: readonly string[];
  /** KMS key ARN: SSE-KMS with S3 Bucket Keys (fewer KMS requests, lower cost). @default SSE-S3 (AES256) */
  readonly kmsKeyArn?: string;
  /**
   * Lifecycle rules. Every rule should carry a `filter` (an empty prefix for the whole bucket), since provider v5
   * warns about rules without one. @default a single rule aborting incomplete multipart uploads after 7 days
   */
  readonly lifecycleRules?: readonly S3BucketLifecycleConfigurationRule[];
  /** Server access logging into an existing bucket. @default off */
  readonly accessLogging?: {
    /** Name of the bucket receiving the logs. */
    readonly bucket: string;
    /** Key prefix of the log objects. */
    readonly prefix: string;
  };
  /** Statements appended to the bucket policy, after the TLS-only denial. @default none */
  readonly policyStatements?: readonly DataAwsIamPolicyDocumentStatement[];
  /** Emit `lifecycle { prevent_destroy = true }` so `terraform destroy` refuses to delete the bucket. @default true */
  readonly preventDestroy?: boolean;
}

/** Default lifecycle: only abort incomplete multipart uploads (they bill for storage and are invisible in listings). */
export const ABORT_INCOMPLETE_UPLOADS_RULE: S3BucketLifecycleConfigurationRule = {
  id: "abort-incomplete-multipart-uploads",
  status: "Enabled",
  filter: [{ prefix: "" }],
  abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
};

export class SecureBucket extends Construct {
  /** The bucket resource. */
  public readonly bucket: S3Bucket;
  /** The bucket policy document (TLS-only plus any extra statements). */
  public readonly policyDocument: DataAwsIamPolicyDocument;
  /** The bucket policy resource. */
  public readonly policy: S3BucketPolicy;
  /** The KMS key ARN the bucket encrypts with, if SSE-KMS. */
  public readonly kmsKeyArn: string | undefined;

  public constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const parts = [...props.address];
    this.kmsKeyArn = props.kmsKeyArn;

    this.bucket = address(
      new S3Bucket(this, "Resource", {
        bucket: props.bucketName,
        forceDestroy: false,
        lifecycle: { preventDestroy: props.preventDestroy ?? true },
      }),
      ...parts,
    );

    const versioning = address(
      new S3BucketVersioningA(this, "Versioning", {
        bucket: this.bucket.id,
        versioningConfiguration: { status: "Enabled" },
      }),
      ...parts,
    );

    address(
      new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
        bucket: this.bucket.id,
        rule: [
          props.kmsKeyArn
            ? {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn },
                bucketKeyEnabled: true,
              }
            : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
        ],
      }),
      ...parts,
    );

    const publicAccessBlock = address(
      new S3BucketPublicAccessBlock(this, "PublicAccessBlock", {
        bucket: this.bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
      ...parts,
    );

    address(
      new S3BucketOwnershipControls(this, "Ownership", {
        bucket: this.bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      }),
      ...parts,
    );

    address(
      new S3BucketLifecycleConfiguration(this, "Lifecycle", {
        bucket: this.bucket.id,
        rule: [...(props.lifecycleRules ?? [ABORT_INCOMPLETE_UPLOADS_RULE])],
        // Rules that act on noncurrent versions need versioning on first (provider documentation).
        dependsOn: [versioning],
      }),
      ...parts,
    );

    if (props.accessLogging) {
      address(
        new S3BucketLoggingA(this, "Logging", {
          bucket: this.bucket.id,
          targetBucket: props.accessLogging.bucket,
          targetPrefix: `${props.accessLogging.prefix}${props.bucketName}/`,
        }),
        ...parts,
      );
    }

    const bucketAndObjects = [this.bucket.arn, `${this.bucket.arn}/*`];
    this.policyDocument = address(
      new DataAwsIamPolicyDocument(this, "PolicyDocument", {
        statement: [
          {
            sid: "DenyInsecureTransport",
            effect: "Deny",
            principals: [{ type: "*", identifiers: ["*"] }],
            actions: ["s3:*"],
            resources: bucketAndObjects,
            condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
          },
          {
            sid: "DenyOutdatedTls",
            effect: "Deny",
            principals: [{ type: "*", identifiers: ["*"] }],
            actions: ["s3:*"],
            resources: bucketAndObjects,
            condition: [{ test: "NumericLessThan", variable: "s3:TlsVersion", values: ["1.2"] }],
          },
          ...(props.policyStatements ?? []),
        ],
      }),
      ...parts,
    );

    this.policy = address(
      new S3BucketPolicy(this, "Policy", {
        bucket: this.bucket.id,
        policy: this.policyDocument.json,
        // S3 rejects policy writes while the public access block is still being applied; order them.
        dependsOn: [publicAccessBlock],
      }),
      ...parts,
    );
  }

  /** The bucket's name. */
  public get name(): string {
    return this.bucket.bucket;
  }

  /** The bucket's ARN. */
  public get arn(): string {
    return this.bucket.arn;
  }
}
