/** Tests of training-storage outputs; the outputs bucket layout contract. */
import { TerraformOutput } from "cdktf";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINTS_DIR,
  FAILURE_MARKER,
  INTERRUPTED_MARKER,
  LOGS_DIR,
  OUTPUTS_DIR,
  RUNS_PREFIX,
  RUN_MARKERS,
  SUCCESS_MARKER,
  TrainingStorage,
  markerKey,
  runPrefix,
} from "../../../modules/training-storage";
import { GtiError } from "../../../src/errors";
import { outputsDeclaredUnder, synthModule } from "../../support/module-stack";
import { DATA_ARN, OUTPUTS_ARN, PREFIX, storage } from "../../support/storage/synth-fixtures";

describe("training-storage outputs", () => {
  it("GIVEN the module WHEN synthesized THEN it outputs both bucket names and ARNs, each described", () => {
    const { json } = storage();
    expect(json.output).toEqual({
      training_bucket: { value: "${aws_s3_bucket.storage_data.bucket}", description: expect.stringMatching(/training data/) },
      outputs_bucket: { value: "${aws_s3_bucket.storage_outputs.bucket}", description: expect.stringMatching(/runs\/RUN_ID\//) },
      training_bucket_arn: { value: DATA_ARN, description: "ARN of the training data bucket." },
      outputs_bucket_arn: { value: OUTPUTS_ARN, description: "ARN of the outputs (training runs) bucket." },
    });
  });

  it("GIVEN the module WHEN built THEN it offers its outputs and declares none itself (the stack does)", () => {
    const { built, json } = synthModule((stack) => new TrainingStorage(stack, "Storage", { namePrefix: PREFIX }), { outputs: false });
    expect(built.outputs.map((o) => o.name)).toEqual(["training_bucket", "outputs_bucket", "training_bucket_arn", "outputs_bucket_arn"]);
    expect(outputsDeclaredUnder(built)).toEqual([]);
    expect(json.output).toBeUndefined();
  });

  it("GIVEN the module WHEN its URIs are read THEN they point at the data bucket and the runs prefix", () => {
    const { json } = synthModule((stack) => {
      const built = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX });
      new TerraformOutput(stack, "data_uri", { value: built.dataUri });
      new TerraformOutput(stack, "runs_uri", { value: built.runsUri });
    });
    expect(json.output?.data_uri?.value).toBe("s3://${aws_s3_bucket.storage_data.bucket}/");
    expect(json.output?.runs_uri?.value).toBe("s3://${aws_s3_bucket.storage_outputs.bucket}/runs/");
  });
});

describe("the outputs bucket layout contract", () => {
  it("GIVEN the layout constants WHEN read THEN they match the documented runs/<run-id>/ tree", () => {
    expect([RUNS_PREFIX, CHECKPOINTS_DIR, LOGS_DIR, OUTPUTS_DIR]).toEqual(["runs/", "checkpoints/", "logs/", "outputs/"]);
    expect(RUN_MARKERS).toEqual([SUCCESS_MARKER, FAILURE_MARKER, INTERRUPTED_MARKER]);
    expect(RUN_MARKERS).toEqual(["SUCCESS", "FAILURE", "INTERRUPTED"]);
  });

  it("GIVEN a run id WHEN its keys are built THEN they sit under runs/<run-id>/", () => {
    expect(runPrefix("2025-01-02T03-04-05_llama")).toBe("runs/2025-01-02T03-04-05_llama/");
    expect(markerKey("r1", "INTERRUPTED")).toBe("runs/r1/INTERRUPTED");
  });

  it.each(["", "a/b", "..", "run id"])("GIVEN the run id %j WHEN its prefix is built THEN a GtiError rejects it", (runId) => {
    expect(() => runPrefix(runId)).toThrow(GtiError);
  });
});
