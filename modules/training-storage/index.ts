/**
 * training-storage: the S3 buckets of a training environment.
 *
 * - the **data bucket** (training inputs; read-only for training instances),
 * - the **outputs bucket** (runs: checkpoints, logs, final artifacts and one marker per run; see `layout.ts`),
 *
 * both {@link SecureBucket}s (encryption, versioning, public access blocked, ACLs off, TLS-only policy,
 * `prevent_destroy`, optional access logging), with lifecycle rules that move old objects to cheaper storage, and
 * least-privilege grants for the roles of other modules (`grantReadData`, `grantWriteRuns`, `grantReadRuns`).
 */
import { DataAwsKmsKey } from "@cdktf/provider-aws/lib/data-aws-kms-key";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { Token } from "cdktf";
import { Construct } from "constructs";
import { AwsContext } from "../../src/aws-context";
import { bucketNameProblems } from "../../src/rules";
import { GtiError } from "../../src/errors";
import { type Grant, KMS_DECRYPT_ACTIONS, KMS_ENCRYPT_ACTIONS, grantToRole } from "../../src/iam";
import { address } from "../../src/naming";
import type { OutputSpec } from "../../src/outputs";
import { SecureBucket } from "../../src/secure-bucket";
import { INTERRUPTED_MARKER, RUNS_PREFIX } from "./layout";
import { DEFAULT_STORAGE_LIFECYCLE, type TrainingStorageLifecycle, definedOnly, housekeepingRules, validateLifecycle } from "./lifecycle";
import { BUCKET_LIST_ACTIONS, MARKER_DELETE_ACTIONS, OBJECT_READ_ACTIONS, OBJECT_WRITE_ACTIONS } from "./perms";

export * from "./layout";
export * from "./lifecycle";
export * from "./perms";

export interface TrainingStorageProps {
  /**
   * Start of the generated bucket names, usually `<project>-<env>` (e.g. `gpu-training-infra-dev`); the account id
   * ends them, which makes them globally unique without hand-picking.
   */
  readonly namePrefix: string;
  /** Name of the data bucket. @default `<namePrefix>-data-<account id>` */
  readonly dataBucketName?: string;
  /** Name of the outputs bucket. @default `<namePrefix>-outputs-<account id>` */
  readonly outputsBucketName?: string;
  /**
   * KMS key (or alias) ARN: both buckets use SSE-KMS with S3 Bucket Keys, and every grant includes the KMS actions
   * it needs on this key only. An alias is resolved to its key (`data.aws_kms_key.storage`), since IAM matches key
   * ARNs, not aliases. @default SSE-S3 (AES256): no key to manage, no KMS permissions needed
   */
  readonly kmsKeyArn?: string;
  /**
   * Server access logging of both buckets into an existing bucket (which must allow the S3 logging service to write;
   * see the README). @default off
   */
  readonly accessLogging?: {
    /** Name of the bucket receiving the logs. */
    readonly bucket: string;
    /** Key prefix of the log objects; the source bucket's name and "/" are appended. @default "s3-access-logs/" */
    readonly prefix?: string;
  };
  /** Lifecycle rules' settings. @default the seed's values ({@link DEFAULT_STORAGE_LIFECYCLE}) */
  readonly lifecycle?: TrainingStorageLifecycle;
}

/** Which runs a {@link TrainingStorage.grantWriteRuns} grant covers, and its name. */
export interface RunGrantOptions {
  /** The grant's name (the policy's address suffix). @default "write_runs" */
  readonly name?: string;
  /** Run ids (literal, Terraform references or `*` patterns) the role may write under `runs/`. @default ["*"]: every run */
  readonly runIds?: readonly string[];
}

/**
 * The data and outputs buckets of one environment, with grants for the roles that use them.
 *
 * @example
 * const storage = new TrainingStorage(this, "Storage", { namePrefix: "gpu-training-infra-dev" });
 * storage.grantReadData(instanceRole);   // aws_iam_role_policy.<role>_read_data
 * storage.grantWriteRuns(instanceRole);  // aws_iam_role_policy.<role>_write_runs
 * storage.outputsBucket.name;            // "${aws_s3_bucket.storage_outputs.bucket}"
 */
export class TrainingStorage extends Construct {
  /** The Terraform outputs this module offers; the stack declares them (`addOutputs`, src/outputs.ts). */
  public readonly outputs: readonly OutputSpec[];
  /** The data (training inputs) bucket: `aws_s3_bucket.storage_data`. */
  public readonly dataBucket: SecureBucket;
  /** The outputs (runs) bucket: `aws_s3_bucket.storage_outputs`. */
  public readonly outputsBucket: SecureBucket;
  /** ARN of the KMS key both buckets encrypt with (an alias resolved to its key); undefined with SSE-S3. */
  public readonly kmsKeyArn: string | undefined;
  /** The lifecycle settings in force (defaults filled in). */
  public readonly lifecycle: Required<TrainingStorageLifecycle>;

