/**
 * training-registry: where training images live, and who may push them.
 *
 * - an **ECR repository**: scan on push, encryption (AES256, or a KMS key), mutable tags (the pipeline re-pushes
 *   `latest`), a lifecycle policy keeping the last N tagged and M untagged images, `force_delete = false`;
 * - **GitHub Actions OIDC**: the IAM OIDC provider for `token.actions.githubusercontent.com` (or an existing one) and a
 *   role that only the configured repositories' branches and environments can assume, allowed to push and pull this
 *   repository and nothing else, for one hour at most;
 * - least-privilege grants for other modules' roles: `grantPull` (training instances), `grantPush`.
 */
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { Token } from "cdktf";
import { Construct } from "constructs";
import { GtiError } from "../../src/errors";
import { type Grant, grantToRole } from "../../src/iam";
import { address } from "../../src/naming";
import type { OutputSpec } from "../../src/outputs";
import {
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_HOST,
  GITHUB_OIDC_URL,
  type GithubRepositoryAccess,
  type GithubSubjects,
  githubSubjects,
} from "./github";
import { type EcrLifecyclePolicyDocument, imageRetentionPolicy } from "./lifecycle-policy";
import { AUTH_TOKEN_ACTIONS, PULL_ACTIONS, PUSH_ACTIONS } from "./perms";

export * from "./github";
export * from "./lifecycle-policy";
export * from "./perms";

/** Longest session the GitHub Actions role allows (seconds): one hour, ample for a build and push. */
export const GITHUB_ACTIONS_MAX_SESSION_SECONDS = 3600;

/** ECR repository names (lowercase path segments separated by `/`). */
export const ECR_REPOSITORY_NAME_PATTERN = /^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** Who may push images from GitHub Actions. */
export interface GithubActionsProps {
  /**
   * Repositories whose workflows may assume the role, with their branches and environments.
   * @default none: no OIDC provider and no role are created
   */
  readonly repositories?: readonly GithubRepositoryAccess[];
  /**
   * ARN of the account's existing GitHub OIDC provider (an account holds only one per issuer URL).
   * @default a provider for https://token.actions.githubusercontent.com is created (when repositories are given)
   */
  readonly oidcProviderArn?: string;
  /** Accept `*` in branch and environment names (matched with `StringLike`). @default false: exact names only */
  readonly allowWildcards?: boolean;
  /** Name of the role. @default `<namePrefix>-github-actions` */
  readonly roleName?: string;
}

export interface TrainingRegistryProps {
  /** Start of generated names, usually `<project>-<env>` (e.g. `gpu-training-infra-dev`). */
  readonly namePrefix: string;
  /** ECR repository name. @default `<namePrefix>-training` */
  readonly repositoryName?: string;
  /**
   * KMS key ARN for the repository (ECR uses it through a grant it creates; pushing and pulling need no KMS
   * permissions). Changing encryption replaces the repository. @default AES256 (AWS-managed, free)
   */
  readonly kmsKeyArn?: string;
  /** How many tagged images to keep (older ones expire). @default 10 */
  readonly keepTaggedImages?: number;
  /** How many untagged images to keep (older ones expire). @default 3 */
  readonly keepUntaggedImages?: number;
  /** GitHub Actions OIDC access. @default no GitHub access (no provider, no role) */
  readonly github?: GithubActionsProps;
}

/**
 * The training image repository and who may push to it.
 *
 * @example
 * const registry = new TrainingRegistry(this, "Registry", {
 *   namePrefix: "gpu-training-infra-dev",
 *   github: { repositories: [{ repository: "my-org/llm-training", branches: ["main"] }] },
 * });
 * registry.grantPull(instanceRole);  // aws_iam_role_policy.<role>_pull_images
 * registry.repositoryUrl;            // "${aws_ecr_repository.registry_training.repository_url}"
 */
