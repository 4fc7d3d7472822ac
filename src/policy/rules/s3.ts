/**
 * S3 bucket rules. Provider v5 configures a bucket through separate resources (`aws_s3_bucket_versioning`, ...) that
 * point at it with `bucket = aws_s3_bucket.x.id`; each rule finds those for the bucket (by reference, or by the
 * literal bucket name), and also accepts the deprecated inline blocks on `aws_s3_bucket`.
 * `SecureBucket` (src/secure-bucket.ts) satisfies every rule here.
 */
import { resolvePolicyValue, type Statement } from "../iam-documents";
import { COMPLIANT, nonCompliant, type PolicyContext, type PolicyElement, type PolicyRule } from "../types";
import { block, blocks, isExpression, isTrue, refersTo, show } from "../values";

const SECURE_BUCKET = "create the bucket with SecureBucket (src/secure-bucket.ts)";

/** The configuration resources of `type` that target this bucket. */
export function bucketConfigs(bucket: PolicyElement, context: PolicyContext, type: string): PolicyElement[] {
  const name = bucket.config.bucket;
  const literalName = typeof name === "string" && !isExpression(name) ? name : undefined;
  return context
    .ofType(type)
    .filter((config) => refersTo(config.config.bucket, bucket.address) || (literalName !== undefined && config.config.bucket === literalName));
}

const SSE_ALGORITHMS = new Set(["AES256", "aws:kms", "aws:kms:dsse"]);

function encryptionAlgorithms(config: PolicyElement["config"]): unknown[] {
  return blocks(config, "rule").map((rule) => block(rule.body, "apply_server_side_encryption_by_default")?.sse_algorithm);
}

export const S3_ENCRYPTION: PolicyRule = {
  id: "GTI-S3-001",
  pack: "security",
  appliesTo: ["aws_s3_bucket"],
  what: "Default encryption is configured (SSE-S3 or SSE-KMS).",
  why: "Pins the encryption of every new object in code, reviewable, and names the KMS key when there is one, instead of relying on the account's defaults.",
  fix: "Add an aws_s3_bucket_server_side_encryption_configuration for the bucket (SecureBucket does).",
  check(bucket, context) {
    const inline = block(bucket.config, "server_side_encryption_configuration");
    if (inline && encryptionAlgorithms(inline).some((a) => typeof a === "string" && SSE_ALGORITHMS.has(a))) return COMPLIANT;
    const configs = bucketConfigs(bucket, context, "aws_s3_bucket_server_side_encryption_configuration");
    if (configs.length === 0) {
      return nonCompliant(
        "no aws_s3_bucket_server_side_encryption_configuration targets this bucket",
        `${SECURE_BUCKET}, or add an aws_s3_bucket_server_side_encryption_configuration with sse_algorithm "AES256" or "aws:kms"`,
      );
    }
    const algorithms = configs.flatMap((c) => encryptionAlgorithms(c.config));
    if (algorithms.some((a) => typeof a === "string" && SSE_ALGORITHMS.has(a))) return COMPLIANT;
    return nonCompliant(
      `${configs.map((c) => c.address).join(", ")} sets no known sse_algorithm (found ${show(algorithms)})`,
      `set rule.apply_server_side_encryption_by_default.sse_algorithm to "AES256" or "aws:kms" (a literal)`,
    );
  },
};

export const S3_VERSIONING: PolicyRule = {
  id: "GTI-S3-002",
  pack: "security",
  appliesTo: ["aws_s3_bucket"],
  what: "Versioning is enabled.",
  why: "An overwritten or deleted object (training data, a checkpoint, Terraform state) can be restored from its previous version.",
  fix: 'Add an aws_s3_bucket_versioning with status "Enabled" (SecureBucket does).',
  check(bucket, context) {
    if (isTrue(block(bucket.config, "versioning")?.enabled)) return COMPLIANT;
    const configs = bucketConfigs(bucket, context, "aws_s3_bucket_versioning");
    const statuses = configs.map((c) => block(c.config, "versioning_configuration")?.status);
    if (statuses.includes("Enabled")) return COMPLIANT;
    return nonCompliant(
      configs.length === 0
        ? "no aws_s3_bucket_versioning targets this bucket"
        : `${configs.map((c) => c.address).join(", ")} has status ${statuses.map(show).join(", ")}, not "Enabled"`,
      `${SECURE_BUCKET}, or add an aws_s3_bucket_versioning with versioning_configuration { status = "Enabled" }`,
    );
  },
};

const PUBLIC_ACCESS_BLOCKS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

export const S3_PUBLIC_ACCESS_BLOCK: PolicyRule = {
  id: "GTI-S3-003",
  pack: "security",
  appliesTo: ["aws_s3_bucket"],
  what: "All four public access blocks are on (for the bucket, or for the whole account).",
  why: "No ACL or bucket policy, present or future, can make training data, outputs or state public.",
  fix: "Add an aws_s3_bucket_public_access_block with all four settings true (SecureBucket does).",
  check(bucket, context) {
    const candidates = [
      ...bucketConfigs(bucket, context, "aws_s3_bucket_public_access_block"),
      ...context.ofType("aws_s3_account_public_access_block"),
    ];
    let best: { address: string; missing: string[] } | undefined;
    for (const candidate of candidates) {
      const missing = PUBLIC_ACCESS_BLOCKS.filter((key) => !isTrue(candidate.config[key]));
      if (missing.length === 0) return COMPLIANT;
      if (!best || missing.length < best.missing.length) best = { address: candidate.address, missing };
    }
    return nonCompliant(
      best ? `${best.address} leaves ${best.missing.join(", ")} off` : "no aws_s3_bucket_public_access_block targets this bucket",
      best
        ? `set ${best.missing.map((key) => `${key} = true`).join(", ")}`
        : `${SECURE_BUCKET}, or add an aws_s3_bucket_public_access_block with all four settings true`,
    );
  },
};

