/** Tests of training-storage lifecycle. */
import { describe, expect, it } from "vitest";
import { DEFAULT_STORAGE_LIFECYCLE } from "../../../modules/training-storage";
import { resourceOf } from "../../support/synth";
import { BUCKETS, rulesOf, storage } from "../../support/storage/synth-fixtures";

describe("training-storage lifecycle", () => {
  const housekeeping = (noncurrentDays: number, abortDays: number) => [
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: [{ prefix: "" }],
      noncurrent_version_expiration: [{ noncurrent_days: noncurrentDays }],
      expiration: [{ expired_object_delete_marker: true }],
    },
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: [{ prefix: "" }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: abortDays }],
    },
  ];

  it("GIVEN the defaults WHEN synthesized THEN they are the seed's figures", () => {
    expect(DEFAULT_STORAGE_LIFECYCLE).toEqual({
      dataGlacierAfterDays: 90,
      outputsIntelligentTieringAfterDays: 30,
      outputsGlacierAfterDays: 180,
      noncurrentVersionExpirationDays: 30,
      abortIncompleteMultipartUploadDays: 7,
    });
  });

  it("GIVEN the defaults WHEN synthesized THEN data objects go to Glacier after 90 days, old versions expire after 30, uploads abort after 7", () => {
    const { json } = storage();
    expect(rulesOf(json, "storage_data")).toEqual([
      { id: "data-to-glacier", status: "Enabled", filter: [{ prefix: "" }], transition: [{ days: 90, storage_class: "GLACIER" }] },
      ...housekeeping(30, 7),
    ]);
  });

  it("GIVEN the defaults WHEN synthesized THEN outputs go to Intelligent-Tiering after 30 days and Glacier after 180", () => {
    const { json } = storage();
    expect(rulesOf(json, "storage_outputs")).toEqual([
      {
        id: "outputs-to-intelligent-tiering-then-glacier",
        status: "Enabled",
        filter: [{ prefix: "" }],
        transition: [
          { days: 30, storage_class: "INTELLIGENT_TIERING" },
          { days: 180, storage_class: "GLACIER" },
        ],
      },
      ...housekeeping(30, 7),
    ]);
  });

  it("GIVEN dataGlacierAfterDays WHEN synthesized THEN the data transition uses it", () => {
    const { json } = storage({ lifecycle: { dataGlacierAfterDays: 45 } });
    expect(rulesOf(json, "storage_data")[0]?.transition).toEqual([{ days: 45, storage_class: "GLACIER" }]);
  });

  it("GIVEN outputsIntelligentTieringAfterDays WHEN synthesized THEN the outputs' first transition uses it", () => {
    const { json } = storage({ lifecycle: { outputsIntelligentTieringAfterDays: 0 } });
    expect(rulesOf(json, "storage_outputs")[0]?.transition).toContainEqual({ days: 0, storage_class: "INTELLIGENT_TIERING" });
  });

  it("GIVEN outputsGlacierAfterDays WHEN synthesized THEN the outputs' Glacier transition uses it", () => {
    const { json } = storage({ lifecycle: { outputsGlacierAfterDays: 365 } });
    expect(rulesOf(json, "storage_outputs")[0]?.transition).toContainEqual({ days: 365, storage_class: "GLACIER" });
  });

  it.each(BUCKETS)("GIVEN noncurrentVersionExpirationDays WHEN synthesized THEN %s expires old versions after it", (bucket) => {
    const { json } = storage({ lifecycle: { noncurrentVersionExpirationDays: 14 } });
    expect(rulesOf(json, bucket)).toContainEqual(housekeeping(14, 7)[0]);
  });

  it.each(BUCKETS)("GIVEN abortIncompleteMultipartUploadDays WHEN synthesized THEN %s aborts uploads after it", (bucket) => {
    const { json } = storage({ lifecycle: { abortIncompleteMultipartUploadDays: 2 } });
    expect(rulesOf(json, bucket)).toContainEqual(housekeeping(30, 2)[1]);
  });

  it.each(BUCKETS)("GIVEN %s WHEN synthesized THEN its lifecycle waits for versioning", (bucket) => {
    const { json } = storage();
    expect(resourceOf(json, "aws_s3_bucket_lifecycle_configuration", bucket).depends_on).toEqual([`aws_s3_bucket_versioning.${bucket}`]);
  });

  it("GIVEN Glacier no later than Intelligent-Tiering WHEN constructed THEN a GtiError names both values", () => {
    expect(() => storage({ lifecycle: { outputsIntelligentTieringAfterDays: 60, outputsGlacierAfterDays: 60 } })).toThrow(
      /outputsGlacierAfterDays = 60 must be later than outputsIntelligentTieringAfterDays = 60/,
    );
  });

  it("GIVEN a fractional number of days WHEN constructed THEN a GtiError says it must be whole", () => {
    expect(() => storage({ lifecycle: { noncurrentVersionExpirationDays: 1.5 } })).toThrow(
      /noncurrentVersionExpirationDays = 1.5 must be a whole number of days >= 1/,
    );
  });
});
