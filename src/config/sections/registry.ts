/** Settings of the training-registry module (ECR repository and GitHub Actions OIDC role). */
import { z } from "zod";
import { GITHUB_REPOSITORY_PATTERN } from "../../rules";
import { intInRange, kmsKeyArn, rule } from "./common";

const githubRepository = z.string().regex(GITHUB_REPOSITORY_PATTERN, {
  error: rule("not a GitHub repository in owner/repo form", `write it as "my-org/my-training-code"`),
});

const refName = z.string().regex(/^[A-Za-z0-9._\/*-]+$/, {
  error: rule("not a valid branch or environment name", `use letters, digits, ".", "_", "-" and "/" (e.g. "main")`),
});

export const githubSchema = z.strictObject({
  /**
   * ARN of an existing GitHub OIDC provider (an account holds only one per URL).
   * @default a new provider for https://token.actions.githubusercontent.com is created
   */
  oidcProviderArn: z
    .string()
    .regex(/^arn:aws:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, {
      error: rule(
        "must be the ARN of the token.actions.githubusercontent.com OIDC provider",
        `use "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com", or leave it out to create one`,
      ),
    })
    .optional(),
  /**
   * Repositories whose workflows may push images, each with the branches and GitHub environments allowed.
   * @default none: no GitHub Actions role is created
   */
  repositories: z
    .array(
      z.strictObject({
        /** `owner/repo` of the training-code repository. */
        repository: githubRepository,
        /** Branches allowed to push (`sub = repo:<owner>/<repo>:ref:refs/heads/<branch>`). @default ["main"] */
        branches: z.array(refName).default(["main"]),
        /** GitHub environments allowed to push (`sub = repo:<owner>/<repo>:environment:<name>`). @default [] */
        environments: z.array(refName).default([]),
      }),
    )
    .default([]),
  /** Allow `*` in branch or environment names (matched with StringLike). @default false: exact matches only */
  allowWildcards: z.boolean().default(false),
}).superRefine((value, ctx) => {
  value.repositories.forEach((repo, index) => {
    if (repo.branches.length === 0 && repo.environments.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["repositories", index],
        message: rule(
          "allows no branch and no GitHub environment, so no workflow of this repository could assume the role",
          `list the branches (e.g. branches: ["main"]) or environments allowed to push, or remove the repository`,
        ),
      });
    }
  });
  if (value.allowWildcards) return;
  value.repositories.forEach((repo, index) => {
    for (const key of ["branches", "environments"] as const) {
      repo[key].forEach((name, position) => {
        if (name.includes("*")) {
          ctx.addIssue({
            code: "custom",
            path: ["repositories", index, key, position],
            message: rule(
              "wildcards are off: a * would let any matching branch or environment push images",
              "name the exact branch, or set registry.github.allowWildcards = true on purpose",
            ),
          });
        }
      });
    }
  });
});

export const registrySchema = z.strictObject({
  /** ECR repository name. @default "<project>-<env>-training" */
  repositoryName: z
    .string()
    .regex(/^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, {
      error: rule("not a valid ECR repository name", `use lowercase letters, digits and . _ - / (e.g. "llm-training")`),
    })
    .optional(),
  /** KMS key for the repository. @default AES256 (AWS-managed) */
  kmsKeyArn: kmsKeyArn.optional(),
  /** How many tagged images to keep. @default 10 (the seed's figure) */
  keepTaggedImages: intInRange(1, 1000, "images").default(10),
  /** How many untagged images to keep. @default 3 (the seed's figure) */
  keepUntaggedImages: intInRange(1, 1000, "images").default(3),
  /** GitHub Actions OIDC settings. @default no repositories (no role) */
  github: githubSchema.prefault({}),
});
