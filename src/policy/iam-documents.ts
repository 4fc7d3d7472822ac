/**
 * IAM policy documents as the rules see them: the statements of a `data.aws_iam_policy_document` (typed, the way
 * this project writes policies, including its `source_policy_documents` / `override_policy_documents`), or of a
 * literal JSON `policy` string on a resource, normalized to one shape; and where each document is attached.
 */
import type { Json, PolicyContext, PolicyElement } from "./types";
import { blocks, isExpression, isObject, refersTo, stringList } from "./values";

/** A principal or not-principal entry: `type` is `AWS`, `Service`, `Federated` or `*`. */
export interface Principal {
  readonly type: string;
  readonly identifiers: readonly string[];
}

/** A condition entry: `test` (StringEquals, Bool, ...), `variable` (aws:SecureTransport, ...), `values`. */
export interface Condition {
  readonly test: string;
  readonly variable: string;
  readonly values: readonly string[];
}

/** One statement, whatever document it came from. Lists hold literals and `${...}` expressions alike. */
export interface Statement {
  /** `statement 2 (sid DenyInsecureTransport)`, for messages. */
  readonly label: string;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  readonly principals: readonly Principal[];
  readonly notPrincipals: readonly Principal[];
  readonly conditions: readonly Condition[];
}

/** The statements of a document, and what could not be read at synth (expressions). */
export interface PolicyDocument {
  readonly statements: readonly Statement[];
  /** Parts of the document only known at apply time (e.g. `${jsonencode(...)}`, a `dynamic` statement list). */
  readonly unknown: readonly string[];
}

/**
 * Attributes holding a policy document JSON string, per resource type. A value that is a reference to a
 * `data.aws_iam_policy_document` is checked on that data source; a literal JSON string is checked here.
 */
export const POLICY_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  aws_iam_role: ["assume_role_policy", "inline_policy.policy"],
  aws_iam_role_policy: ["policy"],
  aws_iam_policy: ["policy"],
  aws_iam_user_policy: ["policy"],
  aws_iam_group_policy: ["policy"],
  aws_s3_bucket_policy: ["policy"],
  aws_sns_topic: ["policy"],
  aws_sns_topic_policy: ["policy"],
  aws_sqs_queue_policy: ["policy"],
  aws_ecr_repository_policy: ["policy"],
  aws_kms_key: ["policy"],
  aws_kms_key_policy: ["policy"],
  aws_cloudwatch_log_resource_policy: ["policy_document"],
};

/** Every element type whose policy documents the IAM rules read. */
export const POLICY_CARRIER_TYPES: readonly string[] = ["data.aws_iam_policy_document", ...Object.keys(POLICY_ATTRIBUTES)];

/** Types whose `policy` is a KMS key policy (where `Resource: "*"` means "this key"). */
const KEY_POLICY_TYPES = new Set(["aws_kms_key", "aws_kms_key_policy"]);

const DOCUMENT_REFERENCE = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.json\}$/;

/** The policy document of an element: a data source's statements, or the literal JSON policies of a resource. */
export function documentOf(element: PolicyElement, context: PolicyContext): PolicyDocument | undefined {
  if (element.kind === "data") {
    return element.type === "aws_iam_policy_document" ? dataDocument(element, context, new Set()) : undefined;
  }
  const paths = POLICY_ATTRIBUTES[element.type];
  if (!paths) return undefined;
  const statements: Statement[] = [];
  const unknown: string[] = [];
  let found = false;
  for (const path of paths) {
    for (const value of attributeValues(element.config, path)) {
      if (typeof value !== "string" || DOCUMENT_REFERENCE.test(value)) continue; // absent, or checked on the data source
      found = true;
      const parsed = parseJsonPolicy(value, `${path}`);
      statements.push(...parsed.statements);
      unknown.push(...parsed.unknown);
    }
  }
  return found ? { statements, unknown } : undefined;
}

/**
 * The document a `policy`-like attribute holds, following a reference to a `data.aws_iam_policy_document`; literal
 * JSON is parsed; any other expression is reported as unknown.
 */
export function resolvePolicyValue(value: unknown, context: PolicyContext, where: string): PolicyDocument {
  if (typeof value !== "string") return { statements: [], unknown: [] };
  const reference = DOCUMENT_REFERENCE.exec(value);
  if (reference) {
    const source = context.byAddress(`data.aws_iam_policy_document.${reference[1]}`);
    return source ? dataDocument(source, context, new Set()) : { statements: [], unknown: [`${where} = ${value}`] };
  }
  return parseJsonPolicy(value, where);
}

/** True when the element is, or is only used as, a KMS key policy. */
export function isKeyPolicy(element: PolicyElement, context: PolicyContext): boolean {
  if (KEY_POLICY_TYPES.has(element.type)) return true;
  if (element.kind !== "data") return false;
  const users = attachmentsOf(element, context);
  return users.length > 0 && users.every((user) => KEY_POLICY_TYPES.has(user.type));
}

