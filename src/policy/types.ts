/**
 * The vocabulary of the policy pack: a rule is a pure function from one synthesized Terraform element (and the rest
 * of its stack, for cross-resource rules) to COMPLIANT, NON_COMPLIANT (what is wrong, how to fix it) or
 * NOT_APPLICABLE, the way cdk-nag's rules work for AWS CDK.
 */

/** The packs a rule belongs to: `security` (exposure, encryption, least privilege) or `cost` (nothing billed idle). */
export type PackName = "security" | "cost";

/** A rule's verdict on one element. */
export type RuleResult =
  | { readonly status: "COMPLIANT" }
  | { readonly status: "NOT_APPLICABLE" }
  | {
      readonly status: "NON_COMPLIANT";
      /** What is wrong with this element, specifically (values, missing resources). */
      readonly what: string;
      /** How to fix it, specifically. */
      readonly fix: string;
    };

export const COMPLIANT: RuleResult = Object.freeze({ status: "COMPLIANT" });
export const NOT_APPLICABLE: RuleResult = Object.freeze({ status: "NOT_APPLICABLE" });

/** A NON_COMPLIANT verdict. */
export function nonCompliant(what: string, fix: string): RuleResult {
  return { status: "NON_COMPLIANT", what, fix };
}

/** A JSON object as Terraform JSON syntax has it (tokens already resolved to `${...}` strings). */
export type Json = Readonly<Record<string, unknown>>;

/**
 * One resource or data source of a synthesized stack, as the rules see it: its synthesized JSON, which includes
 * every `addOverride` (element and stack level), so escape hatches cannot hide a value from a rule.
 */
export interface PolicyElement {
  /** `resource` or `data`. */
  readonly kind: "resource" | "data";
  /** Terraform type, e.g. `aws_s3_bucket` or `aws_iam_policy_document` (for `data`). */
  readonly type: string;
  /** Terraform name (the logical id), e.g. `storage_data`. */
  readonly name: string;
  /** Terraform address: `aws_s3_bucket.storage_data`, `data.aws_iam_policy_document.state`. */
  readonly address: string;
  /** The element's synthesized JSON body, without cdktf's `//` metadata. */
  readonly config: Json;
}

/** What a rule may look at besides the element itself: everything else in the same stack. */
export interface PolicyContext {
  /** The stack's name. */
  readonly stack: string;
  /** Every resource and data source of the stack. */
  readonly elements: readonly PolicyElement[];
  /** Resources (`kind: "resource"`) of a type; data sources with `data.<type>`. */
  ofType(typeKey: string): readonly PolicyElement[];
  /** An element by address (`aws_s3_bucket.x`, `data.aws_iam_policy_document.y`). */
  byAddress(address: string): PolicyElement | undefined;
}

/** One rule. Rules are data plus a pure `check`; packs are lists of rules. */
export interface PolicyRule {
  /** Stable id, `GTI-<AREA>-<NNN>`. Never renumber: suppressions and docs/policy-rules.md refer to it. */
  readonly id: string;
  /** The pack the rule belongs to. */
  readonly pack: PackName;
  /** The element types the rule inspects (`aws_instance`, `data.aws_iam_policy_document`). */
  readonly appliesTo: readonly string[];
  /** What the rule requires, one line. */
  readonly what: string;
  /** Why, one or two sentences. */
  readonly why: string;
  /** The usual fix, one line (each finding carries its own, more specific fix). */
  readonly fix: string;
  /** The verdict on one element of a type in {@link appliesTo}. Pure: reads its arguments, changes nothing. */
  check(element: PolicyElement, context: PolicyContext): RuleResult;
}