  public constructor(scope: Construct, id: string, props: TrainingStorageProps) {
    super(scope, id);
    this.lifecycle = { ...DEFAULT_STORAGE_LIFECYCLE, ...definedOnly(props.lifecycle ?? {}) };
    validateLifecycle(this.node.path, this.lifecycle);

    const accountId = (): string => AwsContext.of(this).accountId;
    const dataBucketName = props.dataBucketName ?? `${props.namePrefix}-data-${accountId()}`;
    const outputsBucketName = props.outputsBucketName ?? `${props.namePrefix}-outputs-${accountId()}`;
    if ((!props.dataBucketName || !props.outputsBucketName) && !Token.isUnresolved(props.namePrefix)) {
      // The generated names end with "-outputs-" and a 12-digit account id: check the literal part here.
      validateBucketName(this.node.path, "namePrefix (in a generated bucket name)", `${props.namePrefix}-outputs-123456789012`);
    }
    validateBucketName(this.node.path, "dataBucketName", dataBucketName);
    validateBucketName(this.node.path, "outputsBucketName", outputsBucketName);

    this.kmsKeyArn =
      props.kmsKeyArn && props.kmsKeyArn.includes(":alias/")
        ? address(new DataAwsKmsKey(this, "KmsKey", { keyId: props.kmsKeyArn }), "storage").arn
        : props.kmsKeyArn;

    const accessLogging = props.accessLogging
      ? { bucket: props.accessLogging.bucket, prefix: props.accessLogging.prefix ?? "s3-access-logs/" }
      : undefined;
    const { noncurrentVersionExpirationDays, abortIncompleteMultipartUploadDays } = this.lifecycle;
    const housekeeping = housekeepingRules(noncurrentVersionExpirationDays, abortIncompleteMultipartUploadDays);

    this.dataBucket = new SecureBucket(this, "DataBucket", {
      bucketName: dataBucketName,
      address: ["storage", "data"],
      kmsKeyArn: this.kmsKeyArn,
      accessLogging,
      lifecycleRules: [
        {
          id: "data-to-glacier",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: [{ days: this.lifecycle.dataGlacierAfterDays, storageClass: "GLACIER" }],
        },
        ...housekeeping,
      ],
    });

    this.outputsBucket = new SecureBucket(this, "OutputsBucket", {
      bucketName: outputsBucketName,
      address: ["storage", "outputs"],
      kmsKeyArn: this.kmsKeyArn,
      accessLogging,
      lifecycleRules: [
        {
          id: "outputs-to-intelligent-tiering-then-glacier",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: [
            { days: this.lifecycle.outputsIntelligentTieringAfterDays, storageClass: "INTELLIGENT_TIERING" },
            { days: this.lifecycle.outputsGlacierAfterDays, storageClass: "GLACIER" },
          ],
        },
        ...housekeeping,
      ],
    });

    this.outputs = this.describeOutputs();
  }

  /** `s3://<data bucket>/` (a token). */
  public get dataUri(): string {
    return `s3://${this.dataBucket.name}/`;
  }

  /** `s3://<outputs bucket>/runs/` (a token): where every run lives. */
  public get runsUri(): string {
    return `s3://${this.outputsBucket.name}/${RUNS_PREFIX}`;
  }

  /**
   * Read-only access to the whole data bucket: list it and get objects (plus `kms:Decrypt` on the key with SSE-KMS).
   * Address: `<role>_read_data`.
   */
  public grantReadData(role: IamRole): Grant {
    return grantToRole(this, role, "read_data", [
      { sid: "ListDataBucket", effect: "Allow", actions: [...BUCKET_LIST_ACTIONS], resources: [this.dataBucket.arn] },
      { sid: "ReadDataObjects", effect: "Allow", actions: [...OBJECT_READ_ACTIONS], resources: [`${this.dataBucket.arn}/*`] },
      ...this.kmsStatements("DecryptWithStorageKey", KMS_DECRYPT_ACTIONS),
    ]);
  }

  /**
   * Write access to runs, for training instances: put objects (multipart included) under `runs/<run>/`, read them
   * back and list them (resuming from a run's checkpoints), and delete `runs/<run>/INTERRUPTED` markers only (a
   * resumed run replaces its INTERRUPTED marker with SUCCESS or FAILURE), for the runs `options.runIds` names (`*`
   * wildcards allowed; every run by default). Nothing outside those prefixes, and no deleting of checkpoints, logs or
   * outputs. With SSE-KMS, `kms:GenerateDataKey` and `kms:Decrypt` on the key. Address: `<role>_<options.name>`.
   */
  public grantWriteRuns(role: IamRole, options: RunGrantOptions = {}): Grant {
    const runs = options.runIds ?? ["*"];
    // Every run: "runs/*" (the same keys as "runs/*/*", one character shorter in a size-limited policy).
    const objects = runs.map((run) => `${this.outputsBucket.arn}/${RUNS_PREFIX}${run === "*" ? "" : `${run}/`}*`);
    return grantToRole(this, role, options.name ?? "write_runs", [
      this.listRunsStatement(runs),
      { sid: "WriteRunObjects", effect: "Allow", actions: [...OBJECT_WRITE_ACTIONS], resources: objects },
      { sid: "ReadRunObjects", effect: "Allow", actions: [...OBJECT_READ_ACTIONS], resources: objects },
      {
        sid: "DeleteInterruptedMarkers",
        effect: "Allow",
        actions: [...MARKER_DELETE_ACTIONS],
        resources: runs.map((run) => `${this.outputsBucket.arn}/${RUNS_PREFIX}${run}/${INTERRUPTED_MARKER}`),
      },
      ...this.kmsStatements("EncryptWithStorageKey", KMS_ENCRYPT_ACTIONS),
    ]);
  }

