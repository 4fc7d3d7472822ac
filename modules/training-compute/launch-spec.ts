/**
 * The launch configuration every training instance of an environment shares, whether it is the single instance
 * (this module) or a spot fleet member (the fleet module builds its launch template from the same object): the AMI,
 * the instance role and profile with their least-privilege grants, the security group and network, the log group and
 * the Hugging Face token secret, IMDSv2 metadata options, the encrypted root volume, and the user data that installs
 * the runtime. "Share the code, don't copy it": a fleet instance is configured exactly like the single one.
 *
 * @example
 * // In the fleet module:
 * const spec = compute.launchSpec;
 * new LaunchTemplate(this, "Template", {
 *   imageId: spec.amiId,
 *   iamInstanceProfile: { arn: spec.instanceProfile.arn },
 *   vpcSecurityGroupIds: [spec.securityGroup.id],
 *   metadataOptions: spec.metadataOptions,
 *   blockDeviceMappings: [{ deviceName: spec.rootVolume.deviceName, ebs: { ...launchTemplateEbs(spec.rootVolume) } }],
 *   userData: spec.userData({ mode: "fleet-independent" }).base64Gzip,
 *   monitoring: { enabled: spec.detailedMonitoring },
 * });
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { AssetType, Fn, type TerraformCount, TerraformAsset, TerraformLocal, Token } from "cdktf";
import { Construct } from "constructs";
import type { TrainingRegistry } from "../training-registry";
import type { TrainingStorage } from "../training-storage";
import { AwsContext } from "../../src/aws-context";
import { parseCidr } from "../../src/rules";
import { GtiError } from "../../src/errors";
import { type Grant, grantToRole } from "../../src/iam";
import { address } from "../../src/naming";
import type { TrainingVariables } from "../../src/variables";
import { DLAMI_NVME_MOUNT, DLAMI_PARAMETERS, DLAMI_ROOT_DEVICE_NAME, type DlamiOs } from "./ami";
import { STALL_MINUTES_RANGE, logGroupName, metricsNamespace } from "./contract";
import { type NetworkMode, TrainingNetwork } from "./network";
import {
  CONTAINER_ROLE_ASSUME_ACTIONS,
  LOG_WRITE_ACTIONS,
  METRIC_WRITE_ACTIONS,
  SECRET_READ_ACTIONS,
  SELF_SHUTDOWN_ACTIONS,
  SSM_REGISTER_ACTIONS,
  SSM_SESSION_CHANNEL_ACTIONS,
  TAG_READ_ACTIONS,
} from "./perms";
import {
  type FileEncoding,
  RUNTIME_FETCH_SCRIPT,
  type RuntimeBundle,
  type RuntimeEnvEntry,
  type RuntimeFile,
  checkUserDataSize,
  estimateUserDataSize,
  readRuntimeFiles,
  renderRuntimeBundle,
  renderUserData,
  writeRuntimeBundle,
} from "./user-data";

/** The key prefix of the data bucket the runtime syncs to the instance (`aws s3 sync data/ s3://<bucket>/data/`). */
export const TRAINING_DATA_PREFIX = "data/";

/**
 * IMDSv2 only; hop limit 1: a bridge-network container (one extra hop) never gets a token, so it never holds the
 * instance role (host-network containers are blocked by the runtime's firewall rule instead; runtime/README.md);
 * instance tags readable (the run id).
 */
export const METADATA_OPTIONS = {
  httpEndpoint: "enabled",
  httpTokens: "required",
  httpPutResponseHopLimit: 1,
  instanceMetadataTags: "enabled",
} as const;

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

/** The root volume every training instance gets. */
export interface RootVolumeSpec {
  /** The AMI's root device (launch templates need it). */
  readonly deviceName: string;
  /** gp3: baseline 3000 IOPS / 125 MiB/s included in the price (no provisioned IOPS). */
  readonly volumeType: "gp3";
  /** GiB: `var.root_volume_size_gb` (a token). */
  readonly volumeSize: number;
  /** Always encrypted. */
  readonly encrypted: true;
  /** The KMS key, when the env names one. @default the account's default EBS key (aws/ebs) */
  readonly kmsKeyId?: string;
  /** Deleted with the instance: checkpoints live in S3, not on the volume. */
  readonly deleteOnTermination: true;
}

