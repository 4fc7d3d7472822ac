/**
 * Building blocks for the configuration schema: reusable field schemas whose error messages carry the rule and the
 * fix (`"<rule>. Fix: <fix>"`; see {@link rule}), which `load.ts` turns into one readable line per problem.
 */
import { z } from "zod";
import {
  AWS_REGIONS,
  EMAIL_PATTERN,
  bucketNameProblems,
  instanceTypeProblem,
  ipv4NetworkForm,
  isWholeInternet,
  parseCidr,
} from "../../rules";

/** Separator between the rule and the fix inside a schema error message. */
export const FIX_SEPARATOR = ". Fix: ";

/** An error message in the form the loader understands: the rule broken, then what to do about it. */
export function rule(broken: string, fix: string): string {
  return `${broken}${FIX_SEPARATOR}${fix}`;
}

export const awsRegion = z.enum(AWS_REGIONS, {
  error: rule(
    "not a region of the standard aws partition",
    `use a region code such as "us-east-1" or "eu-west-1" (the full list is AWS_REGIONS in src/rules.ts)`,
  ),
});

export const accountId = z
  .string()
  .regex(/^\d{12}$/, { error: rule("an AWS account id is exactly 12 digits", `write it as a string, e.g. "123456789012"`) });

/** A globally unique S3 general purpose bucket name, checked against every naming rule at once. */
export const bucketName = z.string().superRefine((value, ctx) => {
  const problems = bucketNameProblems(value);
  if (problems.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: rule(
        `not a valid S3 bucket name: it ${problems.join("; it ")}`,
        "use 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit",
      ),
    });
  }
});

export const kmsKeyArn = z
  .string()
  .regex(/^arn:aws:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/, {
    error: rule(
      "must be a KMS key or alias ARN",
      `use "arn:aws:kms:<region>:<account>:key/<key-id>", or leave it out for the AWS-managed default`,
    ),
  });

/** An instance type of the pinned GPU table (`src/gpu-instance-types.ts`), with a message per kind of mistake. */
export const gpuInstanceType = z.string().superRefine((value, ctx) => {
  const problem = instanceTypeProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: rule(problem.rule, problem.fix) });
});

/** A CIDR block; `internet: "reject"` also refuses 0.0.0.0/0 and ::/0. */
export function cidr(options: { readonly internet: "allow" | "reject"; readonly ipv6: boolean }) {
  return z.string().superRefine((value, ctx) => {
    const parsed = parseCidr(value);
    if (!parsed || (parsed.version === 6 && !options.ipv6)) {
      ctx.addIssue({
        code: "custom",
        message: rule(
          `not a valid ${options.ipv6 ? "IPv4 or IPv6" : "IPv4"} CIDR block`,
          `write it as address/prefix, e.g. "203.0.113.0/24"`,
        ),
      });
      return;
    }
    const network = ipv4NetworkForm(parsed);
    if (network) {
      ctx.addIssue({
        code: "custom",
        message: rule("the address has host bits set for this prefix", `use the network address "${network}"`),
      });
    }
    if (options.internet === "reject" && isWholeInternet(parsed)) {
      ctx.addIssue({
        code: "custom",
        message: rule(
          "opening to the whole internet is not allowed",
          `list your office or VPN ranges (e.g. "203.0.113.0/24"), or leave SSH off and use SSM Session Manager`,
        ),
      });
    }
  });
}

export const email = z.string().regex(EMAIL_PATTERN, {
  error: rule("not an e-mail address", `write it as "name@example.com"`),
});

/** A whole number within a range, with a fix that names the range. */
export function intInRange(min: number, max: number, unit: string) {
  const message = rule(`must be a whole number of ${unit} from ${min} to ${max}`, `pick a value in ${min}..${max}`);
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}
