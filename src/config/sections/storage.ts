/** Settings of the training-storage module (the data and outputs buckets). */
import { z } from "zod";
import { DEFAULT_STORAGE_LIFECYCLE } from "../../../modules/training-storage/lifecycle";
import { bucketName, intInRange, kmsKeyArn, rule } from "./common";

export const storageLifecycleSchema = z
  .strictObject({
    /** Days after which data-bucket objects move to S3 Glacier Flexible Retrieval. @default 90 (the seed's figure) */
    dataGlacierAfterDays: intInRange(1, 3650, "days").default(DEFAULT_STORAGE_LIFECYCLE.dataGlacierAfterDays),
    /** Days after which outputs move to S3 Intelligent-Tiering. @default 30 */
    outputsIntelligentTieringAfterDays: intInRange(0, 3650, "days").default(DEFAULT_STORAGE_LIFECYCLE.outputsIntelligentTieringAfterDays),
    /** Days after which outputs move to S3 Glacier Flexible Retrieval; must be later than Intelligent-Tiering. @default 180 */
    outputsGlacierAfterDays: intInRange(1, 3650, "days").default(DEFAULT_STORAGE_LIFECYCLE.outputsGlacierAfterDays),
    /** Days after which noncurrent (overwritten or deleted) object versions expire. @default 30 */
    noncurrentVersionExpirationDays: intInRange(1, 3650, "days").default(DEFAULT_STORAGE_LIFECYCLE.noncurrentVersionExpirationDays),
    /** Days after which incomplete multipart uploads are aborted. @default 7 */
    abortIncompleteMultipartUploadDays: intInRange(1, 365, "days").default(DEFAULT_STORAGE_LIFECYCLE.abortIncompleteMultipartUploadDays),
  })
  .superRefine((value, ctx) => {
    if (value.outputsGlacierAfterDays <= value.outputsIntelligentTieringAfterDays) {
      ctx.addIssue({
        code: "custom",
        path: ["outputsGlacierAfterDays"],
        message: rule(
          `must be later than outputsIntelligentTieringAfterDays (${value.outputsIntelligentTieringAfterDays})`,
          "raise outputsGlacierAfterDays or lower outputsIntelligentTieringAfterDays",
        ),
      });
    }
  });

export const storageSchema = z.strictObject({
  /** Name of the data (training inputs) bucket. @default "<project>-<env>-data-<account id>" */
  dataBucketName: bucketName.optional(),
  /** Name of the outputs (checkpoints, logs, markers) bucket. @default "<project>-<env>-outputs-<account id>" */
  outputsBucketName: bucketName.optional(),
  /** KMS key for SSE-KMS with S3 Bucket Keys on both buckets. @default SSE-S3 (AES256, no key to manage) */
  kmsKeyArn: kmsKeyArn.optional(),
  /** Server access logging to an existing log bucket. @default off */
  accessLogging: z
    .strictObject({
      /** Name of the existing bucket that receives the logs. */
      bucket: bucketName,
      /** Key prefix for the logs; the bucket's name is appended. @default "s3-access-logs/" */
      prefix: z.string().default("s3-access-logs/"),
    })
    .optional(),
  /** Lifecycle rules. @default the seed's values (see each field) */
  lifecycle: storageLifecycleSchema.prefault({}),
});