export interface LaunchSpecProps {
  /** Start of resource names, usually `<project>-<env>`. */
  readonly namePrefix: string;
  /** The project name (the `Project` tag, which the self-shutdown permission requires on the target). */
  readonly project: string;
  /** The environment name (the `Environment` tag; log group `/gpu-training/<env>`). */
  readonly environment: string;
  /** The buckets: the role may read the data bucket and write runs. */
  readonly storage: TrainingStorage;
  /** The repository: the role may pull its images. */
  readonly registry: TrainingRegistry;
  /** The stack's Terraform variables (instance type, image tag, root volume size, auto shutdown). */
  readonly variables: TrainingVariables;
  /** The single instance's count: its default-VPC subnet lookup exists only with the instance. */
  readonly instanceCount: TerraformCount;
  /** AMI selection. @default the latest Base OSS Nvidia Driver GPU DLAMI for Ubuntu 24.04 */
  readonly ami?: {
    /** Ubuntu release of the DLAMI. @default "ubuntu-24.04" */
    readonly os?: DlamiOs;
    /** An explicit AMI id (a custom AMI built from the DLAMI); overrides `os`. @default resolved through SSM */
    readonly id?: string;
  };
  /** KMS key of the root volume. @default the account's default EBS key (aws/ebs) */
  readonly rootVolumeKmsKeyArn?: string;
  /** CloudWatch detailed (1-minute) monitoring, billed per metric. @default false */
  readonly detailedMonitoring?: boolean;
  /** Network placement. @default the default VPC */
  readonly network?: {
    /** @default "default-vpc" */
    readonly mode?: NetworkMode;
    /** Dedicated VPC CIDR. @default "10.42.0.0/16" */
    readonly vpcCidr?: string;
    /** Dedicated VPC zone count. @default 2 */
    readonly availabilityZoneCount?: number;
  };
  /** SSH access. @default none: SSM Session Manager only, no key pair, no ingress */
  readonly ssh?: {
    /** Existing EC2 key pair. @default none */
    readonly keyPairName?: string;
    /** CIDRs allowed to port 22 (never 0.0.0.0/0 or ::/0). @default [] */
    readonly allowedCidrs?: readonly string[];
  };
  /** Retention of the instance log group. @default 30 */
  readonly logRetentionDays?: number;
  /** Minutes between checkpoint syncs (`GTI_CHECKPOINT_INTERVAL_MINUTES`). @default 15 */
  readonly checkpointIntervalMinutes?: number;
  /** Seconds the container gets after SIGTERM (`GTI_SPOT_GRACE_SECONDS`). @default 30 */
  readonly spotGraceSeconds?: number;
  /**
   * Minutes without a new training step after which the runtime reports the run as stalled (`GTI_STALL_MINUTES`;
   * the safety module's stalled-run alarm acts on that signal), 5 to 1440. @default 30
   */
  readonly stallMinutes?: number;
  /**
   * Run ids (literals, Terraform references or `*` patterns) whose prefixes `runs/<id>/` the instance role may write
   * (the single instance's run id; a fleet adds its own with {@link LaunchSpec.grantRuns}). @default ["*"]: every run
   */
  readonly runIds?: readonly string[];
  /** Where the runtime's files are read from at synth. @default the project's runtime/ */
  readonly runtimeDir?: string;
}

/**
 * The shared launch configuration (addresses `*.compute_*`). See the module's docs for what each part does.
 */
