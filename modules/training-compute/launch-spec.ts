/**
 * The launch configuration every training instance of an environment shares, whether it is the single instance
 * (this module) or a spot fleet member (the fleet module builds its launch template from the same object): the AMI,
 * the instance role and profile with their least-privilege grants, the security group and network, the log group and
 * the Hugging Face token secret, IMDSv2 metadata options, the encrypted root volume, and the user data that installs
 * the runtime. "Share the code, don't copy it": a fleet instance is configured exactly like the single one.
 *
 * Composes InstanceRole (instance-role.ts), InstanceSecurityGroup (security-group.ts) and RuntimeInstall
 * (runtime-install.ts); the AMI, log group, token secret and root volume are its own.
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
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import type { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { AssetType, TerraformAsset, Token } from "cdktf";
import { Construct } from "constructs";
import type { TrainingStorage } from "../training-storage";
import { GtiError } from "../../src/errors";
import type { Grant } from "../../src/iam";
import { address } from "../../src/naming";
import { DLAMI_PARAMETERS, DLAMI_ROOT_DEVICE_NAME } from "./ami";
import { INSTANCE_TAGS, STALL_MINUTES_RANGE, logGroupName, metricsNamespace } from "./contract";
import { InstanceRole } from "./instance-role";
import { METADATA_OPTIONS, type RootVolumeSpec } from "./instance-settings";
import type { LaunchSpecProps } from "./launch-spec-props";
import { TrainingNetwork } from "./network";
import { type LaunchUserData, RuntimeInstall, type UserDataOptions } from "./runtime-install";
import { InstanceSecurityGroup } from "./security-group";
import { type RuntimeBundle, type RuntimeEnvEntry, type RuntimeFile, readRuntimeFiles, renderRuntimeBundle, writeRuntimeBundle } from "./user-data";

export type { LaunchSpecProps };

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

  private readonly storage: TrainingStorage;
  private readonly maxRuntimeHoursTag: string;
  private readonly autoShutdownTag: string;
  private readonly runtime: RuntimeInstall;

  public constructor(scope: Construct, id: string, props: LaunchSpecProps) {
    super(scope, id);
    this.storage = props.storage;
    const { variables } = props;
    this.maxRuntimeHoursTag = Token.asString(variables.maxRuntimeHours);
    this.autoShutdownTag = Token.asString(variables.autoShutdown);

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
      instanceType: variables.instanceType,
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

    this.spotGraceSeconds = props.spotGraceSeconds ?? 30;
    this.stallMinutes = props.stallMinutes ?? 30;
    const stall = STALL_MINUTES_RANGE;
    if (!Number.isInteger(this.stallMinutes) || this.stallMinutes < stall.min || this.stallMinutes > stall.max) {
      throw new GtiError(
        `Stall minutes ${this.stallMinutes} for ${this.node.path} must be a whole number from ${stall.min} to ${stall.max}. Fix: e.g. 30 (safety.stalledRun.minutes).`,
      );
    }
    this.runtimeFiles = readRuntimeFiles(props.runtimeDir);
    this.runtimeBundle = renderRuntimeBundle(this.runtimeFiles);

    const identity = new InstanceRole(this, "Role", {
      namePrefix: props.namePrefix,
      project: props.project,
      environment: props.environment,
      storage: props.storage,
      registry: props.registry,
      runIds: props.runIds,
      logGroupArn: this.logGroup.arn,
      metricsNamespace: this.metricsNamespace,
      hfTokenSecretArn: this.hfTokenSecret.arn,
      runtimeBundleKey: this.runtimeBundle.key,
    });
    this.role = identity.role;
    this.instanceProfile = identity.instanceProfile;
    this.containerRole = identity.containerRole;
    this.grants = identity.grants;

    // A file asset (cdktf copies it next to the JSON): plans show its path, not the scripts; no template escaping.
    // It stays at this construct's path: its folder in the synthesized output is named after the path.
    const bundleFile = new TerraformAsset(this, "RuntimeBundleFile", { path: writeRuntimeBundle(this.runtimeBundle), type: AssetType.FILE });
    this.runtime = new RuntimeInstall(this, "Runtime", {
      files: this.runtimeFiles,
      bundle: this.runtimeBundle,
      bundlePath: bundleFile.path,
      bucketName: props.storage.outputsBucket.name,
      bucketKmsKeyArn: props.storage.kmsKeyArn,
      settings: {
        project: props.project,
        environment: props.environment,
        dataBucketName: props.storage.dataBucket.name,
        outputsBucketName: props.storage.outputsBucket.name,
        repositoryUrl: props.registry.repositoryUrl,
        imageTag: variables.trainingImageTag,
        autoShutdown: this.autoShutdownTag,
        checkpointIntervalMinutes: props.checkpointIntervalMinutes ?? 15,
        spotGraceSeconds: this.spotGraceSeconds,
        hfTokenSecretArn: this.hfTokenSecret.arn,
        logGroupName: this.logGroupName,
        metricsNamespace: this.metricsNamespace,
        containerRoleArn: this.containerRole.arn,
        stallMinutes: this.stallMinutes,
      },
    });
    this.runtimeObject = this.runtime.object;

    const firewall = new InstanceSecurityGroup(this, "Firewall", {
      namePrefix: props.namePrefix,
      vpcId: this.network.vpcId,
      ssh: props.ssh,
    });
    this.securityGroup = firewall.securityGroup;
    this.sshIngress = firewall.sshIngress;
    this.keyName = props.ssh?.keyPairName;

    this.detailedMonitoring = props.detailedMonitoring ?? false;
    this.rootVolume = {
      deviceName: DLAMI_ROOT_DEVICE_NAME,
      volumeType: "gp3",
      volumeSize: variables.rootVolumeSizeGb,
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
    return this.storage.grantWriteRuns(this.role, { name, runIds });
  }

  /** The user data of a runtime mode (`local.compute_user_data_<mode>`, one per mode): see {@link RuntimeInstall.userData}. */
  public userData(options: UserDataOptions): LaunchUserData {
    return this.runtime.userData(options);
  }

  /** The runtime configuration (`/etc/gpu-training/runtime.env`) of a mode, in file order (`extraEnv` last). */
  public runtimeEnv(mode: string, runId = "", extraEnv: readonly RuntimeEnvEntry[] = []): RuntimeEnvEntry[] {
    return this.runtime.runtimeEnv(mode, runId, extraEnv);
  }

  /**
   * The tags every training instance carries besides the provider's default tags: `Name`, the guard's
   * `MaxRuntimeHours`, `AutoShutdown`, and `RunId` when the run id is known at launch.
   */
  public instanceTags(name: string, runId?: string): Record<string, string> {
    return {
      Name: name,
      ...(runId !== undefined ? { [INSTANCE_TAGS.runId]: runId } : {}),
      [INSTANCE_TAGS.maxRuntimeHours]: this.maxRuntimeHoursTag,
      [INSTANCE_TAGS.autoShutdown]: this.autoShutdownTag,
    };
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
}