  /**
   * What a training container's session may do with runs: write (and read back, list) only the prefix of the run in
   * its session tag `RunId` (`runs/${aws:PrincipalTag/RunId}/`), never delete. For the container role the runtime
   * assumes with that tag (training-compute). Address: `<role>_write_own_run`.
   */
  public grantWriteOwnRun(role: IamRole): Grant {
    const run = "&{aws:PrincipalTag/RunId}"; // "&{": aws_iam_policy_document's escape of an IAM policy variable
    const objects = [`${this.outputsBucket.arn}/${RUNS_PREFIX}${run}/*`];
    return grantToRole(this, role, "write_own_run", [
      {
        sid: "ListOwnRun",
        effect: "Allow",
        actions: [...BUCKET_LIST_ACTIONS],
        resources: [this.outputsBucket.arn],
        condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${RUNS_PREFIX}${run}/`, `${RUNS_PREFIX}${run}/*`] }],
      },
      { sid: "WriteOwnRunObjects", effect: "Allow", actions: [...OBJECT_WRITE_ACTIONS], resources: objects },
      { sid: "ReadOwnRunObjects", effect: "Allow", actions: [...OBJECT_READ_ACTIONS], resources: objects },
      ...this.kmsStatements("EncryptWithStorageKey", KMS_ENCRYPT_ACTIONS),
    ]);
  }

  /**
   * Read-only access to runs (listing and getting objects under `runs/`), e.g. for evaluation jobs or dashboards.
   * Address: `<role>_read_runs`.
   */
  public grantReadRuns(role: IamRole): Grant {
    return grantToRole(this, role, "read_runs", [
      this.listRunsStatement(),
      {
        sid: "ReadRunObjects",
        effect: "Allow",
        actions: [...OBJECT_READ_ACTIONS],
        resources: [`${this.outputsBucket.arn}/${RUNS_PREFIX}*`],
      },
      ...this.kmsStatements("DecryptWithStorageKey", KMS_DECRYPT_ACTIONS),
    ]);
  }

  /** ListBucket on the outputs bucket, only for prefixes under `runs/` (or under the named runs: `runs/<run>/...`). */
  private listRunsStatement(runs: readonly string[] = ["*"]): DataAwsIamPolicyDocumentStatement {
    const prefixes =
      runs.length === 1 && runs[0] === "*"
        ? [RUNS_PREFIX, `${RUNS_PREFIX}*`]
        : // A wildcard run (a fleet's "<group>-*") is also listed by its stem (adoption lists "runs/<group>-").
          runs.flatMap((run) => [...(run.endsWith("*") ? [`${RUNS_PREFIX}${run}`] : []), `${RUNS_PREFIX}${run}/`, `${RUNS_PREFIX}${run}/*`]);
    return {
      sid: "ListRuns",
      effect: "Allow",
      actions: [...BUCKET_LIST_ACTIONS],
      resources: [this.outputsBucket.arn],
      condition: [{ test: "StringLike", variable: "s3:prefix", values: prefixes }],
    };
  }

  /** The KMS statement of a grant (none with SSE-S3). */
  private kmsStatements(sid: string, actions: readonly string[]): DataAwsIamPolicyDocumentStatement[] {
    if (!this.kmsKeyArn) return [];
    return [{ sid, effect: "Allow", actions: [...actions], resources: [this.kmsKeyArn] }];
  }

  /** `training_bucket`, `outputs_bucket`, `training_bucket_arn`, `outputs_bucket_arn`. */
  private describeOutputs(): OutputSpec[] {
    const outputs: [string, string, string][] = [
      ["training_bucket", this.dataBucket.name, "Name of the S3 bucket for training data (inputs), read-only for training instances."],
      [
        "outputs_bucket",
        this.outputsBucket.name,
        "Name of the S3 bucket for training runs: runs/RUN_ID/ holds checkpoints/, logs/, outputs/ and one SUCCESS, FAILURE or INTERRUPTED marker.",
      ],
      ["training_bucket_arn", this.dataBucket.arn, "ARN of the training data bucket."],
      ["outputs_bucket_arn", this.outputsBucket.arn, "ARN of the outputs (training runs) bucket."],
    ];
    return outputs.map(([name, value, description]) => ({ name, value, description }));
  }
}

function validateBucketName(path: string, field: string, name: string): void {
  // Generated names hold the account id token; their literal parts are checked by the config schema's length rule.
  if (Token.isUnresolved(name)) return;
  const problems = bucketNameProblems(name);
  if (problems.length > 0) {
    throw new GtiError(
      `Invalid ${field} "${name}" for ${path}: it ${problems.join("; it ")}. Fix: use 3-63 lowercase letters, digits and hyphens.`,
    );
  }
}
