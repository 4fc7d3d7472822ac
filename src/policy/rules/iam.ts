/**
 * IAM rules, on every policy document of the stack: the `data.aws_iam_policy_document` data sources this project
 * builds policies with (findings are reported on the data source, naming what uses it), and any literal JSON policy
 * on a resource (`aws_iam_role_policy.policy`, `aws_iam_role.assume_role_policy`, bucket/topic/key policies, ...).
 * Deny statements never widen access, so only Allow statements are judged.
 */
import {
  POLICY_CARRIER_TYPES,
  attachmentNote,
  documentOf,
  isKeyPolicy,
  type PolicyDocument,
  type Statement,
} from "../iam-documents";
import { COMPLIANT, NOT_APPLICABLE, nonCompliant, type PolicyElement, type PolicyContext, type PolicyRule } from "../types";
import { isExpression, stringList } from "../values";

/**
 * Actions AWS only grants on `Resource: "*"` (their service authorization reference lists no resource type for
 * them), so a `*` resource is the narrowest possible. Lower case: IAM action names are case-insensitive.
 */
export const STAR_RESOURCE_ACTIONS: ReadonlyMap<string, string> = new Map([
  // Registry login: the token is account-wide; pulls and pushes are then scoped to the repository ARN.
  ["ecr:getauthorizationtoken", "ECR login token; has no resource type"],
  // Custom metrics (GPU utilisation): no resource type; narrow with the cloudwatch:namespace condition key instead.
  ["cloudwatch:putmetricdata", "no resource type; scope with the cloudwatch:namespace condition"],
  ["cloudwatch:getmetricdata", "metric reads have no resource type"],
  ["cloudwatch:getmetricstatistics", "metric reads have no resource type"],
  ["cloudwatch:listmetrics", "metric reads have no resource type"],
  // SSM Session Manager's channels (what AmazonSSMManagedInstanceCore grants on *): no resource type.
  ["ssmmessages:createcontrolchannel", "Session Manager channel; has no resource type"],
  ["ssmmessages:createdatachannel", "Session Manager channel; has no resource type"],
  ["ssmmessages:opencontrolchannel", "Session Manager channel; has no resource type"],
  ["ssmmessages:opendatachannel", "Session Manager channel; has no resource type"],
  // Who am I: needs no permission at all, and has no resource type.
  ["sts:getcalleridentity", "has no resource type"],
  // Lambda tracing (X-Ray): no resource type.
  ["xray:puttracesegments", "X-Ray tracing; has no resource type"],
  ["xray:puttelemetryrecords", "X-Ray tracing; has no resource type"],
]);

/**
 * Whole families AWS only grants on `*`, by action-name prefix (lower case), for the same reason.
 */
export const STAR_RESOURCE_ACTION_PREFIXES: ReadonlyMap<string, string> = new Map([
  // "Resource-level permissions are not supported for EC2 Describe* actions" (EC2 API reference): the runtime guard
  // lists instances and volumes, the instance reads its own tags.
  ["ec2:describe", "EC2 Describe* calls take no resource ARN"],
  // Auto Scaling's Describe* calls have no resource-level permissions either (fleet mode reads its group).
  ["autoscaling:describe", "Auto Scaling Describe* calls take no resource ARN"],
]);

/** True when AWS only grants the action on `Resource: "*"` (allowlisted above). */
export function isStarResourceAction(action: string): boolean {
  const lower = action.toLowerCase();
  if (STAR_RESOURCE_ACTIONS.has(lower)) return true;
  for (const prefix of STAR_RESOURCE_ACTION_PREFIXES.keys()) if (lower.startsWith(prefix) && !lower.slice(prefix.length).includes(":")) return true;
  return false;
}

const ALLOWLIST_TEXT = "ecr:GetAuthorizationToken, ec2:Describe*, autoscaling:Describe*, cloudwatch:PutMetricData, ... (STAR_RESOURCE_ACTIONS in src/policy/rules/iam.ts)";

function allows(statement: Statement): boolean {
  return statement.effect !== "Deny";
}

function isWildcardAction(action: string): boolean {
  return action === "*" || /^[^:]+:\*$/.test(action);
}

/** AWS's default key policy statement: `kms:*` for the account root, delegating to IAM. */
function isRootKeyAdministration(statement: Statement): boolean {
  const principals = statement.principals.flatMap((p) => (p.type === "AWS" ? p.identifiers : ["(not root)"]));
  return principals.length > 0 && principals.every((id) => /:root$/.test(id) || /^\d{12}$/.test(id));
}

function documentFor(element: PolicyElement, context: PolicyContext): PolicyDocument | undefined {
  const document = documentOf(element, context);
  return document && (document.statements.length > 0 || document.unknown.length > 0) ? document : undefined;
}

