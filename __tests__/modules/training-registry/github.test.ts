/** Tests of training-registry GitHub Actions OIDC. */
import { describe, expect, it } from "vitest";
import { GITHUB_ACTIONS_MAX_SESSION_SECONDS, githubSubjects } from "../../../modules/training-registry";
import { GtiError } from "../../../src/errors";
import { resourceOf, resourcesOf } from "../../support/synth";
import { type Statement, statementsOf } from "../../support/module-stack";
import {
  EXISTING_PROVIDER,
  LOGIN_TOKEN,
  ONE_REPO,
  PREFIX,
  PUSH_AND_PULL,
  REPO_ARN,
  registry,
} from "../../support/registry/synth-fixtures";

const PROVIDER_ARN = "${aws_iam_openid_connect_provider.registry_github.arn}";
const AUD = { test: "StringEquals", variable: "token.actions.githubusercontent.com:aud", values: ["sts.amazonaws.com"] };
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
