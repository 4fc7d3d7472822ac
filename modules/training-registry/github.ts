/**
 * GitHub Actions OIDC: which workflow runs may assume the image-pushing role, as the `sub` (subject) claim values
 * GitHub puts in its tokens (default subject format):
 *
 * - a job on a branch: `repo:<owner>/<repo>:ref:refs/heads/<branch>`
 * - a job that uses a GitHub environment: `repo:<owner>/<repo>:environment:<name>` (the branch form then does not
 *   apply: GitHub puts the environment in `sub` instead)
 */
import { GITHUB_REPOSITORY_PATTERN } from "../../src/rules";

/** GitHub's OIDC issuer. */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";

/** The issuer's host: the prefix of its condition keys (`token.actions.githubusercontent.com:sub`). */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** The audience `aws-actions/configure-aws-credentials` requests, and the only one the role accepts. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

/** Branch and environment names as this project accepts them (`*` only where wildcards are allowed). */
export const GITHUB_REF_NAME_PATTERN = /^[A-Za-z0-9._/*-]+$/;

/** One repository whose workflows may push images. */
export interface GithubRepositoryAccess {
  /** `owner/repo`, spelt exactly as on GitHub (IAM compares `sub` case-sensitively). */
  readonly repository: string;
  /** Branches whose workflow runs may push. @default ["main"] */
  readonly branches?: readonly string[];
  /** GitHub environments whose jobs may push. @default [] */
  readonly environments?: readonly string[];
}

/** The `sub` values allowed, split by how IAM must compare them. */
export interface GithubSubjects {
  /** Compared with `StringEquals`. */
  readonly exact: readonly string[];
  /** Containing `*`, compared with `StringLike` (only when wildcards are allowed). */
  readonly wildcard: readonly string[];
}

/**
 * The `sub` values of a set of repositories, in configuration order, without duplicates.
 * @returns problems instead when a repository or name is malformed, has nothing to allow, or uses `*` without
 *   `allowWildcards`
 */
export function githubSubjects(
  repositories: readonly GithubRepositoryAccess[],
  allowWildcards: boolean,
): { readonly subjects: GithubSubjects; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const exact = new Set<string>();
  const wildcard = new Set<string>();
  for (const access of repositories) {
    if (!GITHUB_REPOSITORY_PATTERN.test(access.repository)) {
      problems.push(`"${access.repository}" is not a GitHub repository in owner/repo form`);
      continue;
    }
    const branches = access.branches ?? ["main"];
    const environments = access.environments ?? [];
    if (branches.length === 0 && environments.length === 0) {
      problems.push(`"${access.repository}" allows no branch and no environment, so none of its workflows could push`);
    }
    const names = [
      ...branches.map((branch) => [branch, `repo:${access.repository}:ref:refs/heads/${branch}`] as const),
      ...environments.map((environment) => [environment, `repo:${access.repository}:environment:${environment}`] as const),
    ];
    for (const [name, subject] of names) {
      if (!GITHUB_REF_NAME_PATTERN.test(name)) {
        problems.push(`"${name}" (${access.repository}) is not a valid branch or environment name`);
      } else if (!name.includes("*")) {
        exact.add(subject);
      } else if (allowWildcards) {
        wildcard.add(subject);
      } else {
        problems.push(`"${name}" (${access.repository}) holds a * but wildcards are not allowed`);
      }
    }
  }
  return { subjects: { exact: [...exact], wildcard: [...wildcard] }, problems };
}
