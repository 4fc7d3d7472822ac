/** The buckets' lifecycle settings, their defaults, the rules both buckets share, and their validation. */
import type { S3BucketLifecycleConfigurationRule } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { GtiError } from "../../src/errors";

/** Lifecycle settings of the two buckets. Every field is optional; the defaults are the figures in modules/training-storage/README.md. */
export interface TrainingStorageLifecycle {
  /** Days after which data-bucket objects move to S3 Glacier Flexible Retrieval. @default 90 */
  readonly dataGlacierAfterDays?: number;
  /** Days after which outputs move to S3 Intelligent-Tiering (0: at once). @default 30 */
  readonly outputsIntelligentTieringAfterDays?: number;
  /** Days after which outputs move to S3 Glacier Flexible Retrieval; later than Intelligent-Tiering. @default 180 */
  readonly outputsGlacierAfterDays?: number;
  /** Days after which noncurrent (overwritten or deleted) object versions expire, in both buckets. @default 30 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Days after which incomplete multipart uploads are aborted, in both buckets. @default 7 */
  readonly abortIncompleteMultipartUploadDays?: number;
}

/** The lifecycle defaults (documented in modules/training-storage/README.md). */
export const DEFAULT_STORAGE_LIFECYCLE: Required<TrainingStorageLifecycle> = {
  dataGlacierAfterDays: 90,
  outputsIntelligentTieringAfterDays: 30,
  outputsGlacierAfterDays: 180,
  noncurrentVersionExpirationDays: 30,
  abortIncompleteMultipartUploadDays: 7,
};

/** Rules both buckets share: expire noncurrent versions (and the delete markers left alone), abort stale uploads. */
export function housekeepingRules(noncurrentDays: number, abortDays: number): S3BucketLifecycleConfigurationRule[] {
  return [
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: [{ prefix: "" }],
      noncurrentVersionExpiration: [{ noncurrentDays }],
      // A delete marker whose older versions have all expired hides nothing any more: remove it too.
      expiration: [{ expiredObjectDeleteMarker: true }],
    },
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: [{ prefix: "" }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: abortDays }],
    },
  ];
}

/** The fields of `value` that are set (so defaults fill the others). */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** @throws GtiError naming every lifecycle value that is not a whole number of days in range, or out of order */
export function validateLifecycle(path: string, lifecycle: Required<TrainingStorageLifecycle>): void {
  const problems: string[] = [];
  const whole = (field: keyof TrainingStorageLifecycle, min: number): void => {
    const value = lifecycle[field];
    if (!Number.isInteger(value) || value < min) problems.push(`${field} = ${value} must be a whole number of days >= ${min}`);
  };
  whole("dataGlacierAfterDays", 1);
  whole("outputsIntelligentTieringAfterDays", 0);
  whole("outputsGlacierAfterDays", 1);
  whole("noncurrentVersionExpirationDays", 1);
  whole("abortIncompleteMultipartUploadDays", 1);
  if (lifecycle.outputsGlacierAfterDays <= lifecycle.outputsIntelligentTieringAfterDays) {
    problems.push(
      `outputsGlacierAfterDays = ${lifecycle.outputsGlacierAfterDays} must be later than outputsIntelligentTieringAfterDays = ${lifecycle.outputsIntelligentTieringAfterDays}`,
    );
  }
  if (problems.length > 0) {
    throw new GtiError(`Invalid lifecycle for ${path}: ${problems.join("; ")}. Fix: change the values in the storage lifecycle settings.`);
  }
}
