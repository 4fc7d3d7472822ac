import { describe, expect, it } from "vitest";
import {
  type EcrLifecyclePolicyDocument,
  GITHUB_ACTIONS_MAX_SESSION_SECONDS,
  TrainingRegistry,
  type TrainingRegistryProps,
  githubSubjects,
} from "../../../modules/training-registry";
import { GtiError } from "../../../src/errors";
import { applyPolicy, policyReportOf } from "../../../src/policy";
import { resourceOf, resourcesOf } from "../../support/synth";
import { configWith } from "../../support/envs";
import { type Statement, outputsDeclaredUnder, statementsOf, synthModule, testRole } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";

const PREFIX = "acme-dev";
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const EXISTING_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
const REPO_ARN = "${aws_ecr_repository.registry_training.arn}";
const PROVIDER_ARN = "${aws_iam_openid_connect_provider.registry_github.arn}";
const AUD = { test: "StringEquals", variable: "token.actions.githubusercontent.com:aud", values: ["sts.amazonaws.com"] };
const PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"];
const PUSH_AND_PULL = [...PULL, "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"];
const LOGIN_TOKEN: Statement = { sid: "GetRegistryLoginToken", effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] };
const ONE_REPO = { repositories: [{ repository: "acme/llm-training" }] };

function registry(props: Partial<TrainingRegistryProps> = {}) {
  return synthModule((stack) => new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX, ...props }));
}

function lifecyclePolicyOf(json: ReturnType<typeof registry>["json"]): EcrLifecyclePolicyDocument {
  return JSON.parse(String(resourceOf(json, "aws_ecr_lifecycle_policy", "registry_training").policy)) as EcrLifecyclePolicyDocument;
}

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

