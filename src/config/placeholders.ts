/**
 * Placeholders: the example values the shipped env files come with (AWS's documentation account `123456789012` in
 * the state bucket's name, `github.com/example-org/...`, `example.com` addresses, documentation IP ranges). Each is
 * fine for synth, tests and a dry run against the local AWS API, and wrong (or unsafe) in a real account: a GitHub
 * organization called `example-org` can be registered by anyone, and a bucket named after someone else's account id
 * can be owned by them.
 *
 * How they are handled (docs/configuration.md, "Placeholders"):
 * - at synth, {@link findPlaceholders} lists every one still in use as a warning, with its file, field and fix;
 * - in Terraform, every stack that still holds one gets a `terraform_data.placeholder_guard` whose precondition
 *   fails `terraform plan` and `apply` (so `cdktf deploy` too) in any account other than AWS's example account
 *   `123456789012`, which is the account of the local AWS API (moto) and of `terraform test`'s mocked provider.
 *
 * `findPlaceholders` is the API other tools (e.g. a `gti doctor` command) call:
 *
 * @example
 * const project = await loadProject();                 // src/config/load.ts
 * for (const f of findPlaceholders(project.environments)) console.log(`${f.file}: ${f.field} = ${f.value}. Fix: ${f.fix}`);
 */
import type { LoadedEnvironment } from "./load";
import type { EnvironmentConfig } from "./schema";
import { parseCidr } from "../rules";

/** One placeholder still in use. */
export interface PlaceholderFinding {
  /** The file holding the value, e.g. `envs/_shared.ts` (`envs/<env>.ts` when only a config was given). */
  readonly file: string;
  /** 1-based line of the value's key, when known. */
  readonly line?: number;
  /** 1-based column of the value's key, when known. */
  readonly column?: number;
  /** Dotted field path, e.g. `state.bucket` or `registry.github.repositories[0].repository`. */
  readonly field: string;
  /** The placeholder value found. */
  readonly value: string;
  /** What to put instead. */
  readonly fix: string;
  /** Why it is a placeholder, and what it would do if deployed. */
  readonly reason: string;
  /** The environments using it (a shared file's value is used by every env spreading it). */
  readonly environments: readonly string[];
}

/** A placeholder of one configuration, before attribution to a file. */
export interface Placeholder {
  readonly field: string;
  readonly value: string;
  readonly fix: string;
  readonly reason: string;
}

/**
 * The account AWS's documentation uses, and the only one a stack holding placeholders may be deployed to: moto (the
 * local AWS API) and the project's `terraform test` mocks both report it.
 */
export const EXAMPLE_ACCOUNT_ID = "123456789012";

/** Account ids of AWS's documentation: nobody deploys to them, so a value naming one was copied from an example. */
export const EXAMPLE_ACCOUNT_IDS: readonly string[] = [EXAMPLE_ACCOUNT_ID, "111122223333", "444455556666", "777788889999"];

/** GitHub owners used in examples (ours and GitHub's documentation); any of them can be registered by a stranger. */
export const EXAMPLE_GITHUB_OWNERS: readonly string[] = ["example-org", "example", "your-org", "my-org", "octo-org", "owner", "org"];

/** E-mail domains reserved for examples (RFC 2606, RFC 6761): mail sent there never arrives. */
const EXAMPLE_EMAIL_DOMAIN = /(^|\.)(example\.(com|org|net)|example|test|invalid|localhost)$/i;

/** IP ranges reserved for documentation (RFC 5737, RFC 3849): no office or VPN is there. */
const DOCUMENTATION_CIDRS = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

/** Something that can be checked: a validated config, or a loaded environment (which knows which file holds what). */
export type PlaceholderSubject = EnvironmentConfig | Pick<LoadedEnvironment, "name" | "file" | "config" | "locate">;

/**
 * Every placeholder still in use in the given environments, each once, attributed to the file that holds it
 * (`envs/_shared.ts` for a shared value), naming the environments that use it. Sorted by file, then field.
 */
export function findPlaceholders(envs: readonly PlaceholderSubject[]): PlaceholderFinding[] {
  const findings = new Map<string, PlaceholderFinding>();
  for (const subject of envs) {
    const loaded = "config" in subject ? subject : undefined;
    const config = loaded ? loaded.config : (subject as EnvironmentConfig);
    for (const placeholder of placeholdersOf(config)) {
      const location = loaded ? loaded.locate(placeholder.field) : { file: `envs/${config.name}.ts` };
      const key = JSON.stringify([location.file, location.line, location.column, placeholder.field, placeholder.value]);
      const seen = findings.get(key);
      findings.set(key, {
        ...placeholder,
        ...location,
        environments: [...new Set([...(seen?.environments ?? []), config.name])].sort(),
      });
    }
  }
  return [...findings.values()].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.field.localeCompare(b.field));
}

