/** The props of {@link LaunchSpec} (launch-spec.ts): what every training instance of an environment is launched from. */
import type { TerraformCount } from "cdktf";
import type { TrainingRegistry } from "../training-registry";
import type { TrainingStorage } from "../training-storage";
import type { TrainingVariableTokens } from "../../src/variables";
import type { DlamiOs } from "./ami";
import type { NetworkMode } from "./network";

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
  /** The Terraform variables, as tokens (`TrainingVariables.tokens`): instance type, image tag, root volume, switches. */
  readonly variables: TrainingVariableTokens;
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
