import { TerraformCount, TerraformOutput, type TerraformStack } from "cdktf";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINTS_DIR,
  DEFAULT_STORAGE_LIFECYCLE,
  FAILURE_MARKER,
  INTERRUPTED_MARKER,
  LOGS_DIR,
  OUTPUTS_DIR,
  RUNS_PREFIX,
  RUN_MARKERS,
  SUCCESS_MARKER,
  TrainingStorage,
  type TrainingStorageProps,
  markerKey,
  runPrefix,
} from "../../../modules/training-storage";
import { GtiError } from "../../../src/errors";
import { applyPolicy, policyReportOf } from "../../../src/policy";
import { dataOf, resourceOf, resourcesOf } from "../../support/synth";
import { configWith } from "../../support/envs";
import { type Statement, outputsDeclaredUnder, statementsOf, synthModule, testRole } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";

const PREFIX = "acme-dev";
const ACCOUNT = "${data.aws_caller_identity.current.account_id}";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ALIAS = "arn:aws:kms:us-east-1:123456789012:alias/training";
const DATA_ARN = "${aws_s3_bucket.storage_data.arn}";
const OUTPUTS_ARN = "${aws_s3_bucket.storage_outputs.arn}";
const BUCKETS = ["storage_data", "storage_outputs"] as const;

function storage(props: Partial<TrainingStorageProps> = {}) {
  return synthModule((stack) => new TrainingStorage(stack, "Storage", { namePrefix: PREFIX, ...props }));
}

/** Storage plus a role (`aws_iam_role.compute_instance`) that receives grants. */
function granted(grant: (storage: TrainingStorage, stack: TerraformStack) => void, props: Partial<TrainingStorageProps> = {}) {
  return synthModule((stack) => {
    const built = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX, ...props });
    grant(built, stack);
    return built;
  });
}

function rulesOf(json: ReturnType<typeof storage>["json"], bucket: (typeof BUCKETS)[number]) {
  return resourceOf(json, "aws_s3_bucket_lifecycle_configuration", bucket).rule as Record<string, unknown>[];
}

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