function unknownNote(document: PolicyDocument): string[] {
  return document.unknown.map((u) => `${u} is known only at apply time, so the pack cannot check it`);
}

export const IAM_NO_WILDCARD_ACTIONS: PolicyRule = {
  id: "GTI-IAM-001",
  pack: "security",
  appliesTo: POLICY_CARRIER_TYPES,
  what: 'No Allow statement grants "*" or "<service>:*" actions, or uses NotAction.',
  why: "A wildcard grants every current and future action of a service (s3:* includes DeleteBucket and PutBucketPolicy); least privilege names the actions.",
  fix: "List the actions the code calls (keep action lists in named constants, e.g. s3:GetObject, s3:ListBucket).",
  check(element, context) {
    const document = documentFor(element, context);
    if (!document) return NOT_APPLICABLE;
    const keyPolicy = isKeyPolicy(element, context);
    const problems: string[] = [];
    for (const statement of document.statements.filter(allows)) {
      const wildcards = statement.actions.filter(isWildcardAction);
      const exempt = keyPolicy && wildcards.every((a) => a.toLowerCase() === "kms:*") && isRootKeyAdministration(statement);
      if (wildcards.length && !exempt) problems.push(`${statement.label} allows ${wildcards.map((a) => `"${a}"`).join(", ")}`);
      if (statement.notActions.length) problems.push(`${statement.label} allows NotAction ${statement.notActions.join(", ")} (every other action)`);
      const computed = statement.actions.filter(isExpression);
      if (computed.length) problems.push(`${statement.label} takes actions from ${computed.join(", ")}, known only at apply time`);
    }
    problems.push(...unknownNote(document));
    if (problems.length === 0) return COMPLIANT;
    return nonCompliant(
      `${problems.join("; ")}${attachmentNote(element, context)}`,
      "name the actions the workload calls (e.g. s3:GetObject, s3:PutObject), as literals",
    );
  },
};

export const IAM_NO_WILDCARD_RESOURCES: PolicyRule = {
  id: "GTI-IAM-002",
  pack: "security",
  appliesTo: POLICY_CARRIER_TYPES,
  what: 'No Allow statement on Resource "*" unless every action is one AWS only grants on "*" (a short, commented allowlist).',
  why: 'Scoping to ARNs keeps a role from touching other teams\' buckets, repositories or instances; "*" is only right where AWS offers nothing narrower.',
  fix: 'Scope resources to ARNs (bucket ARN and ARN/*, repository ARN, ...); move allowlisted actions such as ecr:GetAuthorizationToken into their own statement on "*".',
  check(element, context) {
    if (isKeyPolicy(element, context)) return NOT_APPLICABLE; // in a key policy, "*" means "this key"
    const document = documentFor(element, context);
    if (!document) return NOT_APPLICABLE;
    const problems: string[] = [];
    for (const statement of document.statements.filter(allows)) {
      if (statement.notResources.length) {
        problems.push(`${statement.label} uses NotResource ${statement.notResources.join(", ")} (every other resource)`);
      }
      if (!statement.resources.includes("*")) continue;
      const outside = statement.actions.filter((a) => !isStarResourceAction(a));
      const extra = statement.notActions.length ? [`NotAction ${statement.notActions.join(", ")}`] : [];
      if (outside.length || extra.length) {
        problems.push(`${statement.label} allows ${[...outside, ...extra].join(", ")} on Resource "*"`);
      }
    }
    problems.push(...unknownNote(document));
    if (problems.length === 0) return COMPLIANT;
    return nonCompliant(
      `${problems.join("; ")}${attachmentNote(element, context)}`,
      `scope those actions to ARNs; only ${ALLOWLIST_TEXT} may stay on "*", in a statement of their own`,
    );
  },
};

const AUD_TESTS = new Set(["StringEquals"]);
const SUB_TESTS = new Set(["StringEquals", "StringLike"]);
const GITHUB_HOST = "token.actions.githubusercontent.com";