export class LaunchSpec extends Construct {
  /** The AMI id (a token): the SSM parameter's value, or the explicit id. */
  public readonly amiId: string;
  /** `data.aws_ssm_parameter.compute_ami`; undefined with an explicit AMI id. */
  public readonly amiParameter: DataAwsSsmParameter | undefined;
  /** The public SSM parameter read, or undefined with an explicit AMI id. */
  public readonly amiParameterName: string | undefined;
  /** `aws_iam_role.compute_instance`: the instances' role (always present: roles cost nothing, grants need it). */
  public readonly role: IamRole;
  /** `aws_iam_instance_profile.compute_instance`. */
  public readonly instanceProfile: IamInstanceProfile;
  /**
   * `aws_iam_role.compute_container`: what the training container may do, assumed by the runtime (instance role) for
   * one run with the session tag `RunId`: read the data bucket, write that run's prefix only.
   */
  public readonly containerRole: IamRole;
  /** Seconds the container gets after SIGTERM. */
  public readonly spotGraceSeconds: number;
  /** Minutes without a new step after which the runtime reports a run as stalled (`GTI_STALL_MINUTES`). */
  public readonly stallMinutes: number;
  /** `aws_security_group.compute`: egress only, plus SSH from the allowed CIDRs. */
  public readonly securityGroup: SecurityGroup;
  /** The VPC and subnets. */
  public readonly network: TrainingNetwork;
  /** `aws_cloudwatch_log_group.compute`: `/gpu-training/<env>`, with retention. */
  public readonly logGroup: CloudwatchLogGroup;
  /** The log group's name. */
  public readonly logGroupName: string;
  /** The CloudWatch metrics namespace the instances write (`GpuTraining/<env>`). */
  public readonly metricsNamespace: string;
  /** `aws_secretsmanager_secret.compute_hf_token`: created empty; the token is set out of band. */
  public readonly hfTokenSecret: SecretsmanagerSecret;
  /** The key pair name, when SSH is on. */
  public readonly keyName: string | undefined;
  /** The SSH ingress rules (`aws_vpc_security_group_ingress_rule.compute_ssh_<cidr>`). */
  public readonly sshIngress: readonly VpcSecurityGroupIngressRule[];
  /** IMDSv2 settings, shaped for `metadata_options` of both instances and launch templates. */
  public readonly metadataOptions: typeof METADATA_OPTIONS = METADATA_OPTIONS;
  /** The root volume. */
  public readonly rootVolume: RootVolumeSpec;
  /** Explicit detailed-monitoring decision. */
  public readonly detailedMonitoring: boolean;
  /** The runtime files the user data installs, read at synth. */
  public readonly runtimeFiles: readonly RuntimeFile[];
  /** The runtime files as one self-extracting script: the S3 object the user data fetches. */
  public readonly runtimeBundle: RuntimeBundle;
  /**
   * `aws_s3_object.compute_runtime`: the bundle, `runtime/<sha256>.sh` in the outputs bucket, replaced (created
   * first, then the old one deleted) when the runtime changes.
   */
  public readonly runtimeObject: S3Object;
  /** Every grant on the role: storage, registry, and this module's. */
  public readonly grants: readonly Grant[];

  private readonly props: LaunchSpecProps;
  private readonly userDataByMode = new Map<string, { readonly built: LaunchUserData; readonly signature: string }>();