/** Resources that use a data source's document (`policy = data.aws_iam_policy_document.x.json` and the like). */
export function attachmentsOf(element: PolicyElement, context: PolicyContext): PolicyElement[] {
  return context.elements.filter((other) => other !== element && other.kind === "resource" && refersTo(other.config, element.address));
}

/** ` (attached to aws_iam_role_policy.x, aws_iam_role.y)`, or ` (not attached to anything in this stack)`. */
export function attachmentNote(element: PolicyElement, context: PolicyContext): string {
  if (element.kind !== "data") return "";
  const users = attachmentsOf(element, context);
  return users.length ? ` (used by ${users.map((u) => u.address).join(", ")})` : "";
}

/** The values at `path` (`inline_policy.policy` walks into every `inline_policy` block). */
function attributeValues(config: Json, path: string): unknown[] {
  const [head = "", ...rest] = path.split(".");
  if (rest.length === 0) return [config[head]];
  return blocks(config, head).flatMap((b) => attributeValues(b.body, rest.join(".")));
}

function dataDocument(element: PolicyElement, context: PolicyContext, seen: Set<string>): PolicyDocument {
  seen.add(element.address);
  const statements: Statement[] = [];
  const unknown: string[] = [];
  for (const key of ["source_policy_documents", "override_policy_documents"]) {
    const { literals, expressions } = stringList(element.config[key]);
    for (const value of [...literals, ...expressions]) {
      const reference = DOCUMENT_REFERENCE.exec(value);
      if (reference) {
        const source = context.byAddress(`data.aws_iam_policy_document.${reference[1]}`);
        if (source && !seen.has(source.address)) {
          const nested = dataDocument(source, context, seen);
          statements.push(...nested.statements.map((s) => ({ ...s, label: `${s.label} of ${source.address}` })));
          unknown.push(...nested.unknown);
        }
      } else {
        const parsed = parseJsonPolicy(value, key);
        statements.push(...parsed.statements);
        unknown.push(...parsed.unknown);
      }
    }
  }
  blocks(element.config, "statement").forEach((b, index) => statements.push(fromDataStatement(b.body, index)));
  if (isExpression(element.config.statement)) unknown.push(`statement = ${element.config.statement}`);
  return { statements, unknown };
}

function fromDataStatement(body: Json, index: number): Statement {
  const sid = typeof body.sid === "string" ? body.sid : undefined;
  const list = (key: string) => stringListOf(body[key]);
  const principals = (key: string): Principal[] =>
    blocks(body, key).map((p) => ({ type: String(p.body.type ?? ""), identifiers: stringListOf(p.body.identifiers) }));
  return {
    label: `statement ${index + 1}${sid ? ` (sid ${sid})` : ""}`,
    effect: typeof body.effect === "string" ? body.effect : "Allow",
    actions: list("actions"),
    notActions: list("not_actions"),
    resources: list("resources"),
    notResources: list("not_resources"),
    principals: principals("principals"),
    notPrincipals: principals("not_principals"),
    conditions: blocks(body, "condition").map((c) => ({
      test: String(c.body.test ?? ""),
      variable: String(c.body.variable ?? ""),
      values: stringListOf(c.body.values),
    })),
  };
}

function stringListOf(value: unknown): string[] {
  const { literals, expressions } = stringList(value);
  return [...literals, ...expressions];
}

/** Parses a literal JSON policy; an expression (`${jsonencode(...)}`) or invalid JSON is reported as unknown. */
export function parseJsonPolicy(text: string, where: string): PolicyDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { statements: [], unknown: [`${where} = ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`] };
  }
  if (!isObject(parsed)) return { statements: [], unknown: [`${where} is not a JSON object`] };
  const raw = parsed.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const statements = list.filter(isObject).map((s, index): Statement => {
    const sid = typeof s.Sid === "string" ? s.Sid : undefined;
    return {
      label: `${where} statement ${index + 1}${sid ? ` (sid ${sid})` : ""}`,
      effect: typeof s.Effect === "string" ? s.Effect : "Allow",
      actions: stringListOf(s.Action),
      notActions: stringListOf(s.NotAction),
      resources: stringListOf(s.Resource),
      notResources: stringListOf(s.NotResource),
      principals: jsonPrincipals(s.Principal),
      notPrincipals: jsonPrincipals(s.NotPrincipal),
      conditions: jsonConditions(s.Condition),
    };
  });
  return { statements, unknown: [] };
}

function jsonPrincipals(value: unknown): Principal[] {
  if (value === undefined) return [];
  if (value === "*") return [{ type: "*", identifiers: ["*"] }];
  if (!isObject(value)) return [{ type: "?", identifiers: stringListOf(value) }];
  return Object.entries(value).map(([type, ids]) => ({ type, identifiers: stringListOf(ids) }));
}

function jsonConditions(value: unknown): Condition[] {
  if (!isObject(value)) return [];
  const conditions: Condition[] = [];
  for (const [test, byVariable] of Object.entries(value)) {
    if (!isObject(byVariable)) continue;
    for (const [variable, values] of Object.entries(byVariable)) {
      conditions.push({ test, variable, values: stringListOf(Array.isArray(values) ? values : [values].map(String)) });
    }
  }
  return conditions;
}
