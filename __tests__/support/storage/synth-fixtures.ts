/** The storage module synthesized for __tests__/modules/training-storage/. */
import { TrainingStorage, type TrainingStorageProps } from "../../../modules/training-storage";
import { resourceOf } from "../synth";
import { synthModule } from "../module-stack";

export const PREFIX = "acme-dev";

export const ACCOUNT = "${data.aws_caller_identity.current.account_id}";

export const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

export const ALIAS = "arn:aws:kms:us-east-1:123456789012:alias/training";

export const BUCKETS = ["storage_data", "storage_outputs"] as const;

export function storage(props: Partial<TrainingStorageProps> = {}) {
  return synthModule((stack) => new TrainingStorage(stack, "Storage", { namePrefix: PREFIX, ...props }));
}

export const DATA_ARN = "${aws_s3_bucket.storage_data.arn}";

export const OUTPUTS_ARN = "${aws_s3_bucket.storage_outputs.arn}";

export function rulesOf(json: ReturnType<typeof storage>["json"], bucket: (typeof BUCKETS)[number]) {
  return resourceOf(json, "aws_s3_bucket_lifecycle_configuration", bucket).rule as Record<string, unknown>[];
}