  public constructor(scope: Construct, id: string, props: LaunchSpecProps) {
    super(scope, id);
    this.props = props;
    const context = AwsContext.of(this);
    const { variables } = props;

    // AMI: the DLAMI's public SSM parameter (read at every plan), or an explicit id.
    if (props.ami?.id) {
      this.amiParameter = undefined;
      this.amiParameterName = undefined;
      this.amiId = props.ami.id;
    } else {
      this.amiParameterName = DLAMI_PARAMETERS[props.ami?.os ?? "ubuntu-24.04"];
      this.amiParameter = address(new DataAwsSsmParameter(this, "Ami", { name: this.amiParameterName }), "compute", "ami");
      this.amiId = this.amiParameter.insecureValue;
    }

    this.network = new TrainingNetwork(this, "Network", {
      namePrefix: props.namePrefix,
      instanceType: variables.instanceType.stringValue,
      instanceCount: props.instanceCount,
      mode: props.network?.mode,
      vpcCidr: props.network?.vpcCidr,
      availabilityZoneCount: props.network?.availabilityZoneCount,
    });

    this.logGroupName = logGroupName(props.environment);
    this.metricsNamespace = metricsNamespace(props.environment);
    this.logGroup = address(
      new CloudwatchLogGroup(this, "LogGroup", {
        name: this.logGroupName,
        retentionInDays: props.logRetentionDays ?? 30,
      }),
      "compute",
    );
    this.hfTokenSecret = address(
      new SecretsmanagerSecret(this, "HfTokenSecret", {
        name: `${props.namePrefix}/hf-token`,
        description:
          "Hugging Face token of the GPU training instances (a plain string, or JSON with HF_TOKEN). Created empty: set it with aws secretsmanager put-secret-value.",
        // The shortest window AWS allows: a destroyed environment can be re-created a week later under the same name.
        recoveryWindowInDays: 7,
      }),
      "compute",
      "hf_token",
    );

    // Role and instance profile.
    const trust = address(
      new DataAwsIamPolicyDocument(this, "InstanceTrust", {
        statement: [
          {
            sid: "Ec2AssumesTheInstanceRole",
            effect: "Allow",
            actions: ["sts:AssumeRole"],
            principals: [{ type: "Service", identifiers: [`ec2.${context.dnsSuffix}`] }],
          },
        ],
      }),
      "compute",
      "instance_trust",
    );
    this.role = address(
      new IamRole(this, "InstanceRole", {
        name: `${props.namePrefix}-instance`,
        description: "GPU training instances: read training data, write runs, pull images, Session Manager, logs and metrics, own token, shut itself down.",
        assumeRolePolicy: trust.json,
      }),
      "compute",
      "instance",
    );
    this.instanceProfile = address(
      new IamInstanceProfile(this, "InstanceProfile", { name: this.role.name, role: this.role.name }),
      "compute",
      "instance",
    );
    this.spotGraceSeconds = props.spotGraceSeconds ?? 30;
    this.stallMinutes = props.stallMinutes ?? 30;
    const stall = STALL_MINUTES_RANGE;
    if (!Number.isInteger(this.stallMinutes) || this.stallMinutes < stall.min || this.stallMinutes > stall.max) {
      throw new GtiError(
        `Stall minutes ${this.stallMinutes} for ${this.node.path} must be a whole number from ${stall.min} to ${stall.max}. Fix: e.g. 30 (safety.stalledRun.minutes).`,
      );
    }
    this.containerRole = this.createContainerRole(props);
    this.runtimeFiles = readRuntimeFiles(props.runtimeDir);
    this.runtimeBundle = renderRuntimeBundle(this.runtimeFiles);
    const storageKey = props.storage.kmsKeyArn;
    // A file asset (cdktf copies it next to the JSON): plans show its path, not the scripts; no template escaping.
    const bundleFile = new TerraformAsset(this, "RuntimeBundleFile", { path: writeRuntimeBundle(this.runtimeBundle), type: AssetType.FILE });
    this.runtimeObject = address(
      new S3Object(this, "RuntimeBundle", {
        bucket: props.storage.outputsBucket.name,
        key: this.runtimeBundle.key,
        source: bundleFile.path,
        contentType: "text/x-shellscript",
        // Explicit, like the bucket's default (which may be applied after this object on a first apply).
        serverSideEncryption: storageKey ? "aws:kms" : "AES256",
        kmsKeyId: storageKey,
        // An instance booting during an apply that changes the runtime still finds the bundle its user data names.
        lifecycle: { createBeforeDestroy: true },
      }),
      "compute",
      "runtime",
    );
    this.grants = [
      props.storage.grantReadData(this.role),
      props.storage.grantWriteRuns(this.role, { runIds: props.runIds }),
      props.registry.grantPull(this.role),
      ...this.grantInstancePermissions(context, props),
      grantToRole(this, this.role, "assume_container_role", [
        {
          sid: "AssumeTheContainerRoleForARun",
          effect: "Allow",
          actions: [...CONTAINER_ROLE_ASSUME_ACTIONS],
          resources: [this.containerRole.arn],
        },
      ]),
      props.storage.grantReadData(this.containerRole),
      props.storage.grantWriteOwnRun(this.containerRole),
      grantToRole(this, this.role, "read_runtime", [
        {
          sid: "ReadTheRuntimeBundle",
          effect: "Allow",
          actions: ["s3:GetObject"],
          resources: [`${props.storage.outputsBucket.arn}/${this.runtimeBundle.key}`],
        },
      ]),
    ];

    // Security group: egress only; SSH only from named ranges.
    this.securityGroup = address(
      new SecurityGroup(this, "SecurityGroup", {
        name: `${props.namePrefix}-instance`,
        description: "GPU training instances: outbound only (Session Manager needs no inbound port); SSH only from compute.ssh.allowedCidrs",
        vpcId: this.network.vpcId,
        tags: { Name: `${props.namePrefix}-instance` },
      }),
      "compute",
    );
    address(
      new VpcSecurityGroupEgressRule(this, "EgressIpv4", {
        securityGroupId: this.securityGroup.id,
        ipProtocol: "-1",
        cidrIpv4: "0.0.0.0/0",
        description: "Outbound to AWS APIs (S3, ECR, SSM, CloudWatch, Secrets Manager), the Hugging Face Hub and package mirrors; no NAT",
      }),
      "compute",
      "all_ipv4",
    );
    address(
      new VpcSecurityGroupEgressRule(this, "EgressIpv6", {
        securityGroupId: this.securityGroup.id,
        ipProtocol: "-1",
        cidrIpv6: "::/0",
        description: "Outbound over IPv6, where the VPC has it (same destinations as IPv4)",
      }),
      "compute",
      "all_ipv6",
    );
    this.keyName = props.ssh?.keyPairName;
    this.sshIngress = this.keyName ? this.createSshIngress(props.ssh?.allowedCidrs ?? []) : [];
    if (!this.keyName && (props.ssh?.allowedCidrs ?? []).length > 0) {
      throw new GtiError(
        "SSH CIDRs were given without a key pair: the port would be open with nobody able to log in. Fix: set ssh.keyPairName, or remove ssh.allowedCidrs.",
      );
    }

    this.detailedMonitoring = props.detailedMonitoring ?? false;
    this.rootVolume = {
      deviceName: DLAMI_ROOT_DEVICE_NAME,
      volumeType: "gp3",
      volumeSize: variables.rootVolumeSizeGb.numberValue,
      encrypted: true,
      kmsKeyId: props.rootVolumeKmsKeyArn,
      deleteOnTermination: true,
    };
  }

