/**
 * A small IAM policy evaluator for tests, over the statements of synthesized `aws_iam_policy_document` data sources:
 * explicit Deny wins, then any Allow, else implicit deny; actions and resources with `*`/`?` wildcards (actions without
 * case); policy variables (`&{aws:PrincipalTag/RunId}`, the document's escape of `${...}`) from the request context (a
 * missing key makes the statement not apply, as in IAM); the condition operators the project's documents use. An
 * operator it does not know throws: a test can never pass by an unevaluated condition. Terraform references in
 * resources are replaced first from `refs` (e.g. the outputs bucket's ARN).
 */
import type { Statement } from "./module-stack";

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Request context keys (`aws:PrincipalTag/RunId`, `s3:prefix`, `aws:RequestTag/RunId`, `aws:TagKeys`, ...). */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, ignoreCase ? "i" : "");
  return re.test(value);
}

/** `text` with its policy variables replaced from the context; undefined when one is missing. */
function substitute(text: string, context: IamRequest["context"]): string | undefined {
  let missing = false;
  const out = text.replace(/&\{([^}]+)\}/g, (_, key: string) => {
    const value = context?.[key];
    if (typeof value !== "string") missing = true;
    return typeof value === "string" ? value : "";
  });
  return missing ? undefined : out;
}

function conditionHolds(c: { test: string; variable: string; values: string[] }, context: IamRequest["context"]): boolean {
  const raw = context?.[c.variable];
  const values = c.values.map((v) => substitute(v, context)).filter((v): v is string => v !== undefined);
  const single = typeof raw === "string" ? raw : undefined;
  switch (c.test) {
    case "StringEquals":
      return single !== undefined && values.includes(single);
    case "StringLike":
    case "ArnLike":
      return single !== undefined && values.some((v) => glob(v, single));
    case "ForAllValues:StringEquals":
      return (raw === undefined ? [] : typeof raw === "string" ? [raw] : raw).every((v) => values.includes(v));
    case "Null":
      return (raw === undefined) === (values[0] === "true");
    default:
      throw new Error(`iam-eval: condition operator ${c.test} is not implemented`);
  }
}

function applies(s: Statement, request: IamRequest, refs: Readonly<Record<string, string>>): boolean {
  if (!(s.actions ?? []).some((a) => glob(a, request.action, true))) return false;
  if (s.resources === undefined) return (s.condition ?? []).every((c) => conditionHolds(c, request.context)); // a trust policy: no Resource
  const resources = s.resources.map((r) => Object.entries(refs).reduce((acc, [ref, value]) => acc.split(ref).join(value), r));
  if (resources.some((r) => r.includes("${"))) throw new Error(`iam-eval: unresolved reference in ${resources.join(", ")}`);
  if (!resources.some((r) => { const concrete = substitute(r, request.context); return concrete !== undefined && glob(concrete, request.resource); })) return false;
  return (s.condition ?? []).every((c) => conditionHolds(c, request.context));
}

/** The decision of identity-policy statements for one request. */
export function evaluate(statements: readonly Statement[], request: IamRequest, refs: Readonly<Record<string, string>> = {}): Decision {
  const matching = statements.filter((s) => applies(s, request, refs));
  if (matching.some((s) => s.effect === "Deny")) return "ExplicitDeny";
  return matching.some((s) => (s.effect ?? "Allow") === "Allow") ? "Allow" : "ImplicitDeny";
}
