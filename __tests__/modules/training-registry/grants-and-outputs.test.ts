/**
 * Tests of training-registry grants; training-registry outputs; training-registry in the environment stacks;
 * training-registry and the policy packs.
 */
import { describe, expect, it } from "vitest";
import { TrainingRegistry } from "../../../modules/training-registry";
import { applyPolicy, policyReportOf } from "../../../src/policy";
import { resourceOf, resourcesOf } from "../../support/synth";
import { configWith } from "../../support/envs";
import { type Statement, outputsDeclaredUnder, statementsOf, synthModule, testRole } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";
import {
  EXISTING_PROVIDER,
  KEY,
  LOGIN_TOKEN,
  ONE_REPO,
  PREFIX,
  PULL,
  PUSH_AND_PULL,
  REPO_ARN,
  lifecyclePolicyOf,
  registry,
} from "../../support/registry/synth-fixtures";

describe("training-registry grants", () => {
  it("GIVEN grantPull WHEN synthesized THEN the role may get a login token and pull this repository only", () => {
    const { json } = synthModule((stack) => new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX }).grantPull(testRole(stack)));
    expect(statementsOf(json, "compute_instance_pull_images")).toEqual<Statement[]>([
      LOGIN_TOKEN,
      { sid: "PullImages", effect: "Allow", actions: PULL, resources: [REPO_ARN] },
    ]);
  });

  it("GIVEN grantPush WHEN synthesized THEN the role may get a login token and push and pull this repository only", () => {
    const { json } = synthModule((stack) => new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX }).grantPush(testRole(stack, ["ci", "builder"])));
    expect(statementsOf(json, "ci_builder_push_images")).toEqual<Statement[]>([
      LOGIN_TOKEN,
      { sid: "PushAndPullImages", effect: "Allow", actions: PUSH_AND_PULL, resources: [REPO_ARN] },
    ]);
  });

  it("GIVEN grantPull WHEN synthesized THEN an inline policy named pull-images is put on the role", () => {
    const { json } = synthModule((stack) => new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX }).grantPull(testRole(stack)));
    expect(resourceOf(json, "aws_iam_role_policy", "compute_instance_pull_images")).toMatchObject({
      name: "pull-images",
      role: "${aws_iam_role.compute_instance.name}",
      policy: "${data.aws_iam_policy_document.compute_instance_pull_images.json}",
    });
  });
});

describe("training-registry outputs", () => {
  it("GIVEN the module WHEN synthesized THEN it outputs the repository URL, described", () => {
    const { json } = registry();
    expect(json.output?.ecr_repository_url).toEqual({
      value: "${aws_ecr_repository.registry_training.repository_url}",
      description: "URL of the ECR repository for training images; the pipeline pushes the git SHA and latest tags.",
    });
  });

  it("GIVEN a role WHEN synthesized THEN github_actions_role_arn is its ARN", () => {
    const { json } = registry({ github: ONE_REPO });
    expect(json.output?.github_actions_role_arn?.value).toBe("${aws_iam_role.registry_github_actions.arn}");
    expect(json.output?.github_actions_role_arn?.description).toMatch(/^ARN of the IAM role GitHub Actions assumes through OIDC/);
  });

  it("GIVEN no role WHEN synthesized THEN github_actions_role_arn is the empty string (never null)", () => {
    const { json } = registry();
    expect(json.output?.github_actions_role_arn?.value).toBe("");
  });

  it("GIVEN the module WHEN built THEN it offers its outputs and declares none itself (the stack does)", () => {
    const { built, json } = synthModule((stack) => new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX }), { outputs: false });
    expect(built.outputs.map((o) => o.name)).toEqual(["ecr_repository_url", "github_actions_role_arn"]);
    expect(outputsDeclaredUnder(built)).toEqual([]);
    expect(json.output).toBeUndefined();
  });
});

describe("training-registry in the environment stacks", () => {
  it("GIVEN the shipped training env WHEN synthesized THEN it trusts no GitHub repository: no provider, no role", () => {
    const { json } = synthEnvironment(configWith({}));
    expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toEqual({});
    expect(resourcesOf(json, "aws_iam_role").registry_github_actions).toBeUndefined();
    expect(json.output?.github_actions_role_arn?.value).toBe("");
  });

  it("GIVEN one repository with the default branches WHEN synthesized THEN only its main branch may push", () => {
    const { json } = synthEnvironment(configWith({ registry: { github: { repositories: [{ repository: "acme-ml/llm-training" }] } } }));
    const sub = statementsOf(json, "registry_github_actions_trust")[0]?.condition?.find((c) => c.variable.endsWith(":sub"));
    expect(sub?.values).toEqual(["repo:acme-ml/llm-training:ref:refs/heads/main"]);
  });

  it("GIVEN registry settings WHEN synthesized THEN the name, key and retention reach the repository", () => {
    const { json } = synthEnvironment(
      configWith({ registry: { repositoryName: "llm-training", kmsKeyArn: KEY, keepTaggedImages: 20, keepUntaggedImages: 5 } }),
    );
    expect(resourceOf(json, "aws_ecr_repository", "registry_training")).toMatchObject({
      name: "llm-training",
      encryption_configuration: [{ encryption_type: "KMS", kms_key: KEY }],
    });
    expect(lifecyclePolicyOf(json).rules.map((r) => r.selection.countNumber)).toEqual([5, 20]);
  });

  it("GIVEN registry.github.oidcProviderArn WHEN synthesized THEN the env reuses that provider", () => {
    const { json } = synthEnvironment(
      configWith({ registry: { github: { oidcProviderArn: EXISTING_PROVIDER, repositories: [{ repository: "acme-ml/llm-training" }] } } }),
    );
    expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toEqual({});
    expect(statementsOf(json, "registry_github_actions_trust")[0]?.principals?.[0]?.identifiers).toEqual([EXISTING_PROVIDER]);
  });

  it("GIVEN registry.github.environments WHEN synthesized THEN the environment sub is trusted", () => {
    const { json } = synthEnvironment(
      configWith({ registry: { github: { repositories: [{ repository: "acme/train", branches: [], environments: ["release"] }] } } }),
    );
    const sub = statementsOf(json, "registry_github_actions_trust")[0]?.condition?.find((c) => c.variable.endsWith(":sub"));
    expect(sub?.values).toEqual(["repo:acme/train:environment:release"]);
  });
});

describe("training-registry and the policy packs", () => {
  it("GIVEN KMS, wildcards, environments and grants WHEN synthesized with the policy packs THEN no rule is violated", () => {
    const { stack } = synthModule((stack) => {
      applyPolicy(stack);
      const r = new TrainingRegistry(stack, "Registry", {
        namePrefix: PREFIX,
        kmsKeyArn: KEY,
        github: {
          allowWildcards: true,
          repositories: [{ repository: "acme/llm-training", branches: ["main", "release/*"], environments: ["production"] }],
        },
      });
      r.grantPull(testRole(stack));
    });
    expect(policyReportOf(stack)?.violations).toEqual([]);
  });
});