/** Why a `sub` value does not pin a workload (undefined when it does). */
function subProblem(variable: string, value: string): string | undefined {
  if (isExpression(value)) return `${value} is known only at apply time`;
  if (variable.startsWith(`${GITHUB_HOST}:`)) {
    return /^repo:[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+:.+$/.test(value)
      ? undefined
      : `"${value}" does not name one repository (expected repo:<owner>/<repo>:<ref or environment>, no wildcard in owner/repo)`;
  }
  return value === "*" || value.startsWith("*") ? `"${value}" matches any subject` : undefined;
}

export const IAM_OIDC_PINNED: PolicyRule = {
  id: "GTI-IAM-003",
  pack: "security",
  appliesTo: POLICY_CARRIER_TYPES,
  what: "OIDC (web identity) trust policies pin both the audience (aud, StringEquals) and the subject (sub: one repository and its refs).",
  why: "Without sub, any GitHub repository in the world can assume the role through the shared OIDC provider; without aud, tokens minted for other services work too.",
  fix: 'Add conditions StringEquals <provider>:aud = "sts.amazonaws.com" and StringEquals/StringLike <provider>:sub = "repo:<owner>/<repo>:ref:refs/heads/<branch>".',
  check(element, context) {
    const document = documentFor(element, context);
    if (!document) return NOT_APPLICABLE;
    const trust = document.statements.filter(
      (s) =>
        allows(s) &&
        s.actions.some((a) => a.toLowerCase() === "sts:assumerolewithwebidentity") &&
        s.principals.some((p) => p.type === "Federated"),
    );
    if (trust.length === 0) return NOT_APPLICABLE;
    const problems: string[] = [];
    for (const statement of trust) {
      const aud = statement.conditions.filter((c) => c.variable.endsWith(":aud") && AUD_TESTS.has(c.test));
      const sub = statement.conditions.filter((c) => c.variable.endsWith(":sub") && SUB_TESTS.has(c.test));
      if (aud.length === 0) problems.push(`${statement.label} has no StringEquals condition on <provider>:aud`);
      for (const c of aud) {
        const bad = c.values.filter((v) => isExpression(v) || v.includes("*"));
        if (bad.length || c.values.length === 0) problems.push(`${statement.label} ${c.variable} allows ${bad.join(", ") || "nothing"}`);
      }
      if (sub.length === 0) problems.push(`${statement.label} has no StringEquals/StringLike condition on <provider>:sub`);
      for (const c of sub) {
        for (const value of c.values) {
          const problem = subProblem(c.variable, value);
          if (problem) problems.push(`${statement.label} ${c.variable}: ${problem}`);
        }
      }
    }
    if (problems.length === 0) return COMPLIANT;
    return nonCompliant(
      `${problems.join("; ")}${attachmentNote(element, context)}`,
      `add StringEquals ${GITHUB_HOST}:aud = "sts.amazonaws.com" and ${GITHUB_HOST}:sub = "repo:<owner>/<repo>:ref:refs/heads/<branch>" (registry.github.repositories)`,
    );
  },
};

const ADMIN_POLICY = /:iam::aws:policy\/AdministratorAccess$/;
const ATTACHMENT_TYPES = [
  "aws_iam_role_policy_attachment",
  "aws_iam_policy_attachment",
  "aws_iam_user_policy_attachment",
  "aws_iam_group_policy_attachment",
];

export const IAM_NO_ADMIN: PolicyRule = {
  id: "GTI-IAM-004",
  pack: "security",
  appliesTo: [...new Set([...POLICY_CARRIER_TYPES, ...ATTACHMENT_TYPES])],
  what: 'No administrator access: no AdministratorAccess attachment, no Allow of "*" (or "*:*") on Resource "*".',
  why: "A leaked instance or CI credential with admin rights is a lost account; nothing here needs more than its own resources.",
  fix: "Grant the specific actions on the specific resources (the modules' grant methods do).",
  check(element, context) {
    const problems: string[] = [];
    if (ATTACHMENT_TYPES.includes(element.type)) {
      const arn = element.config.policy_arn;
      if (typeof arn === "string" && ADMIN_POLICY.test(arn)) problems.push(`attaches ${arn}`);
      else return COMPLIANT;
    }
    if (element.type === "aws_iam_role") {
      const admin = stringList(element.config.managed_policy_arns).literals.filter((arn) => ADMIN_POLICY.test(arn));
      problems.push(...admin.map((arn) => `managed_policy_arns includes ${arn}`));
    }
    const document = ATTACHMENT_TYPES.includes(element.type) ? undefined : documentFor(element, context);
    for (const statement of document?.statements.filter(allows) ?? []) {
      const everything = statement.actions.filter((a) => a === "*" || a === "*:*");
      if (everything.length && statement.resources.includes("*")) {
        problems.push(`${statement.label} allows ${everything.map((a) => `"${a}"`).join(", ")} on Resource "*"`);
      }
    }
    if (problems.length === 0) return document || element.type === "aws_iam_role" ? COMPLIANT : NOT_APPLICABLE;
    return nonCompliant(
      `${problems.join("; ")}${attachmentNote(element, context)}`,
      "remove the administrator grant; give the role the actions it calls on its own resources",
    );
  },
};

export const IAM_RULES: readonly PolicyRule[] = [IAM_NO_WILDCARD_ACTIONS, IAM_NO_WILDCARD_RESOURCES, IAM_OIDC_PINNED, IAM_NO_ADMIN];
