/**
 * The S3 actions each storage grant gives, as named lists (like aws-cdk's `aws-s3/lib/perms.ts`), kept to what the
 * tools really call: `aws s3 sync`/`cp`, boto3 and the AWS SDKs.
 */

/** Read objects (GetObject also covers HeadObject). */
export const OBJECT_READ_ACTIONS = ["s3:GetObject"] as const;

/** List keys (ListObjectsV2, and the listing `aws s3 sync` does before copying). */
export const BUCKET_LIST_ACTIONS = ["s3:ListBucket"] as const;

/**
 * Write objects, including multipart uploads (CreateMultipartUpload, UploadPart and CompleteMultipartUpload are all
 * authorized by s3:PutObject) and cleaning up a failed one. No delete: `aws s3 sync` without `--delete` only puts, and
 * markers are overwritten, not deleted.
 */
export const OBJECT_WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] as const;

/**
 * Delete a run's INTERRUPTED marker: when a resumed run ends, the runtime removes it so the run keeps exactly one
 * marker. Granted on `runs/<any>/INTERRUPTED` keys only.
 */
export const MARKER_DELETE_ACTIONS = ["s3:DeleteObject"] as const;