describe("training-registry GitHub Actions OIDC", () => {
  it("GIVEN no GitHub repositories WHEN synthesized THEN there is no OIDC provider, role or role policy", () => {
    const { json } = registry();
    expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toEqual({});
    expect(resourcesOf(json, "aws_iam_role")).toEqual({});
    expect(resourcesOf(json, "aws_iam_role_policy")).toEqual({});
  });

  it("GIVEN an existing provider ARN but no repositories WHEN synthesized THEN there is no role", () => {
    const { json } = registry({ github: { oidcProviderArn: EXISTING_PROVIDER } });
    expect(resourcesOf(json, "aws_iam_role")).toEqual({});
  });

  it("GIVEN repositories WHEN synthesized THEN a GitHub OIDC provider with audience sts.amazonaws.com is created", () => {
    const { json } = registry({ github: ONE_REPO });
    expect(resourceOf(json, "aws_iam_openid_connect_provider", "registry_github")).toEqual({
      url: "https://token.actions.githubusercontent.com",
      client_id_list: ["sts.amazonaws.com"],
    });
  });

  it("GIVEN repositories WHEN synthesized THEN the provider pins no thumbprint (IAM trusts GitHub through its root CAs)", () => {
    const { json } = registry({ github: ONE_REPO });
    expect(resourceOf(json, "aws_iam_openid_connect_provider", "registry_github")).not.toHaveProperty("thumbprint_list");
  });

  it("GIVEN an existing provider ARN WHEN synthesized THEN no provider is created and the role trusts the given one", () => {
    const { json } = registry({ github: { ...ONE_REPO, oidcProviderArn: EXISTING_PROVIDER } });
    expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toEqual({});
    expect(statementsOf(json, "registry_github_actions_trust")[0]?.principals).toEqual([
      { type: "Federated", identifiers: [EXISTING_PROVIDER] },
    ]);
  });

  it("GIVEN one repository WHEN synthesized THEN the trust policy lets only its main branch assume the role, with aud = sts.amazonaws.com", () => {
    const { json } = registry({ github: ONE_REPO });
    expect(statementsOf(json, "registry_github_actions_trust")).toEqual<Statement[]>([
      {
        sid: "GithubActionsExactSubjects",
        effect: "Allow",
        principals: [{ type: "Federated", identifiers: [PROVIDER_ARN] }],
        actions: ["sts:AssumeRoleWithWebIdentity"],
        condition: [
          AUD,
          { test: "StringEquals", variable: "token.actions.githubusercontent.com:sub", values: ["repo:acme/llm-training:ref:refs/heads/main"] },
        ],
      },
    ]);
  });

  it("GIVEN branches and environments of several repositories WHEN synthesized THEN each becomes one exact sub value", () => {
    const { json } = registry({
      github: {
        repositories: [
          { repository: "acme/llm-training", branches: ["main", "release/v2"], environments: ["production"] },
          { repository: "acme/vision", branches: ["trunk"] },
        ],
      },
    });
    const sub = statementsOf(json, "registry_github_actions_trust")[0]?.condition?.find((c) => c.variable.endsWith(":sub"));
    expect(sub).toEqual({
      test: "StringEquals",
      variable: "token.actions.githubusercontent.com:sub",
      values: [
        "repo:acme/llm-training:ref:refs/heads/main",
        "repo:acme/llm-training:ref:refs/heads/release/v2",
        "repo:acme/llm-training:environment:production",
        "repo:acme/vision:ref:refs/heads/trunk",
      ],
    });
  });

  it("GIVEN wildcards allowed and used WHEN synthesized THEN wildcard subs get their own StringLike statement", () => {
    const { json } = registry({
      github: { allowWildcards: true, repositories: [{ repository: "acme/llm-training", branches: ["main", "release/*"] }] },
    });
    const statements = statementsOf(json, "registry_github_actions_trust");
    expect(statements.map((s) => [s.sid, s.condition])).toEqual([
      [
        "GithubActionsExactSubjects",
        [AUD, { test: "StringEquals", variable: "token.actions.githubusercontent.com:sub", values: ["repo:acme/llm-training:ref:refs/heads/main"] }],
      ],
      [
        "GithubActionsWildcardSubjects",
        [AUD, { test: "StringLike", variable: "token.actions.githubusercontent.com:sub", values: ["repo:acme/llm-training:ref:refs/heads/release/*"] }],
      ],
    ]);
  });

  it("GIVEN wildcards allowed but not used WHEN synthesized THEN every sub is matched with StringEquals", () => {
    const { json } = registry({ github: { ...ONE_REPO, allowWildcards: true } });
    const tests = statementsOf(json, "registry_github_actions_trust").flatMap((s) => s.condition?.map((c) => c.test) ?? []);
    expect(tests).toEqual(["StringEquals", "StringEquals"]);
  });

  it("GIVEN a wildcard without allowWildcards WHEN constructed THEN a GtiError refuses it", () => {
    expect(() => registry({ github: { repositories: [{ repository: "acme/x", branches: ["*"] }] } })).toThrow(
      /"\*" \(acme\/x\) holds a \* but wildcards are not allowed/,
    );
  });

  it("GIVEN a repository with no branch and no environment WHEN constructed THEN a GtiError says none of its workflows could push", () => {
    expect(() => registry({ github: { repositories: [{ repository: "acme/x", branches: [] }] } })).toThrow(
      /allows no branch and no environment/,
    );
  });

  it("GIVEN a malformed owner/repo WHEN constructed THEN a GtiError names it", () => {
    expect(() => registry({ github: { repositories: [{ repository: "acme" }] } })).toThrow(GtiError);
    expect(() => registry({ github: { repositories: [{ repository: "acme" }] } })).toThrow(/"acme" is not a GitHub repository/);
  });

  it("GIVEN a branch name with a colon WHEN the subjects are computed THEN it is refused (it could forge another sub)", () => {
    expect(githubSubjects([{ repository: "acme/x", branches: ["main:environment:prod"] }], false).problems).toEqual([
      '"main:environment:prod" (acme/x) is not a valid branch or environment name',
    ]);
  });

  it("GIVEN repositories WHEN synthesized THEN the role is <prefix>-github-actions, with a 1-hour max session and the trust policy", () => {
    const { json } = registry({ github: ONE_REPO });
    expect(resourceOf(json, "aws_iam_role", "registry_github_actions")).toMatchObject({
      name: `${PREFIX}-github-actions`,
      max_session_duration: 3600,
      assume_role_policy: "${data.aws_iam_policy_document.registry_github_actions_trust.json}",
    });
    expect(GITHUB_ACTIONS_MAX_SESSION_SECONDS).toBe(3600);
  });

  it("GIVEN a role name WHEN synthesized THEN it is used", () => {
    const { json } = registry({ github: { ...ONE_REPO, roleName: "gha-image-push" } });
    expect(resourceOf(json, "aws_iam_role", "registry_github_actions").name).toBe("gha-image-push");
  });

  it("GIVEN a role name over 64 characters WHEN constructed THEN a GtiError refuses it", () => {
    expect(() => registry({ github: { ...ONE_REPO, roleName: "r".repeat(65) } })).toThrow(/is not a valid IAM role name/);
  });

  it("GIVEN the role WHEN synthesized THEN it may get a login token (on *) and push and pull this repository only", () => {
    const { json } = registry({ github: ONE_REPO });
    expect(statementsOf(json, "registry_github_actions_push_images")).toEqual<Statement[]>([
      LOGIN_TOKEN,
      { sid: "PushAndPullImages", effect: "Allow", actions: PUSH_AND_PULL, resources: [REPO_ARN] },
    ]);
    expect(resourceOf(json, "aws_iam_role_policy", "registry_github_actions_push_images")).toMatchObject({
      name: "push-images",
      role: "${aws_iam_role.registry_github_actions.name}",
    });
  });
});

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