describe("training-storage lifecycle", () => {
  const housekeeping = (noncurrentDays: number, abortDays: number) => [
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: [{ prefix: "" }],
      noncurrent_version_expiration: [{ noncurrent_days: noncurrentDays }],
      expiration: [{ expired_object_delete_marker: true }],
    },
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: [{ prefix: "" }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: abortDays }],
    },
  ];

  it("GIVEN the defaults WHEN synthesized THEN they are the seed's figures", () => {
    expect(DEFAULT_STORAGE_LIFECYCLE).toEqual({
      dataGlacierAfterDays: 90,
      outputsIntelligentTieringAfterDays: 30,
      outputsGlacierAfterDays: 180,
      noncurrentVersionExpirationDays: 30,
      abortIncompleteMultipartUploadDays: 7,
    });
  });

  it("GIVEN the defaults WHEN synthesized THEN data objects go to Glacier after 90 days, old versions expire after 30, uploads abort after 7", () => {
    const { json } = storage();
    expect(rulesOf(json, "storage_data")).toEqual([
      { id: "data-to-glacier", status: "Enabled", filter: [{ prefix: "" }], transition: [{ days: 90, storage_class: "GLACIER" }] },
      ...housekeeping(30, 7),
    ]);
  });

  it("GIVEN the defaults WHEN synthesized THEN outputs go to Intelligent-Tiering after 30 days and Glacier after 180", () => {
    const { json } = storage();
    expect(rulesOf(json, "storage_outputs")).toEqual([
      {
        id: "outputs-to-intelligent-tiering-then-glacier",
        status: "Enabled",
        filter: [{ prefix: "" }],
        transition: [
          { days: 30, storage_class: "INTELLIGENT_TIERING" },
          { days: 180, storage_class: "GLACIER" },
        ],
      },
      ...housekeeping(30, 7),
    ]);
  });

  it("GIVEN dataGlacierAfterDays WHEN synthesized THEN the data transition uses it", () => {
    const { json } = storage({ lifecycle: { dataGlacierAfterDays: 45 } });
    expect(rulesOf(json, "storage_data")[0]?.transition).toEqual([{ days: 45, storage_class: "GLACIER" }]);
  });

  it("GIVEN outputsIntelligentTieringAfterDays WHEN synthesized THEN the outputs' first transition uses it", () => {
    const { json } = storage({ lifecycle: { outputsIntelligentTieringAfterDays: 0 } });
    expect(rulesOf(json, "storage_outputs")[0]?.transition).toContainEqual({ days: 0, storage_class: "INTELLIGENT_TIERING" });
  });

  it("GIVEN outputsGlacierAfterDays WHEN synthesized THEN the outputs' Glacier transition uses it", () => {
    const { json } = storage({ lifecycle: { outputsGlacierAfterDays: 365 } });
    expect(rulesOf(json, "storage_outputs")[0]?.transition).toContainEqual({ days: 365, storage_class: "GLACIER" });
  });

  it.each(BUCKETS)("GIVEN noncurrentVersionExpirationDays WHEN synthesized THEN %s expires old versions after it", (bucket) => {
    const { json } = storage({ lifecycle: { noncurrentVersionExpirationDays: 14 } });
    expect(rulesOf(json, bucket)).toContainEqual(housekeeping(14, 7)[0]);
  });

  it.each(BUCKETS)("GIVEN abortIncompleteMultipartUploadDays WHEN synthesized THEN %s aborts uploads after it", (bucket) => {
    const { json } = storage({ lifecycle: { abortIncompleteMultipartUploadDays: 2 } });
    expect(rulesOf(json, bucket)).toContainEqual(housekeeping(30, 2)[1]);
  });

  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN its lifecycle waits for versioning", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket_lifecycle_configuration", bucket).depends_on).toEqual([`aws_s3_bucket_versioning.${bucket}`]);
  });

  it("GIVEN Glacier no later than Intelligent-Tiering WHEN constructed THEN a GtiError names both values", () => {
    expect(() => storage({ lifecycle: { outputsIntelligentTieringAfterDays: 60, outputsGlacierAfterDays: 60 } })).toThrow(
      /outputsGlacierAfterDays = 60 must be later than outputsIntelligentTieringAfterDays = 60/,
    );
  });

  it("GIVEN a fractional number of days WHEN constructed THEN a GtiError says it must be whole", () => {
    expect(() => storage({ lifecycle: { noncurrentVersionExpirationDays: 1.5 } })).toThrow(
      /noncurrentVersionExpirationDays = 1.5 must be a whole number of days >= 1/,
    );
  });
});

describe("training-storage outputs", () => {
  it("GIVEN the module WHEN synthesized THEN it outputs both bucket names and ARNs, each described", () => {
    const { json } = storage();
    expect(json.output).toEqual({
      training_bucket: { value: "${aws_s3_bucket.storage_data.bucket}", description: expect.stringMatching(/training data/) },
      outputs_bucket: { value: "${aws_s3_bucket.storage_outputs.bucket}", description: expect.stringMatching(/runs\/RUN_ID\//) },
      training_bucket_arn: { value: DATA_ARN, description: "ARN of the training data bucket." },
      outputs_bucket_arn: { value: OUTPUTS_ARN, description: "ARN of the outputs (training runs) bucket." },
    });
  });

  it("GIVEN the module WHEN built THEN it offers its outputs and declares none itself (the stack does)", () => {
    const { built, json } = synthModule((stack) => new TrainingStorage(stack, "Storage", { namePrefix: PREFIX }), { outputs: false });
    expect(built.outputs.map((o) => o.name)).toEqual(["training_bucket", "outputs_bucket", "training_bucket_arn", "outputs_bucket_arn"]);
    expect(outputsDeclaredUnder(built)).toEqual([]);
    expect(json.output).toBeUndefined();
  });

  it("GIVEN the module WHEN its URIs are read THEN they point at the data bucket and the runs prefix", () => {
    const { json } = synthModule((stack) => {
      const built = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX });
      new TerraformOutput(stack, "data_uri", { value: built.dataUri });
      new TerraformOutput(stack, "runs_uri", { value: built.runsUri });
    });
    expect(json.output?.data_uri?.value).toBe("s3://${aws_s3_bucket.storage_data.bucket}/");
    expect(json.output?.runs_uri?.value).toBe("s3://${aws_s3_bucket.storage_outputs.bucket}/runs/");
  });
});