/** True for a statement denying every S3 request made without TLS, on the bucket and its objects. */
function deniesInsecureTransport(statement: Statement, bucket: PolicyElement): boolean {
  if (statement.effect !== "Deny") return false;
  const everyone = statement.principals.some(
    (p) => (p.type === "*" || p.type === "AWS") && p.identifiers.includes("*"),
  );
  const allS3 = statement.actions.some((a) => a === "s3:*" || a === "*");
  const condition = statement.conditions.some(
    (c) => (c.test === "Bool" || c.test === "BoolIfExists") && c.variable === "aws:SecureTransport" && c.values.includes("false"),
  );
  return everyone && allS3 && condition && coversBucketAndObjects(statement.resources, bucket);
}

function coversBucketAndObjects(resources: readonly string[], bucket: PolicyElement): boolean {
  if (resources.includes("*")) return true;
  const name = typeof bucket.config.bucket === "string" ? bucket.config.bucket : undefined;
  const isBucket = (r: string) => refersTo(r, bucket.address) || (name !== undefined && r === `arn:aws:s3:::${name}`);
  return resources.some((r) => isBucket(r) && !r.endsWith("/*")) && resources.some((r) => isBucket(r) && r.endsWith("/*"));
}

export const S3_TLS_ONLY: PolicyRule = {
  id: "GTI-S3-004",
  pack: "security",
  appliesTo: ["aws_s3_bucket"],
  what: "The bucket policy denies every request without TLS (aws:SecureTransport = false), on the bucket and its objects.",
  why: "Data and credentials never cross the network in clear text, whatever client or SDK setting is used.",
  fix: 'Add a Deny statement for principal "*", action "s3:*", the bucket ARN and ARN/*, condition Bool aws:SecureTransport = "false" (SecureBucket does).',
  check(bucket, context) {
    const policies = bucketConfigs(bucket, context, "aws_s3_bucket_policy");
    const carriers = [...policies, ...(typeof bucket.config.policy === "string" ? [bucket] : [])];
    const statements: Statement[] = [];
    const unknown: string[] = [];
    for (const carrier of carriers) {
      const document = resolvePolicyValue(carrier.config.policy, context, `${carrier.address}.policy`);
      statements.push(...document.statements);
      unknown.push(...document.unknown);
    }
    if (statements.some((s) => deniesInsecureTransport(s, bucket))) return COMPLIANT;
    const where =
      carriers.length === 0
        ? "no aws_s3_bucket_policy targets this bucket"
        : `the policy of ${carriers.map((c) => c.address).join(", ")} has no statement denying requests without TLS` +
          (unknown.length ? ` (parts known only at apply time: ${unknown.join("; ")})` : "");
    return nonCompliant(
      where,
      `${SECURE_BUCKET}, or add a Deny statement: principal "*", action "s3:*", resources the bucket ARN and ARN/*, condition Bool aws:SecureTransport = "false"`,
    );
  },
};

export const S3_LIFECYCLE: PolicyRule = {
  id: "GTI-S3-005",
  pack: "cost",
  appliesTo: ["aws_s3_bucket"],
  what: "A lifecycle configuration with at least one enabled rule.",
  why: "Old versions, incomplete multipart uploads and cold data otherwise bill at full price forever.",
  fix: "Add an aws_s3_bucket_lifecycle_configuration with an enabled rule (SecureBucket's default aborts incomplete uploads).",
  check(bucket, context) {
    if (blocks(bucket.config, "lifecycle_rule").some((r) => isTrue(r.body.enabled))) return COMPLIANT;
    const configs = bucketConfigs(bucket, context, "aws_s3_bucket_lifecycle_configuration");
    if (configs.some((c) => blocks(c.config, "rule").some((r) => r.body.status === "Enabled" || isExpression(r.body.status)))) {
      return COMPLIANT;
    }
    return nonCompliant(
      configs.length === 0
        ? "no aws_s3_bucket_lifecycle_configuration targets this bucket"
        : `${configs.map((c) => c.address).join(", ")} has no rule with status "Enabled"`,
      "create the bucket with SecureBucket (src/secure-bucket.ts; its lifecycleRules prop), or add an aws_s3_bucket_lifecycle_configuration with at least one enabled rule",
    );
  },
};

export const S3_NO_FORCE_DESTROY: PolicyRule = {
  id: "GTI-S3-006",
  pack: "security",
  appliesTo: ["aws_s3_bucket"],
  what: "force_destroy is false (the data, outputs and state buckets above all; any bucket unless suppressed).",
  why: "With force_destroy, `terraform destroy` or a replacement silently deletes every object and version in the bucket.",
  fix: "Remove force_destroy or set it to false; empty a bucket by hand when you really mean to delete it.",
  check(bucket) {
    const value = bucket.config.force_destroy;
    if (value === undefined || value === null || value === false || value === "false") return COMPLIANT;
    return nonCompliant(
      `force_destroy = ${show(value)}${isExpression(value) ? " (computed at apply time, so it may be true)" : ""}`,
      "set force_destroy = false (SecureBucket does); for a scratch bucket that may lose its objects on destroy, suppress GTI-S3-006 with the reason",
    );
  },
};

export const S3_RULES: readonly PolicyRule[] = [
  S3_ENCRYPTION,
  S3_VERSIONING,
  S3_PUBLIC_ACCESS_BLOCK,
  S3_TLS_ONLY,
  S3_LIFECYCLE,
  S3_NO_FORCE_DESTROY,
];