export class TrainingRegistry extends Construct {
  /** The Terraform outputs this module offers; the stack declares them (`addOutputs`, src/outputs.ts). */
  public readonly outputs: readonly OutputSpec[];
  /** The repository: `aws_ecr_repository.registry_training`. */
  public readonly repository: EcrRepository;
  /** Its lifecycle policy resource: `aws_ecr_lifecycle_policy.registry_training`. */
  public readonly lifecyclePolicy: EcrLifecyclePolicy;
  /** The lifecycle policy as a typed object (what `lifecyclePolicy.policy` serializes). */
  public readonly lifecyclePolicyDocument: EcrLifecyclePolicyDocument;
  /** The OIDC provider this module created, if it created one: `aws_iam_openid_connect_provider.registry_github`. */
  public readonly oidcProvider: IamOpenidConnectProvider | undefined;
  /** ARN of the OIDC provider the role trusts (created or given); undefined without GitHub repositories. */
  public readonly oidcProviderArn: string | undefined;
  /** The role GitHub Actions assumes: `aws_iam_role.registry_github_actions`; undefined without repositories. */
  public readonly githubActionsRole: IamRole | undefined;
  /** The `sub` values the role trusts. */
  public readonly githubSubjects: GithubSubjects;

  public constructor(scope: Construct, id: string, props: TrainingRegistryProps) {
    super(scope, id);
    const keepTagged = props.keepTaggedImages ?? 10;
    const keepUntagged = props.keepUntaggedImages ?? 3;
    const repositoryName = props.repositoryName ?? `${props.namePrefix}-training`;
    const github = props.github ?? {};
    const { subjects, problems: subjectProblems } = githubSubjects(github.repositories ?? [], github.allowWildcards ?? false);
    const problems = [...subjectProblems];
    for (const [field, value] of [["keepTaggedImages", keepTagged], ["keepUntaggedImages", keepUntagged]] as const) {
      if (!Number.isInteger(value) || value < 1) problems.push(`${field} = ${value} must be a whole number >= 1`);
    }
    if (!Token.isUnresolved(repositoryName) && !ECR_REPOSITORY_NAME_PATTERN.test(repositoryName)) {
      problems.push(`"${repositoryName}" is not a valid ECR repository name`);
    }
    const roleName = github.roleName ?? `${props.namePrefix}-github-actions`;
    if (!Token.isUnresolved(roleName) && !/^[\w+=,.@-]{1,64}$/.test(roleName)) {
      problems.push(`"${roleName}" is not a valid IAM role name (1-64 letters, digits and +=,.@_-)`);
    }
    if (problems.length > 0) {
      throw new GtiError(
        `Invalid registry settings for ${this.node.path}: ${problems.join("; ")}. ` +
          "Fix: correct the registry settings (see the registry section of the README).",
      );
    }
    this.githubSubjects = subjects;

    this.repository = address(
      new EcrRepository(this, "Repository", {
        name: repositoryName,
        // MUTABLE: the pipeline re-pushes `latest` on every build; IMMUTABLE would reject that push. Pin the
        // git-SHA tag for reproducible runs (those tags are never re-pushed).
        imageTagMutability: "MUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [
          props.kmsKeyArn ? { encryptionType: "KMS", kmsKey: props.kmsKeyArn } : { encryptionType: "AES256" },
        ],
        // Never delete a repository that still holds images: ECR refuses, and `terraform destroy` stops there.
        forceDelete: false,
      }),
      "registry",
      "training",
    );

    this.lifecyclePolicyDocument = imageRetentionPolicy(keepTagged, keepUntagged);
    this.lifecyclePolicy = address(
      new EcrLifecyclePolicy(this, "LifecyclePolicy", {
        repository: this.repository.name,
        policy: JSON.stringify(this.lifecyclePolicyDocument),
      }),
      "registry",
      "training",
    );

    const hasSubjects = subjects.exact.length + subjects.wildcard.length > 0;
    this.oidcProvider =
      hasSubjects && !github.oidcProviderArn
        ? address(
            new IamOpenidConnectProvider(this, "GithubOidcProvider", {
              url: GITHUB_OIDC_URL,
              clientIdList: [GITHUB_OIDC_AUDIENCE],
              // No thumbprint_list: IAM validates GitHub's certificate against its library of trusted root CAs
              // (thumbprints are not used for this issuer since July 2023), and provider 5.x lets IAM fill the field.
            }),
            "registry",
            "github",
          )
        : undefined;
    this.oidcProviderArn = hasSubjects ? (github.oidcProviderArn ?? this.oidcProvider?.arn) : undefined;
    this.githubActionsRole =
      hasSubjects && this.oidcProviderArn
        ? this.createGithubActionsRole(roleName, this.oidcProviderArn, subjects)
        : undefined;
    if (this.githubActionsRole) this.grantPush(this.githubActionsRole);

