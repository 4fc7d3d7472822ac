/** Tests of training-registry ECR repository; training-registry lifecycle policy. */
import { describe, expect, it } from "vitest";
import { resourceOf } from "../../support/synth";
import { KEY, PREFIX, lifecyclePolicyOf, registry } from "../../support/registry/synth-fixtures";

describe("training-registry ECR repository", () => {
  it("GIVEN no repository name WHEN synthesized THEN it is <prefix>-training", () => {
    const { json } = registry();
    expect(resourceOf(json, "aws_ecr_repository", "registry_training").name).toBe(`${PREFIX}-training`);
  });

  it("GIVEN a repository name WHEN synthesized THEN it is used", () => {
    const { json } = registry({ repositoryName: "ml/llm-training" });
    expect(resourceOf(json, "aws_ecr_repository", "registry_training").name).toBe("ml/llm-training");
  });

  it("GIVEN an invalid repository name WHEN constructed THEN a GtiError names it", () => {
    expect(() => registry({ repositoryName: "LLM_Training" })).toThrow(/"LLM_Training" is not a valid ECR repository name/);
  });

  it("GIVEN the repository WHEN synthesized THEN images are scanned on push", () => {
    const { json } = registry();
    expect(resourceOf(json, "aws_ecr_repository", "registry_training").image_scanning_configuration).toEqual({ scan_on_push: true });
  });

  it("GIVEN no KMS key WHEN synthesized THEN the repository is encrypted with AES256", () => {
    const { json } = registry();
    expect(resourceOf(json, "aws_ecr_repository", "registry_training").encryption_configuration).toEqual([{ encryption_type: "AES256" }]);
  });

  it("GIVEN a KMS key WHEN synthesized THEN the repository is encrypted with it", () => {
    const { json } = registry({ kmsKeyArn: KEY });
    expect(resourceOf(json, "aws_ecr_repository", "registry_training").encryption_configuration).toEqual([
      { encryption_type: "KMS", kms_key: KEY },
    ]);
  });

  it("GIVEN the repository WHEN synthesized THEN tags are mutable (the pipeline re-pushes latest)", () => {
    const { json } = registry();
    expect(resourceOf(json, "aws_ecr_repository", "registry_training").image_tag_mutability).toBe("MUTABLE");
  });

  it("GIVEN the repository WHEN synthesized THEN it is never force-deleted and not prevent_destroy'd (images are rebuildable)", () => {
    const { json } = registry();
    const repository = resourceOf(json, "aws_ecr_repository", "registry_training");
    expect(repository.force_delete).toBe(false);
    expect(repository).not.toHaveProperty("lifecycle");
  });
});

describe("training-registry lifecycle policy", () => {
  it("GIVEN the defaults WHEN synthesized THEN it keeps 3 untagged images, then the last 10 tagged ones", () => {
    const { json } = registry();
    expect(lifecyclePolicyOf(json)).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: "Keep at most 3 untagged images",
          selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 3 },
          action: { type: "expire" },
        },
        {
          rulePriority: 2,
          description: "Keep the last 10 tagged images",
          selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: 10 },
          action: { type: "expire" },
        },
      ],
    });
  });

  it("GIVEN keepTaggedImages WHEN synthesized THEN the tagged rule keeps that many", () => {
    const { json } = registry({ keepTaggedImages: 25 });
    expect(lifecyclePolicyOf(json).rules[1]?.selection.countNumber).toBe(25);
  });

  it("GIVEN keepUntaggedImages WHEN synthesized THEN the untagged rule keeps that many", () => {
    const { json } = registry({ keepUntaggedImages: 1 });
    expect(lifecyclePolicyOf(json).rules[0]?.selection.countNumber).toBe(1);
  });

  it("GIVEN the policy WHEN synthesized THEN it applies to the training repository", () => {
    const { json } = registry();
    expect(resourceOf(json, "aws_ecr_lifecycle_policy", "registry_training").repository).toBe("${aws_ecr_repository.registry_training.name}");
  });

  it.each([0, 2.5])("GIVEN keepTaggedImages = %s WHEN constructed THEN a GtiError says it must be a whole number >= 1", (count) => {
    expect(() => registry({ keepTaggedImages: count })).toThrow(/keepTaggedImages = .* must be a whole number >= 1/);
  });
});
