import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformStack } from "cdktf";
import { describe, expect, it } from "vitest";
import { SecureBucket, type SecureBucketProps } from "../../src/secure-bucket";
import { resourceOf, resourcesOf, synthJson, testApp } from "../support/synth";

function synthBucket(props: Partial<SecureBucketProps> = {}) {
  const stack = new TerraformStack(testApp(), "bucket");
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  new SecureBucket(stack, "Bucket", { bucketName: "example-bucket", address: ["storage", "data"], ...props });
  return synthJson(stack);
}

const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("SecureBucket", () => {
  it("GIVEN address parts WHEN synthesized THEN every resource of the bucket shares the readable name", () => {
    const json = synthBucket();
    for (const type of [
      "aws_s3_bucket",
      "aws_s3_bucket_versioning",
      "aws_s3_bucket_server_side_encryption_configuration",
      "aws_s3_bucket_public_access_block",
      "aws_s3_bucket_ownership_controls",
      "aws_s3_bucket_lifecycle_configuration",
      "aws_s3_bucket_policy",
    ]) {
      expect(Object.keys(resourcesOf(json, type)), type).toEqual(["storage_data"]);
    }
  });

  it("GIVEN a KMS key WHEN synthesized THEN it encrypts with SSE-KMS and S3 Bucket Keys", () => {
    const json = synthBucket({ kmsKeyArn: KEY });
    expect(resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", "storage_data").rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: KEY }, bucket_key_enabled: true },
    ]);
  });

  it("GIVEN no access logging WHEN synthesized THEN there is no logging resource", () => {
    expect(resourcesOf(synthBucket(), "aws_s3_bucket_logging")).toEqual({});
  });

  it("GIVEN access logging WHEN synthesized THEN logs go to the log bucket under <prefix><bucket>/", () => {
    const json = synthBucket({ accessLogging: { bucket: "acme-logs", prefix: "s3-access-logs/" } });
    expect(resourceOf(json, "aws_s3_bucket_logging", "storage_data")).toMatchObject({
      target_bucket: "acme-logs",
      target_prefix: "s3-access-logs/example-bucket/",
    });
  });

  it("GIVEN no lifecycle rules WHEN synthesized THEN incomplete multipart uploads are still aborted after 7 days", () => {
    const rules = resourceOf(synthBucket(), "aws_s3_bucket_lifecycle_configuration", "storage_data").rule;
    expect(rules).toEqual([
      { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: [{ prefix: "" }], abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] },
    ]);
  });

  it("GIVEN the lifecycle WHEN synthesized THEN it waits for versioning (noncurrent rules need it)", () => {
    const lifecycle = resourceOf(synthBucket(), "aws_s3_bucket_lifecycle_configuration", "storage_data");
    expect(lifecycle.depends_on).toEqual(["aws_s3_bucket_versioning.storage_data"]);
  });

  it("GIVEN extra policy statements WHEN synthesized THEN they follow the TLS denials", () => {
    const json = synthBucket({
      policyStatements: [{ sid: "Extra", effect: "Deny", actions: ["s3:DeleteBucket"], resources: ["*"], principals: [{ type: "*", identifiers: ["*"] }] }],
    });
    const statements = json.data?.aws_iam_policy_document?.storage_data?.statement as { sid: string }[];
    expect(statements.map((s) => s.sid)).toEqual(["DenyInsecureTransport", "DenyOutdatedTls", "Extra"]);
  });

  it("GIVEN preventDestroy false WHEN synthesized THEN the bucket can be destroyed (force_destroy stays false)", () => {
    const bucket = resourceOf(synthBucket({ preventDestroy: false }), "aws_s3_bucket", "storage_data");
    expect(bucket.lifecycle).toEqual({ prevent_destroy: false });
    expect(bucket.force_destroy).toBe(false);
  });
});
