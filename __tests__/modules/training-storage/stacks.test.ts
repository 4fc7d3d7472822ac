/** Tests of training-storage in the environment stacks; training-storage and the policy packs. */
import { describe, expect, it } from "vitest";
import { TrainingStorage } from "../../../modules/training-storage";
import { applyPolicy, policyReportOf } from "../../../src/policy";
import { resourceOf, resourcesOf } from "../../support/synth";
import { configWith } from "../../support/envs";
import { synthModule, testRole } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";
import { ACCOUNT, ALIAS, BUCKETS, KEY, PREFIX, rulesOf } from "../../support/storage/synth-fixtures";

describe("training-storage in the environment stacks", () => {
  it("GIVEN an env WHEN synthesized THEN the buckets are named <project>-<env>-<purpose>-<account id>", () => {
    const { json } = synthEnvironment(configWith({}));
    expect(resourceOf(json, "aws_s3_bucket", "storage_data").bucket).toBe(`gpu-training-infra-training-data-${ACCOUNT}`);
    expect(resourceOf(json, "aws_s3_bucket", "storage_outputs").bucket).toBe(`gpu-training-infra-training-outputs-${ACCOUNT}`);
  });

  it("GIVEN storage.dataBucketName WHEN synthesized THEN the data bucket uses it", () => {
    const { json } = synthEnvironment(configWith({ storage: { dataBucketName: "acme-training-inputs" } }));
    expect(resourceOf(json, "aws_s3_bucket", "storage_data").bucket).toBe("acme-training-inputs");
  });

  it("GIVEN storage.kmsKeyArn WHEN synthesized THEN both buckets use SSE-KMS with it", () => {
    const { json } = synthEnvironment(configWith({ storage: { kmsKeyArn: KEY } }));
    for (const bucket of BUCKETS) {
      const rule = resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", bucket).rule as Record<string, unknown>[];
      expect(rule[0]).toMatchObject({ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: KEY } });
    }
  });

  it("GIVEN storage.accessLogging WHEN synthesized THEN both buckets log to it", () => {
    const { json } = synthEnvironment(configWith({ storage: { accessLogging: { bucket: "acme-s3-logs" } } }));
    expect(Object.keys(resourcesOf(json, "aws_s3_bucket_logging")).sort()).toEqual([...BUCKETS]);
  });

  it("GIVEN storage.lifecycle WHEN synthesized THEN the configured days reach the rules", () => {
    const { json } = synthEnvironment(
      configWith({ storage: { lifecycle: { dataGlacierAfterDays: 120, outputsIntelligentTieringAfterDays: 7, outputsGlacierAfterDays: 60 } } }),
    );
    expect(rulesOf(json, "storage_data")[0]?.transition).toEqual([{ days: 120, storage_class: "GLACIER" }]);
    expect(rulesOf(json, "storage_outputs")[0]?.transition).toEqual([
      { days: 7, storage_class: "INTELLIGENT_TIERING" },
      { days: 60, storage_class: "GLACIER" },
    ]);
  });
});

describe("training-storage and the policy packs", () => {
  it("GIVEN every option and every grant WHEN synthesized with the policy packs THEN no rule is violated", () => {
    const { stack } = synthModule((stack) => {
      applyPolicy(stack);
      const s = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX, kmsKeyArn: ALIAS, accessLogging: { bucket: "acme-logs" } });
      const role = testRole(stack);
      s.grantReadData(role);
      s.grantWriteRuns(role);
      s.grantReadRuns(role);
    });
    expect(policyReportOf(stack)?.violations).toEqual([]);
  });
});
