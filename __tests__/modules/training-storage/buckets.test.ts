/**
 * Tests of training-storage bucket names; training-storage encryption; training-storage hardening; training-storage
 * access logging.
 */
import { describe, expect, it } from "vitest";
import { GtiError } from "../../../src/errors";
import { dataOf, resourceOf, resourcesOf } from "../../support/synth";
import { statementsOf } from "../../support/module-stack";
import { ACCOUNT, ALIAS, BUCKETS, KEY, PREFIX, storage } from "../../support/storage/synth-fixtures";

describe("training-storage bucket names", () => {
  it("GIVEN no data bucket name WHEN synthesized THEN it is <prefix>-data-<account id>", () => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket", "storage_data").bucket).toBe(`${PREFIX}-data-${ACCOUNT}`);
  });

  it("GIVEN no outputs bucket name WHEN synthesized THEN it is <prefix>-outputs-<account id>", () => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket", "storage_outputs").bucket).toBe(`${PREFIX}-outputs-${ACCOUNT}`);
  });

  it("GIVEN generated names WHEN synthesized THEN the account id comes from data.aws_caller_identity.current", () => {
    const { json } = storage();
    expect(dataOf(json, "aws_caller_identity", "current")).toBeDefined();
  });

  it("GIVEN both names overridden WHEN synthesized THEN the buckets use them and no caller identity is read", () => {
    const { json } = storage({ dataBucketName: "acme-inputs", outputsBucketName: "acme-runs" });
    expect(resourceOf(json, "aws_s3_bucket", "storage_data").bucket).toBe("acme-inputs");
    expect(resourceOf(json, "aws_s3_bucket", "storage_outputs").bucket).toBe("acme-runs");
    expect(json.data?.aws_caller_identity).toBeUndefined();
  });

  it("GIVEN an invalid bucket name WHEN constructed THEN a GtiError names the field, the value and the rule", () => {
    expect(() => storage({ outputsBucketName: "Acme_Runs" })).toThrow(GtiError);
    expect(() => storage({ outputsBucketName: "Acme_Runs" })).toThrow(/Invalid outputsBucketName "Acme_Runs".*only lowercase letters/);
  });

  it("GIVEN a name prefix S3 cannot use WHEN names are generated THEN a GtiError names the prefix", () => {
    expect(() => storage({ namePrefix: "Acme_Dev" })).toThrow(/Invalid namePrefix \(in a generated bucket name\)/);
  });

  it("GIVEN a name prefix too long for a generated name WHEN constructed THEN a GtiError says it exceeds 63 characters", () => {
    expect(() => storage({ namePrefix: "a".repeat(43) })).toThrow(/must be 3 to 63 characters long/);
  });
});

describe("training-storage encryption", () => {
  it.each(BUCKETS)("GIVEN no KMS key WHEN synthesized THEN %s uses SSE-S3 (AES256)", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", bucket).rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
  });

  it.each(BUCKETS)("GIVEN a KMS key WHEN synthesized THEN %s uses SSE-KMS with that key and an S3 Bucket Key", (bucket) => {
    const { json } = storage({ kmsKeyArn: KEY });
    expect(resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", bucket).rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: KEY }, bucket_key_enabled: true },
    ]);
  });

  it("GIVEN a KMS alias WHEN synthesized THEN it is resolved to its key through data.aws_kms_key.storage", () => {
    const { json } = storage({ kmsKeyArn: ALIAS });
    expect(dataOf(json, "aws_kms_key", "storage").key_id).toBe(ALIAS);
    const rule = resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", "storage_data").rule as Record<string, Record<string, unknown>>[];
    expect(rule[0]?.apply_server_side_encryption_by_default?.kms_master_key_id).toBe("${data.aws_kms_key.storage.arn}");
  });

  it("GIVEN a KMS key ARN (not an alias) WHEN synthesized THEN no key lookup is made", () => {
    const { json } = storage({ kmsKeyArn: KEY });
    expect(json.data?.aws_kms_key).toBeUndefined();
  });
});

describe("training-storage hardening", () => {
  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN versioning is enabled", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket_versioning", bucket).versioning_configuration).toEqual({ status: "Enabled" });
  });

  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN all four public access blocks are on", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket_public_access_block", bucket)).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });

  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN ACLs are off (BucketOwnerEnforced)", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket_ownership_controls", bucket).rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  });

  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN its policy denies requests without TLS or with TLS < 1.2", (bucket) => {
    const { json } = storage();
    const arn = `\${aws_s3_bucket.${bucket}.arn}`;
    const deny = { effect: "Deny", principals: [{ type: "*", identifiers: ["*"] }], actions: ["s3:*"], resources: [arn, `${arn}/*`] };
    expect(statementsOf(json, bucket)).toEqual([
      { sid: "DenyInsecureTransport", ...deny, condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }] },
      { sid: "DenyOutdatedTls", ...deny, condition: [{ test: "NumericLessThan", variable: "s3:TlsVersion", values: ["1.2"] }] },
    ]);
    expect(resourceOf(json, "aws_s3_bucket_policy", bucket).policy).toBe(`\${data.aws_iam_policy_document.${bucket}.json}`);
  });

  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN it is not force-destroyable and has prevent_destroy", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket", bucket)).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: true } });
  });
});

describe("training-storage access logging", () => {
  it("GIVEN no access logging WHEN synthesized THEN no bucket logs", () => {
    const { json } = storage();
    expect(resourcesOf(json, "aws_s3_bucket_logging")).toEqual({});
  });

  it.each([
    ["storage_data", `s3-access-logs/${PREFIX}-data-${ACCOUNT}/`],
    ["storage_outputs", `s3-access-logs/${PREFIX}-outputs-${ACCOUNT}/`],
  ])("GIVEN access logging WHEN synthesized THEN %s logs to the log bucket under <prefix><bucket name>/", (bucket, prefix) => {
    const { json } = storage({ accessLogging: { bucket: "acme-logs" } });
    expect(resourceOf(json, "aws_s3_bucket_logging", bucket)).toMatchObject({ target_bucket: "acme-logs", target_prefix: prefix });
  });

  it("GIVEN access logging with a prefix WHEN synthesized THEN the prefix is used", () => {
    const { json } = storage({ dataBucketName: "acme-inputs", accessLogging: { bucket: "acme-logs", prefix: "logs/s3/" } });
    expect(resourceOf(json, "aws_s3_bucket_logging", "storage_data").target_prefix).toBe("logs/s3/acme-inputs/");
  });
});