describe("the outputs bucket layout contract", () => {
  it("GIVEN the layout constants WHEN read THEN they match the documented runs/<run-id>/ tree", () => {
    expect([RUNS_PREFIX, CHECKPOINTS_DIR, LOGS_DIR, OUTPUTS_DIR]).toEqual(["runs/", "checkpoints/", "logs/", "outputs/"]);
    expect(RUN_MARKERS).toEqual([SUCCESS_MARKER, FAILURE_MARKER, INTERRUPTED_MARKER]);
    expect(RUN_MARKERS).toEqual(["SUCCESS", "FAILURE", "INTERRUPTED"]);
  });

  it("GIVEN a run id WHEN its keys are built THEN they sit under runs/<run-id>/", () => {
    expect(runPrefix("2025-01-02T03-04-05_llama")).toBe("runs/2025-01-02T03-04-05_llama/");
    expect(markerKey("r1", "INTERRUPTED")).toBe("runs/r1/INTERRUPTED");
  });

  it.each(["", "a/b", "..", "run id"])("GIVEN the run id %j WHEN its prefix is built THEN a GtiError rejects it", (runId) => {
    expect(() => runPrefix(runId)).toThrow(GtiError);
  });
});

describe("training-storage grants", () => {
  it("GIVEN grantReadData WHEN synthesized THEN the role may list the data bucket and get its objects, nothing else", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)));
    expect(statementsOf(json, "compute_instance_read_data")).toEqual<Statement[]>([
      { sid: "ListDataBucket", effect: "Allow", actions: ["s3:ListBucket"], resources: [DATA_ARN] },
      { sid: "ReadDataObjects", effect: "Allow", actions: ["s3:GetObject"], resources: [`${DATA_ARN}/*`] },
    ]);
  });

  it("GIVEN grantReadData WHEN synthesized THEN an inline policy named read-data is put on the role", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)));
    expect(resourceOf(json, "aws_iam_role_policy", "compute_instance_read_data")).toMatchObject({
      name: "read-data",
      role: "${aws_iam_role.compute_instance.name}",
      policy: "${data.aws_iam_policy_document.compute_instance_read_data.json}",
    });
  });

  it("GIVEN SSE-KMS and grantReadData WHEN synthesized THEN the role may decrypt with that key only", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)), { kmsKeyArn: KEY });
    expect(statementsOf(json, "compute_instance_read_data")).toContainEqual({
      sid: "DecryptWithStorageKey",
      effect: "Allow",
      actions: ["kms:Decrypt"],
      resources: [KEY],
    });
  });

  it("GIVEN a KMS alias and grantReadData WHEN synthesized THEN the KMS statement names the resolved key, not the alias", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)), { kmsKeyArn: ALIAS });
    const kms = statementsOf(json, "compute_instance_read_data").find((st) => st.sid === "DecryptWithStorageKey");
    expect(kms?.resources).toEqual(["${data.aws_kms_key.storage.arn}"]);
  });

  it("GIVEN grantWriteRuns WHEN synthesized THEN the role may write, read and list under runs/ only, and delete INTERRUPTED markers only", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack)));
    expect(statementsOf(json, "compute_instance_write_runs")).toEqual<Statement[]>([
      {
        sid: "ListRuns",
        effect: "Allow",
        actions: ["s3:ListBucket"],
        resources: [OUTPUTS_ARN],
        condition: [{ test: "StringLike", variable: "s3:prefix", values: ["runs/", "runs/*"] }],
      },
      {
        sid: "WriteRunObjects",
        effect: "Allow",
        actions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        resources: [`${OUTPUTS_ARN}/runs/*`],
      },
      { sid: "ReadRunObjects", effect: "Allow", actions: ["s3:GetObject"], resources: [`${OUTPUTS_ARN}/runs/*`] },
      { sid: "DeleteInterruptedMarkers", effect: "Allow", actions: ["s3:DeleteObject"], resources: [`${OUTPUTS_ARN}/runs/*/INTERRUPTED`] },
    ]);
  });

  it("GIVEN grantWriteRuns for named runs WHEN synthesized THEN writes, reads, lists and the INTERRUPTED delete stay under those runs' prefixes", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack), { runIds: ["${local.compute_run_id}", "acme-fleet-*"] }));
    const st = statementsOf(json, "compute_instance_write_runs");
    expect(st.find((x) => x.sid === "ListRuns")?.condition).toEqual([
      {
        test: "StringLike",
        variable: "s3:prefix",
        values: ["runs/${local.compute_run_id}/", "runs/${local.compute_run_id}/*", "runs/acme-fleet-*", "runs/acme-fleet-*/", "runs/acme-fleet-*/*"],
      },
    ]);
    expect(st.find((x) => x.sid === "WriteRunObjects")?.resources).toEqual([`${OUTPUTS_ARN}/runs/\${local.compute_run_id}/*`, `${OUTPUTS_ARN}/runs/acme-fleet-*/*`]);
    expect(st.find((x) => x.sid === "DeleteInterruptedMarkers")?.resources).toEqual([
      `${OUTPUTS_ARN}/runs/\${local.compute_run_id}/INTERRUPTED`,
      `${OUTPUTS_ARN}/runs/acme-fleet-*/INTERRUPTED`,
    ]);
  });

  it("GIVEN grantWriteOwnRun WHEN synthesized THEN a session writes and lists only runs/<its RunId tag>/ and deletes nothing", () => {
    const { json } = granted((s, stack) => s.grantWriteOwnRun(testRole(stack, ["compute", "container"])));
    const st = statementsOf(json, "compute_container_write_own_run");
    expect(st.flatMap((x) => x.resources ?? [])).toEqual([OUTPUTS_ARN, `${OUTPUTS_ARN}/runs/&{aws:PrincipalTag/RunId}/*`, `${OUTPUTS_ARN}/runs/&{aws:PrincipalTag/RunId}/*`]);
    expect(st.flatMap((x) => x.actions ?? [])).not.toContain("s3:DeleteObject");
    expect(st[0]?.condition?.[0]?.values).toEqual(["runs/&{aws:PrincipalTag/RunId}/", "runs/&{aws:PrincipalTag/RunId}/*"]);
  });

  it("GIVEN grantWriteRuns WHEN synthesized THEN nothing touches the data bucket", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack)));
    const resources = statementsOf(json, "compute_instance_write_runs").flatMap((st) => st.resources ?? []);
    expect(resources.filter((r) => r.includes("storage_data"))).toEqual([]);
  });

  it("GIVEN SSE-KMS and grantWriteRuns WHEN synthesized THEN the role may generate data keys and decrypt with that key only", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack)), { kmsKeyArn: KEY });
    expect(statementsOf(json, "compute_instance_write_runs")).toContainEqual({
      sid: "EncryptWithStorageKey",
      effect: "Allow",
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: [KEY],
    });
  });

  it("GIVEN grantReadRuns WHEN synthesized THEN the role may list and get under runs/ only", () => {
    const { json } = granted((s, stack) => s.grantReadRuns(testRole(stack, ["eval", "job"])));
    expect(statementsOf(json, "eval_job_read_runs")).toEqual<Statement[]>([
      {
        sid: "ListRuns",
        effect: "Allow",
        actions: ["s3:ListBucket"],
        resources: [OUTPUTS_ARN],
        condition: [{ test: "StringLike", variable: "s3:prefix", values: ["runs/", "runs/*"] }],
      },
      { sid: "ReadRunObjects", effect: "Allow", actions: ["s3:GetObject"], resources: [`${OUTPUTS_ARN}/runs/*`] },
    ]);
  });

  it("GIVEN any storage grant WHEN synthesized THEN no statement allows a * resource", () => {
    const { json } = granted((s, stack) => {
      const role = testRole(stack);
      s.grantReadData(role);
      s.grantWriteRuns(role);
      s.grantReadRuns(role);
    }, { kmsKeyArn: KEY });
    const names = ["compute_instance_read_data", "compute_instance_write_runs", "compute_instance_read_runs"];
    const resources = names.flatMap((name) => statementsOf(json, name).flatMap((st) => st.resources ?? []));
    expect(resources).not.toContain("*");
  });

  it("GIVEN the same grant twice WHEN synthesized THEN it is one policy (the second call returns the first grant)", () => {
    const { built: grants, json } = synthModule((stack) => {
      const s = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX });
      const role = testRole(stack);
      return [s.grantReadData(role), s.grantReadData(role)];
    });
    expect(grants[0]).toBe(grants[1]);
    expect(Object.keys(resourcesOf(json, "aws_iam_role_policy"))).toEqual(["compute_instance_read_data"]);
  });

  it("GIVEN a counted role WHEN granted THEN a GtiError says to count the instance instead", () => {
    expect(() =>
      synthModule((stack) => {
        const role = testRole(stack);
        role.count = TerraformCount.of(1);
        new TrainingStorage(stack, "Storage", { namePrefix: PREFIX }).grantReadData(role);
      }),
    ).toThrow(/role uses count.*create the role unconditionally/);
  });
});