  /**
   * Write access for more runs (a fleet's: its shared run id, or its nodes' `<group>-*`), as the grant `<name>` on the
   * instance role.
   */
  public grantRuns(name: string, runIds: readonly string[]): Grant {
    return this.props.storage.grantWriteRuns(this.role, { name, runIds });
  }

  /** The container role: trusted by the instance role only, for a session tagged with a run id. */
  private createContainerRole(props: LaunchSpecProps): IamRole {
    const trust = address(
      new DataAwsIamPolicyDocument(this, "ContainerTrust", {
        statement: [
          {
            sid: "TheInstanceRoleAssumesItForOneRun",
            effect: "Allow",
            actions: [...CONTAINER_ROLE_ASSUME_ACTIONS],
            principals: [{ type: "AWS", identifiers: [this.role.arn] }],
            condition: [
              // The session must carry RunId (its grants are scoped by it) and no other tag.
              { test: "StringLike", variable: "aws:RequestTag/RunId", values: ["?*"] },
              { test: "ForAllValues:StringEquals", variable: "aws:TagKeys", values: ["RunId"] },
            ],
          },
        ],
      }),
      "compute",
      "container_trust",
    );
    return address(
      new IamRole(this, "ContainerRole", {
        name: `${props.namePrefix}-container`,
        description: "GPU training containers: read training data, write their own run's prefix (session tag RunId). Assumed by the runtime.",
        assumeRolePolicy: trust.json,
        // Role chaining (instance role -> this role) caps sessions at one hour; the runtime refreshes them.
        maxSessionDuration: 3600,
      }),
      "compute",
      "container",
    );
  }

  /**
   * The user data of a runtime mode, created on first use as `local.compute_user_data_<mode>` (one per mode, shared
   * by everything launched in that mode).
   *
   * @throws GtiError when the mode is malformed, a second call asks for another run id, or the user data would exceed
   *   the size budget
   */
  public userData(options: UserDataOptions): LaunchUserData {
    const { mode } = options;
    const runId = options.runId ?? "";
    const extraEnv = options.extraEnv ?? [];
    const signature = JSON.stringify([runId, extraEnv]);
    const existing = this.userDataByMode.get(mode);
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
    const fetchScript = this.runtimeFiles.find((file) => file.path === RUNTIME_FETCH_SCRIPT);
    if (!fetchScript) {
      throw new GtiError(`The instance runtime has no ${RUNTIME_FETCH_SCRIPT}: the user data runs it to install the runtime. Fix: restore runtime/${RUNTIME_FETCH_SCRIPT}.`);
    }
    const object = this.runtimeObject;
    const rendered = renderUserData(
      fetchScript,
      {
        // References to the object: the instance is created after it, and fetches exactly what Terraform uploaded.
        uri: `s3://\${${object.terraformResourceType}.${object.friendlyUniqueId}.bucket}/\${${object.terraformResourceType}.${object.friendlyUniqueId}.key}`,
        sha256: this.runtimeBundle.sha256,
        files: this.runtimeFiles.length,
      },
      env,
      [`${this.props.project} ${this.props.environment}: GPU training instance, runtime mode ${mode} (training-compute module)`],
    );
    const estimatedBytes = estimateUserDataSize(rendered, env);
    checkUserDataSize(estimatedBytes, `runtime mode "${mode}"`);
    const local = address(new TerraformLocal(this, `UserData_${mode}`, rendered.template), "compute", "user_data", mode.replace(/-/g, "_"));
    const built: LaunchUserData = {
      mode,
      local,
      base64Gzip: Fn.base64gzip(local.asString),
      estimatedBytes,
      runtimeSha256: this.runtimeBundle.sha256,
      encodings: this.runtimeBundle.encodings,
    };
    this.userDataByMode.set(mode, { built, signature });
    return built;
  }

