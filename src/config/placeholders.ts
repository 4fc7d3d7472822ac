/**
 * Placeholder values an environment still carries from this repository's examples: a first deploy with them would
 * create the state bucket under someone else's name or trust an example GitHub organisation. `gti doctor` lists them.
 *
 * The example values are the ones this repository ships: the documentation account id `123456789012` (AWS uses it in
 * its own examples) and the `example-org` GitHub organisation, plus e-mail addresses of the reserved example domains
 * (RFC 2606).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { envsDir } from "./load";
import type { EnvironmentConfig } from "./schema";

/** One placeholder still in an environment's configuration. */
export interface Placeholder {
  /** The file to edit, relative to the project, e.g. `envs/_shared.ts`. */
  readonly file: string;
  /** Dotted path of the field, e.g. `state.bucket`. */
  readonly field: string;
  /** The placeholder value found. */
  readonly value: string;
  /** What to put there instead. */
  readonly fix: string;
}

/** The account id of AWS's documentation examples, used in this repository's example configuration. */
export const EXAMPLE_ACCOUNT_ID = "123456789012";
/** The GitHub organisation of this repository's example configuration. */
export const EXAMPLE_GITHUB_ORG = "example-org";
const EXAMPLE_EMAIL = /@example\.(com|org|net)$/i;

/**
 * Every placeholder of `env`. `dir` is the environments folder (default: `envsDir()`); the file named is the env's
 * own file when the value is written there, else `envs/_shared.ts` when written there.
 */
export function findPlaceholders(env: EnvironmentConfig, dir: string = envsDir()): Placeholder[] {
  const found: Placeholder[] = [];
  const add = (field: string, value: string, fix: string): void => {
    found.push({ file: fileHolding(dir, env.name, value), field, value, fix });
  };
  if (env.state.bucket.includes(EXAMPLE_ACCOUNT_ID)) {
    add("state.bucket", env.state.bucket, "use a globally unique name you own, e.g. with your account id: gpu-training-infra-tfstate-<account id>");
  }
  env.allowedAccountIds.forEach((id, index) => {
    if (id === EXAMPLE_ACCOUNT_ID) add(`allowedAccountIds[${index}]`, id, "put your AWS account id (aws sts get-caller-identity --query Account)");
  });
  for (const field of ["dataBucketName", "outputsBucketName"] as const) {
    const name = env.storage[field];
    if (name?.includes(EXAMPLE_ACCOUNT_ID)) add(`storage.${field}`, name, "use a globally unique name you own, or leave it out for the generated one");
  }
  if (env.repository.includes(`/${EXAMPLE_GITHUB_ORG}/`)) {
    add("repository", env.repository, "put the repository of your copy of this infrastructure, e.g. github.com/acme/gpu-training-infra");
  }
  env.registry.github.repositories.forEach((repo, index) => {
    if (repo.repository.split("/")[0] === EXAMPLE_GITHUB_ORG) {
      add(
        `registry.github.repositories[${index}].repository`,
        repo.repository,
        "put the owner/repo of your training code (its workflow pushes the images), or remove the entry",
      );
    }
  });
  env.safety.alertEmails.forEach((address, index) => {
    if (EXAMPLE_EMAIL.test(address)) add(`safety.alertEmails[${index}]`, address, "put an address someone reads (alerts and budget warnings go there)");
  });
  return found;
}

/** The env's file when it spells `value` out, else `envs/_shared.ts` when that does, else the env's file. */
function fileHolding(dir: string, env: string, value: string): string {
  const own = `${env}.ts`;
  for (const file of [own, "_shared.ts"]) {
    const path = join(dir, file);
    if (existsSync(path) && readFileSync(path, "utf8").includes(value)) return `envs/${file}`;
  }
  return `envs/${own}`;
}
