/**
 * Suppressions: accepting one rule's finding on one resource, on purpose, with the reason written down.
 *
 * There is no global switch and no wildcard: a suppression names one resource (a `TerraformResource` or
 * `TerraformDataSource` construct), one exact rule id and a reason of at least {@link MIN_REASON_LENGTH} characters.
 * Every suppression that hides a finding is printed by `npm run synth` and listed in docs/policy-rules.md; one that hides
 * nothing (the rule finds the resource compliant, or does not apply to it) fails synth, since it only misleads.
 */
import { TerraformDataSource, TerraformResource } from "cdktf";
import type { IConstruct } from "constructs";
import { GtiError } from "../errors";
import { ALL_RULES, ruleById } from "./packs";

/** Minimum length of a suppression's reason (as cdk-nag), after trimming. */
export const MIN_REASON_LENGTH = 10;

/** One accepted finding. */
export interface Suppression {
  readonly ruleId: string;
  readonly reason: string;
}

/** A resource or data source construct: what a suppression attaches to. */
export type SuppressibleElement = TerraformResource | TerraformDataSource;

const suppressions = new WeakMap<IConstruct, Map<string, Suppression>>();

/** `aws_instance`, or `data.aws_iam_policy_document` for a data source. */
export function typeKeyOf(element: SuppressibleElement): string {
  return element instanceof TerraformDataSource ? `data.${element.terraformResourceType}` : element.terraformResourceType;
}

/**
 * Accepts rule `ruleId`'s finding on `resource`, for `reason`.
 *
 * @example suppressRule(guard, "GTI-LAMBDA-002", "runs once an hour from EventBridge; reserving concurrency would take it from the account pool")
 * @throws GtiError when the rule id is unknown or a wildcard, the rule never inspects this resource type, the reason
 *   is shorter than 10 characters, or the rule is already suppressed on this resource
 */
export function suppressRule(resource: SuppressibleElement, ruleId: string, reason: string): void {
  const where = `on ${resource.node.path}`;
  if (!(resource instanceof TerraformResource || resource instanceof TerraformDataSource)) {
    throw new GtiError(
      `A policy suppression ${where} must be on a Terraform resource or data source construct. Fix: pass the resource itself (e.g. bucket.bucket, not the SecureBucket).`,
    );
  }
  if (ruleId.includes("*")) {
    throw new GtiError(
      `Policy suppression ${where} uses the wildcard rule id "${ruleId}": suppressions name one rule each. Fix: call suppressRule once per rule id, with its own reason.`,
    );
  }
  const rule = ruleById(ruleId);
  if (!rule) {
    throw new GtiError(
      `Policy suppression ${where} names the unknown rule id "${ruleId}". Fix: use one of ${ALL_RULES.map((r) => r.id).join(", ")} (docs/policy-rules.md).`,
    );
  }
  const type = typeKeyOf(resource);
  if (!rule.appliesTo.includes(type)) {
    throw new GtiError(
      `Policy suppression ${where} suppresses ${ruleId}, which never inspects ${type} (it checks ${rule.appliesTo.join(", ")}), so it would hide nothing. Fix: remove it, or put it on the resource the finding names.`,
    );
  }
  const trimmed = reason.trim();
  if (trimmed.length < MIN_REASON_LENGTH) {
    throw new GtiError(
      `Policy suppression of ${ruleId} ${where} has the reason ${JSON.stringify(reason)} (${trimmed.length} characters): a reason needs at least ${MIN_REASON_LENGTH}. Fix: say why the finding is acceptable here, e.g. "one run per hour; reserving concurrency would only shrink the account pool".`,
    );
  }
  let byRule = suppressions.get(resource);
  if (!byRule) {
    byRule = new Map();
    suppressions.set(resource, byRule);
  }
  if (byRule.has(ruleId)) {
    throw new GtiError(`${ruleId} is suppressed twice ${where}. Fix: keep one suppressRule call, with one reason.`);
  }
  byRule.set(ruleId, { ruleId, reason: trimmed });
}

/** The suppressions on a construct, by rule id (empty when none). */
export function suppressionsOf(construct: IConstruct): ReadonlyMap<string, Suppression> {
  return suppressions.get(construct) ?? new Map();
}
