/**
 * Value rules shared by the configuration schema and by the Terraform variable validations.
 *
 * Each rule is a plain function so it can be tested on its own and reused where the same rule must hold twice (for
 * example the GPU instance types: checked here at synth for env config, and again by Terraform for the
 * `instance_type` variable, from the same table).
 */
import { isIPv4, isIPv6 } from "node:net";

/** Regions of the standard `aws` partition (GovCloud and China are different partitions, with other ARNs). */
export const AWS_REGIONS = [
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
] as const;

export type AwsRegion = (typeof AWS_REGIONS)[number];

/**
 * The GPU instance types (a pinned, dated table of NVIDIA GPU x86_64 types) live in `src/gpu-instance-types.ts`,
 * shared with the Terraform variable and the fleet module; re-exported here for the schema.
 */
export { GPU_INSTANCE_FAMILIES, instanceTypeProblem, isGpuInstanceType } from "./gpu-instance-types";

/** The allowed values of CloudWatch Logs `retention_in_days`. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Every rule of S3 general purpose bucket names that a value breaks (empty when valid).
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push(`must be 3 to 63 characters long (is ${name.length})`);
  if (!/^[a-z0-9.-]*$/.test(name)) problems.push("may contain only lowercase letters, digits and hyphens");
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) problems.push("must begin and end with a letter or digit");
  if (name.includes("..")) problems.push("must not contain two adjacent dots");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) problems.push("must not look like an IP address");
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) problems.push("must not start with xn--, sthree- or amzn-s3-demo-");
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) {
    problems.push("must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3");
  }
  if (name.includes(".")) problems.push("must not contain dots (they break TLS for virtual-hosted-style requests)");
  return problems;
}

/** Parsed form of a CIDR block. */
export interface Cidr {
  readonly version: 4 | 6;
  readonly address: string;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n` or an IPv6 CIDR; undefined when malformed. */
export function parseCidr(value: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return undefined;
  const [, address, prefixText] = match as unknown as [string, string, string];
  const prefix = Number(prefixText);
  if (isIPv4(address) && prefix <= 32) return { version: 4, address, prefix };
  if (isIPv6(address) && prefix <= 128) return { version: 6, address, prefix };
  return undefined;
}

/** For an IPv4 CIDR with host bits set (10.0.0.1/16), the network form (10.0.0.0/16); undefined otherwise. */
export function ipv4NetworkForm(cidr: Cidr): string | undefined {
  if (cidr.version !== 4) return undefined;
  const octets = cidr.address.split(".").map(Number);
  const asInt = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - cidr.prefix);
  const network = Math.floor(asInt / size) * size;
  if (network === asInt) return undefined;
  const parts = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${parts.join(".")}/${cidr.prefix}`;
}

/** True when the CIDR opens a rule to the whole internet (`0.0.0.0/0` or `::/0`). */
export function isWholeInternet(cidr: Cidr): boolean {
  return cidr.prefix === 0;
}

const RATE_UNITS = ["minute", "hour", "day"] as const;

/**
 * Problems with an EventBridge schedule expression (`rate(1 hour)`, `rate(30 minutes)`, `cron(0 * * * ? *)`).
 * Returns undefined when valid.
 */
export function scheduleExpressionProblem(value: string): string | undefined {
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(value);
  if (rate) {
    const [, amountText, unit] = rate as unknown as [string, string, string];
    const amount = Number(amountText);
    if (amount < 1) return "a rate must be at least 1";
    const singular = unit.replace(/s$/, "") as (typeof RATE_UNITS)[number];
    if (!RATE_UNITS.includes(singular)) return `unknown rate unit "${unit}" (minute(s), hour(s) or day(s))`;
    if (amount === 1 && unit !== singular) return `write rate(1 ${singular}), singular, for a value of 1`;
    if (amount > 1 && unit === singular) return `write rate(${amount} ${singular}s), plural, for a value above 1`;
    return undefined;
  }
  const cron = /^cron\((.+)\)$/.exec(value);
  if (cron) {
    const fields = (cron[1] as string).trim().split(/\s+/);
    if (fields.length !== 6) return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found ${fields.length}`;
    if (fields[2] !== "?" && fields[4] !== "?") return "either day-of-month or day-of-week must be ?";
    return undefined;
  }
  return "must be rate(<n> <unit>) or cron(<6 fields>)";
}

/** A GitHub `owner/repo` slug, as GitHub allows it. */
export const GITHUB_REPOSITORY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** The minimal shape of an e-mail address that SNS and AWS Budgets accept. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