    this.outputs = this.describeOutputs();
  }

  /** The repository URL, `<account>.dkr.ecr.<region>.amazonaws.com/<name>` (a token). */
  public get repositoryUrl(): string {
    return this.repository.repositoryUrl;
  }

  /** The repository ARN (a token). */
  public get repositoryArn(): string {
    return this.repository.arn;
  }

  /** The repository name (a token). */
  public get repositoryName(): string {
    return this.repository.name;
  }

  /** Pull images of this repository (and get a registry login token). Address: `<role>_pull_images`. */
  public grantPull(role: IamRole): Grant {
    return grantToRole(this, role, "pull_images", [
      this.authTokenStatement(),
      { sid: "PullImages", effect: "Allow", actions: [...PULL_ACTIONS], resources: [this.repository.arn] },
    ]);
  }

  /**
   * Push and pull images of this repository (and get a registry login token): a pusher checks which layers exist and
   * reads what it pushed, so push includes pull. Address: `<role>_push_images`.
   */
  public grantPush(role: IamRole): Grant {
    return grantToRole(this, role, "push_images", [
      this.authTokenStatement(),
      {
        sid: "PushAndPullImages",
        effect: "Allow",
        actions: [...new Set([...PULL_ACTIONS, ...PUSH_ACTIONS])],
        resources: [this.repository.arn],
      },
    ]);
  }

  private authTokenStatement(): DataAwsIamPolicyDocumentStatement {
    // GetAuthorizationToken has no resource type: AWS accepts it only on "*". The token alone reads nothing; every
    // image action is scoped to this repository by the next statement.
    return { sid: "GetRegistryLoginToken", effect: "Allow", actions: [...AUTH_TOKEN_ACTIONS], resources: ["*"] };
  }

  private createGithubActionsRole(name: string, providerArn: string, subjects: GithubSubjects): IamRole {
    const principals = [{ type: "Federated", identifiers: [providerArn] }];
    const audience = { test: "StringEquals", variable: `${GITHUB_OIDC_HOST}:aud`, values: [GITHUB_OIDC_AUDIENCE] };
    // Separate statements: conditions within one statement are ANDed, and a subject must match either list.
    const statements: DataAwsIamPolicyDocumentStatement[] = [];
    if (subjects.exact.length > 0) {
      statements.push({
        sid: "GithubActionsExactSubjects",
        effect: "Allow",
        principals,
        actions: ["sts:AssumeRoleWithWebIdentity"],
        condition: [audience, { test: "StringEquals", variable: `${GITHUB_OIDC_HOST}:sub`, values: [...subjects.exact] }],
      });
    }
    if (subjects.wildcard.length > 0) {
      statements.push({
        sid: "GithubActionsWildcardSubjects",
        effect: "Allow",
        principals,
        actions: ["sts:AssumeRoleWithWebIdentity"],
        condition: [audience, { test: "StringLike", variable: `${GITHUB_OIDC_HOST}:sub`, values: [...subjects.wildcard] }],
      });
    }
    const trust = address(
      new DataAwsIamPolicyDocument(this, "GithubActionsTrust", { statement: statements }),
      "registry",
      "github_actions_trust",
    );
    return address(
      new IamRole(this, "GithubActionsRole", {
        name,
        description: "Assumed by GitHub Actions (OIDC) to push training images to ECR.",
        assumeRolePolicy: trust.json,
        maxSessionDuration: GITHUB_ACTIONS_MAX_SESSION_SECONDS,
      }),
      "registry",
      "github_actions",
    );
  }

  /** `ecr_repository_url`, `github_actions_role_arn`. */
  private describeOutputs(): OutputSpec[] {
    return [
      {
        name: "ecr_repository_url",
        value: this.repositoryUrl,
        description: "URL of the ECR repository for training images; the pipeline pushes the git SHA and latest tags.",
      },
      {
        name: "github_actions_role_arn",
        // Never null (cdktf-cli 0.21 crashes after a deploy when an output is missing from the state): "" without a role.
        value: this.githubActionsRole ? this.githubActionsRole.arn : "",
        description:
          "ARN of the IAM role GitHub Actions assumes through OIDC to push images (the AWS_GHA_ROLE_ARN secret); empty when the env allows no GitHub repository.",
      },
    ];
  }
}