describe("training-storage in the environment stacks", () => {
  it("GIVEN an env WHEN synthesized THEN the buckets are named <project>-<env>-<purpose>-<account id>", () => {
    const { json } = synthEnvironment(configWith({}));
    expect(resourceOf(json, "aws_s3_bucket", "storage_data").bucket).toBe(`gpu-training-infra-training-data-${ACCOUNT}`);
    expect(resourceOf(json, "aws_s3_bucket", "storage_outputs").bucket).toBe(`gpu-training-infra-training-outputs-${ACCOUNT}`);
  });

  it("GIVEN storage.dataBucketName WHEN synthesized THEN the data bucket uses it", () => {
    const { json } = synthEnvironment(configWith({ storage: { dataBucketName: "acme-training-inputs" } }));
    expect(resourceOf(json, "aws_s3_bucket", "storage_data").bucket).toBe("acme-training-inputs");
  });

  it("GIVEN storage.kmsKeyArn WHEN synthesized THEN both buckets use SSE-KMS with it", () => {
    const { json } = synthEnvironment(configWith({ storage: { kmsKeyArn: KEY } }));
    for (const bucket of BUCKETS) {
      const rule = resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", bucket).rule as Record<string, unknown>[];
      expect(rule[0]).toMatchObject({ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: KEY } });
    }
  });

  it("GIVEN storage.accessLogging WHEN synthesized THEN both buckets log to it", () => {
    const { json } = synthEnvironment(configWith({ storage: { accessLogging: { bucket: "acme-s3-logs" } } }));
    expect(Object.keys(resourcesOf(json, "aws_s3_bucket_logging")).sort()).toEqual([...BUCKETS]);
  });

  it("GIVEN storage.lifecycle WHEN synthesized THEN the configured days reach the rules", () => {
    const { json } = synthEnvironment(
      configWith({ storage: { lifecycle: { dataGlacierAfterDays: 120, outputsIntelligentTieringAfterDays: 7, outputsGlacierAfterDays: 60 } } }),
    );
    expect(rulesOf(json, "storage_data")[0]?.transition).toEqual([{ days: 120, storage_class: "GLACIER" }]);
    expect(rulesOf(json, "storage_outputs")[0]?.transition).toEqual([
      { days: 7, storage_class: "INTELLIGENT_TIERING" },
      { days: 60, storage_class: "GLACIER" },
    ]);
  });
});

describe("training-storage and the policy packs", () => {
  it("GIVEN every option and every grant WHEN synthesized with the policy packs THEN no rule is violated", () => {
    const { stack } = synthModule((stack) => {
      applyPolicy(stack);
      const s = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX, kmsKeyArn: ALIAS, accessLogging: { bucket: "acme-logs" } });
      const role = testRole(stack);
      s.grantReadData(role);
      s.grantWriteRuns(role);
      s.grantReadRuns(role);
    });
    expect(policyReportOf(stack)?.violations).toEqual([]);
  });
});