  /** The runtime configuration (`/etc/gpu-training/runtime.env`) of a mode, in file order (`extraEnv` last). */
  public runtimeEnv(mode: string, runId = "", extraEnv: readonly RuntimeEnvEntry[] = []): RuntimeEnvEntry[] {
    const { props } = this;
    const context = AwsContext.of(this);
    return [
      { key: "GTI_PROJECT", value: props.project },
      { key: "GTI_ENVIRONMENT", value: props.environment },
      { key: "GTI_MODE", value: mode },
      { key: "AWS_REGION", value: context.region, maxLength: 20 },
      { key: "GTI_DATA_BUCKET", value: props.storage.dataBucket.name, maxLength: 63 },
      { key: "GTI_DATA_PREFIX", value: TRAINING_DATA_PREFIX },
      { key: "GTI_OUTPUTS_BUCKET", value: props.storage.outputsBucket.name, maxLength: 63 },
      // <account>.dkr.ecr.<region>.amazonaws.com/<name of at most 256 characters>
      { key: "GTI_ECR_REPOSITORY_URL", value: props.registry.repositoryUrl, maxLength: 300 },
      { key: "GTI_IMAGE_TAG", value: props.variables.trainingImageTag.stringValue, maxLength: 128 },
      { key: "GTI_RUN_ID", value: runId, maxLength: 128 },
      { key: "GTI_AUTO_SHUTDOWN", value: Token.asString(props.variables.autoShutdown.booleanValue), maxLength: 5 },
      { key: "GTI_CHECKPOINT_INTERVAL_MINUTES", value: String(props.checkpointIntervalMinutes ?? 15) },
      { key: "GTI_SPOT_GRACE_SECONDS", value: String(props.spotGraceSeconds ?? 30) },
      { key: "GTI_HF_TOKEN_SECRET_ARN", value: this.hfTokenSecret.arn, maxLength: 200 },
      { key: "GTI_LOG_GROUP", value: this.logGroupName },
      { key: "GTI_METRICS_NAMESPACE", value: this.metricsNamespace },
      { key: "GTI_NVME_MOUNT", value: DLAMI_NVME_MOUNT },
      { key: "GTI_CONTAINER_ROLE_ARN", value: this.containerRole.arn, maxLength: 140 },
      { key: "GTI_STALL_MINUTES", value: String(this.stallMinutes) },
      ...extraEnv,
    ];
  }

  /**
   * The `image_id` of a launch template: `resolve:ssm:<the DLAMI's public parameter>`, which EC2 (and Auto Scaling)
   * resolve at each launch, or the explicit AMI id. With the parameter the template never changes when AWS publishes
   * a new DLAMI (no instance refresh of running nodes), and every new node boots the latest: the single instance's
   * drift policy (`ignore_changes = [ami]`), for a launch template.
   */
  public get launchTemplateImageId(): string {
    return this.amiParameterName ? `resolve:ssm:${this.amiParameterName}` : this.amiId;
  }