/** The placeholders of one configuration (no file attribution): what the stacks' Terraform guard lists. */
export function placeholdersOf(config: EnvironmentConfig): Placeholder[] {
  const found: Placeholder[] = [];
  const repositoryOwner = /^(?:https?:\/\/)?[^/]+\/([^/]+)\//.exec(config.repository)?.[1];
  if (repositoryOwner && isExampleOwner(repositoryOwner)) {
    found.push({
      field: "repository",
      value: config.repository,
      reason: `"${repositoryOwner}" is an example owner: the Repository tag on every resource would point to someone else's code`,
      fix: 'set it to where this infrastructure\'s code lives, e.g. "github.com/<your-org>/gpu-training-infra"',
    });
  }
  config.registry.github.repositories.forEach((entry, index) => {
    const owner = entry.repository.split("/")[0] ?? "";
    if (isExampleOwner(owner)) {
      found.push({
        field: `registry.github.repositories[${index}].repository`,
        value: entry.repository,
        reason: `anyone who registers the GitHub account "${owner}" could push images to this registry through the trusted OIDC role`,
        fix: 'name your own training-code repository ("<your-org>/<repo>"), or remove the entry (no GitHub role is created without one)',
      });
    }
  });
  config.safety.alertEmails.forEach((address, index) => {
    const domain = address.split("@")[1] ?? "";
    if (EXAMPLE_EMAIL_DOMAIN.test(domain)) {
      found.push({
        field: `safety.alertEmails[${index}]`,
        value: address,
        reason: `${domain} is reserved for examples: alerts (runaway instances, budget) would reach nobody`,
        fix: "use a mailbox or list your team reads",
      });
    }
  });
  config.compute.ssh.allowedCidrs.forEach((cidr, index) => {
    if (DOCUMENTATION_CIDRS.some((range) => cidrWithin(cidr, range)) || cidr.toLowerCase().startsWith("2001:db8:")) {
      found.push({
        field: `compute.ssh.allowedCidrs[${index}]`,
        value: cidr,
        reason: "a documentation address range: no office or VPN is there",
        fix: "list your office or VPN ranges, or leave SSH off and use SSM Session Manager",
      });
    }
  });
  for (const [field, value] of stringLeaves(config)) {
    const account = EXAMPLE_ACCOUNT_IDS.find((id) => new RegExp(`(^|\\D)${id}(\\D|$)`).test(value));
    if (!account) continue;
    found.push({ field, value, reason: `${account} is an account id of AWS's documentation, not yours`, fix: accountFix(field, account) });
  }
  return found;
}

function accountFix(field: string, account: string): string {
  if (field === "state.bucket") {
    return (
      'name it after your own account, e.g. "gpu-training-infra-tfstate-<your account id>" (aws sts get-caller-identity ' +
      "--query Account --output text): bucket names are global, and one named after another account's id may be theirs"
    );
  }
  if (field.startsWith("allowedAccountIds")) return "put your own account id (aws sts get-caller-identity --query Account --output text)";
  if (field.endsWith("BucketName") || field.endsWith(".bucket")) return `replace ${account} with your account id, or leave the field out for the default name`;
  return `use the ARN from your own account instead of ${account}'s`;
}

function isExampleOwner(owner: string): boolean {
  return EXAMPLE_GITHUB_OWNERS.includes(owner.toLowerCase());
}

/** True when the IPv4 CIDR lies inside `range`. */
function cidrWithin(cidr: string, range: string): boolean {
  const inner = parseCidr(cidr);
  const outer = parseCidr(range);
  if (!inner || !outer || inner.version !== 4 || outer.version !== 4 || inner.prefix < outer.prefix) return false;
  const toInt = (address: string) => address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - outer.prefix);
  return Math.floor(toInt(inner.address) / size) === Math.floor(toInt(outer.address) / size);
}

/** Every string value of a config with its dotted path (`a.b[0].c`). */
function stringLeaves(value: unknown, path = ""): [string, string][] {
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringLeaves(item, `${path}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, path === "" ? key : `${path}.${key}`));
  }
  return [];
}
