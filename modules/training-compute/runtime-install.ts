/**
 * How the runtime reaches an instance: the bundle `aws_s3_object.compute_runtime` (`runtime/<sha256>.sh` in the outputs
 * bucket), the runtime configuration (`/etc/gpu-training/runtime.env`) of each runtime mode, and the user data that
 * fetches and installs the bundle, one `local.compute_user_data_<mode>` per mode (shared by everything launched in
 * that mode).
 */
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { Fn, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { AwsContext } from "../../src/aws-context";
import { GtiError } from "../../src/errors";
import { address } from "../../src/naming";
import { DLAMI_NVME_MOUNT } from "./ami";
import {
  type FileEncoding,
  RUNTIME_FETCH_SCRIPT,
  type RuntimeBundle,
  type RuntimeEnvEntry,
  type RuntimeFile,
  checkUserDataSize,
  estimateUserDataSize,
  renderUserData,
} from "./user-data";

/** The key prefix of the data bucket the runtime syncs to the instance (`aws s3 sync data/ s3://<bucket>/data/`). */
export const TRAINING_DATA_PREFIX = "data/";

/** What a runtime mode's user data is built from. */
export interface UserDataOptions {
  /**
   * `GTI_MODE` of the runtime: `single` for this module's instance; the fleet module adds its modes (they must be
   * implemented by the runtime's mode hooks). Letters, digits and hyphens.
   */
  readonly mode: string;
  /**
   * `GTI_RUN_ID`: a literal or a Terraform interpolation. @default "": the runtime takes the instance's `RunId` tag,
   * else generates one
   */
  readonly runId?: string;
  /**
   * Entries appended to the runtime configuration after the shared ones (e.g. the fleet's `GTI_FLEET_*`); a key may
   * appear once. Interpolated values need a `maxLength` for the size budget. @default none
   */
  readonly extraEnv?: readonly RuntimeEnvEntry[];
}

/** The user data of one runtime mode. */
export interface LaunchUserData {
  /** The runtime mode. */
  readonly mode: string;
  /** The cloud-config as a Terraform local (`local.compute_user_data_<mode>`), for reading and tests. */
  readonly local: TerraformLocal;
  /** `base64gzip(local...)`: what `user_data_base64` (instance) or `user_data` (launch template) takes. */
  readonly base64Gzip: string;
  /** The gzipped size, in bytes, with every interpolated value at its longest (checked against the budget). */
  readonly estimatedBytes: number;
  /** SHA-256 of the runtime bundle the user data fetches (and checks). */
  readonly runtimeSha256: string;
  /** How each runtime file is carried in the bundle (`text`, or `base64` when it cannot be a here-document). */
  readonly encodings: ReadonlyMap<string, FileEncoding>;
}

/** The values every runtime configuration carries (tokens are fine). */
export interface RuntimeSettings {
  readonly project: string;
  readonly environment: string;
  readonly dataBucketName: string;
  readonly outputsBucketName: string;
  readonly repositoryUrl: string;
  /** `var.training_image_tag`. */
  readonly imageTag: string;
  /** `var.auto_shutdown`, as a string token. */
  readonly autoShutdown: string;
  readonly checkpointIntervalMinutes: number;
  readonly spotGraceSeconds: number;
  readonly hfTokenSecretArn: string;
  readonly logGroupName: string;
  readonly metricsNamespace: string;
  readonly containerRoleArn: string;
  readonly stallMinutes: number;
}

export interface RuntimeInstallProps {
  /** The runtime's files and their bundle, read and rendered at synth. */
  readonly files: readonly RuntimeFile[];
  readonly bundle: RuntimeBundle;
  /** Path of the bundle file as the synthesized JSON names it (a `TerraformAsset`'s path). */
  readonly bundlePath: string;
  /** The bucket the bundle is uploaded to (the outputs bucket's `bucket` attribute). */
  readonly bucketName: string;
  /** The bucket's KMS key. @default SSE-S3 */
  readonly bucketKmsKeyArn?: string;
  readonly settings: RuntimeSettings;
}

/** The runtime bundle object and the per-mode user data. */
export class RuntimeInstall extends Construct {
  /** `aws_s3_object.compute_runtime`: replaced (created first, then the old one deleted) when the runtime changes. */
  public readonly object: S3Object;

  private readonly props: RuntimeInstallProps;
  private readonly byMode = new Map<string, { readonly built: LaunchUserData; readonly signature: string }>();

  public constructor(scope: Construct, id: string, props: RuntimeInstallProps) {
    super(scope, id);
    this.props = props;
    const key = props.bucketKmsKeyArn;
    this.object = address(
      new S3Object(this, "RuntimeBundle", {
        bucket: props.bucketName,
        key: props.bundle.key,
        source: props.bundlePath,
        contentType: "text/x-shellscript",
        // Explicit, like the bucket's default (which may be applied after this object on a first apply).
        serverSideEncryption: key ? "aws:kms" : "AES256",
        kmsKeyId: key,
        // An instance booting during an apply that changes the runtime still finds the bundle its user data names.
        lifecycle: { createBeforeDestroy: true },
      }),
      "compute",
      "runtime",
    );
  }

  /**
   * The user data of a runtime mode, created on first use.
   *
   * @throws GtiError when the mode is malformed, a second call asks for another run id, or the user data would exceed
   *   the size budget
   */
  public userData(options: UserDataOptions): LaunchUserData {
    const { mode } = options;
    const runId = options.runId ?? "";
    const extraEnv = options.extraEnv ?? [];
    const signature = JSON.stringify([runId, extraEnv]);
    const existing = this.byMode.get(mode);
    if (existing) {
      if (existing.signature !== signature) {
        throw new GtiError(
          `User data for runtime mode "${mode}" was already built with another run id or other extra entries. Fix: build it once per mode.`,
        );
      }
      return existing.built;
    }
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(mode)) {
      throw new GtiError(`Invalid runtime mode "${mode}": lowercase letters, digits and hyphens, starting with a letter. Fix: use e.g. "single".`);
    }
    const env = this.runtimeEnv(mode, runId, extraEnv);
    const fetchScript = this.props.files.find((file) => file.path === RUNTIME_FETCH_SCRIPT);
    if (!fetchScript) {
      throw new GtiError(`The instance runtime has no ${RUNTIME_FETCH_SCRIPT}: the user data runs it to install the runtime. Fix: restore runtime/${RUNTIME_FETCH_SCRIPT}.`);
    }
    const { settings, bundle } = this.props;
    const rendered = renderUserData(
      fetchScript,
      // References to the object: the instance is created after it, and fetches exactly what Terraform uploaded.
      { uri: `s3://${this.object.bucket}/${this.object.key}`, sha256: bundle.sha256, files: this.props.files.length },
      env,
      [`${settings.project} ${settings.environment}: GPU training instance, runtime mode ${mode} (training-compute module)`],
    );
    const estimatedBytes = estimateUserDataSize(rendered, env);
    checkUserDataSize(estimatedBytes, `runtime mode "${mode}"`);
    const local = address(new TerraformLocal(this, `UserData_${mode}`, rendered.template), "compute", "user_data", mode.replace(/-/g, "_"));
    const built: LaunchUserData = {
      mode,
      local,
      base64Gzip: Fn.base64gzip(local.asString),
      estimatedBytes,
      runtimeSha256: bundle.sha256,
      encodings: bundle.encodings,
    };
    this.byMode.set(mode, { built, signature });
    return built;
  }

  /** The runtime configuration (`/etc/gpu-training/runtime.env`) of a mode, in file order (`extraEnv` last). */
  public runtimeEnv(mode: string, runId = "", extraEnv: readonly RuntimeEnvEntry[] = []): RuntimeEnvEntry[] {
    const s = this.props.settings;
    return [
      { key: "GTI_PROJECT", value: s.project },
      { key: "GTI_ENVIRONMENT", value: s.environment },
      { key: "GTI_MODE", value: mode },
      { key: "AWS_REGION", value: AwsContext.of(this).region, maxLength: 20 },
      { key: "GTI_DATA_BUCKET", value: s.dataBucketName, maxLength: 63 },
      { key: "GTI_DATA_PREFIX", value: TRAINING_DATA_PREFIX },
      { key: "GTI_OUTPUTS_BUCKET", value: s.outputsBucketName, maxLength: 63 },
      // <account>.dkr.ecr.<region>.amazonaws.com/<name of at most 256 characters>
      { key: "GTI_ECR_REPOSITORY_URL", value: s.repositoryUrl, maxLength: 300 },
      { key: "GTI_IMAGE_TAG", value: s.imageTag, maxLength: 128 },
      { key: "GTI_RUN_ID", value: runId, maxLength: 128 },
      { key: "GTI_AUTO_SHUTDOWN", value: s.autoShutdown, maxLength: 5 },
      { key: "GTI_CHECKPOINT_INTERVAL_MINUTES", value: String(s.checkpointIntervalMinutes) },
      { key: "GTI_SPOT_GRACE_SECONDS", value: String(s.spotGraceSeconds) },
      { key: "GTI_HF_TOKEN_SECRET_ARN", value: s.hfTokenSecretArn, maxLength: 200 },
      { key: "GTI_LOG_GROUP", value: s.logGroupName },
      { key: "GTI_METRICS_NAMESPACE", value: s.metricsNamespace },
      { key: "GTI_NVME_MOUNT", value: DLAMI_NVME_MOUNT },
      { key: "GTI_CONTAINER_ROLE_ARN", value: s.containerRoleArn, maxLength: 140 },
      { key: "GTI_STALL_MINUTES", value: String(s.stallMinutes) },
      ...extraEnv,
    ];
  }
}
