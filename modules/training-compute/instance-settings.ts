/** Instance settings every training instance shares, shaped for both `aws_instance` and launch templates. */

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