  /** Session Manager, logs and metrics, the token, and shutting itself down. */
  private grantInstancePermissions(context: AwsContext, props: LaunchSpecProps): Grant[] {
    const instances = `arn:${context.partition}:ec2:${context.region}:${context.accountId}:instance/*`;
    return [
      grantToRole(this, this.role, "session_manager", [
        // Registration of this account's instances with Systems Manager (the agent's heartbeat).
        { sid: "RegisterWithSystemsManager", effect: "Allow", actions: [...SSM_REGISTER_ACTIONS], resources: [instances] },
        // "*": ssmmessages has no resource type; the channels only serve sessions a user with ssm:StartSession opens.
        { sid: "SessionManagerChannels", effect: "Allow", actions: [...SSM_SESSION_CHANNEL_ACTIONS], resources: ["*"] },
      ]),
      grantToRole(this, this.role, "logs_and_metrics", [
        {
          sid: "WriteOwnLogGroup",
          effect: "Allow",
          actions: [...LOG_WRITE_ACTIONS],
          resources: [this.logGroup.arn, `${this.logGroup.arn}:*`],
        },
        // "*": PutMetricData has no resource type; the condition limits it to this environment's namespace.
        {
          sid: "PutMetricsInOwnNamespace",
          effect: "Allow",
          actions: [...METRIC_WRITE_ACTIONS],
          resources: ["*"],
          condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [this.metricsNamespace] }],
        },
        // "*": EC2 Describe* calls take no resource ARN (the CloudWatch agent reads its auto-scaling group tag).
        { sid: "ReadInstanceTags", effect: "Allow", actions: [...TAG_READ_ACTIONS], resources: ["*"] },
      ]),
      grantToRole(this, this.role, "read_hf_token", [
        { sid: "ReadOwnHuggingFaceToken", effect: "Allow", actions: [...SECRET_READ_ACTIONS], resources: [this.hfTokenSecret.arn] },
      ]),
      grantToRole(this, this.role, "self_shutdown", [
        {
          sid: "TerminateOrStopOnlyItself",
          effect: "Allow",
          actions: [...SELF_SHUTDOWN_ACTIONS],
          resources: [instances],
          condition: [
            // The caller's instance (ec2:SourceInstanceARN, set for instance-profile credentials) must be the target
            // (ec2:InstanceId of the instance acted on, as a policy variable; "&{" is aws_iam_policy_document's
            // escape for "${"). The same pattern as AWS's managed AWSEC2VssSnapshotPolicy.
            {
              test: "ArnLike",
              variable: "ec2:SourceInstanceARN",
              values: [`arn:${context.partition}:ec2:${context.region}:${context.accountId}:instance/&{ec2:InstanceId}`],
            },
            // And the target must carry this environment's tags (defense in depth: the role never tags anything).
            { test: "StringEquals", variable: "aws:ResourceTag/Project", values: [props.project] },
            { test: "StringEquals", variable: "aws:ResourceTag/Environment", values: [props.environment] },
          ],
        },
      ]),
    ];
  }

  private createSshIngress(cidrs: readonly string[]): VpcSecurityGroupIngressRule[] {
    return cidrs.map((cidr) => {
      const parsed = parseCidr(cidr);
      if (!parsed || parsed.prefix === 0) {
        throw new GtiError(`Invalid SSH CIDR "${cidr}": a named IPv4 or IPv6 range is needed, never the whole internet. Fix: list office or VPN ranges.`);
      }
      const slug = cidr.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/_+$/, "");
      return address(
        new VpcSecurityGroupIngressRule(this, `Ssh_${slug}`, {
          securityGroupId: this.securityGroup.id,
          ipProtocol: "tcp",
          fromPort: 22,
          toPort: 22,
          ...(parsed.version === 4 ? { cidrIpv4: cidr } : { cidrIpv6: cidr }),
          description: `SSH from ${cidr} (compute.ssh.allowedCidrs)`,
        }),
        "compute",
        `ssh_${slug}`,
      );
    });
  }
}

/** The root volume as a launch template's `block_device_mappings[].ebs` (whose booleans are strings). */
export function launchTemplateEbs(volume: RootVolumeSpec): {
  volumeType: string;
  volumeSize: number;
  encrypted: string;
  kmsKeyId?: string;
  deleteOnTermination: string;
} {
  return {
    volumeType: volume.volumeType,
    volumeSize: volume.volumeSize,
    encrypted: "true",
    ...(volume.kmsKeyId ? { kmsKeyId: volume.kmsKeyId } : {}),
    deleteOnTermination: "true",
  };
}
