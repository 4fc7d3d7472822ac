/**
 * Policy as code: the security and cost rule packs, applied to every stack as a cdktf Aspect, failing synth on a
 * violation; and reasoned, per-resource suppressions. See docs/policy.md.
 *
 * @example
 * applyPolicy(stack); // in the stack's constructor (both stacks of this project do it)
 * suppressRule(guard, "GTI-LAMBDA-002", "runs once an hour from EventBridge; nothing to reserve for");
 */
export { PolicyChecks, applyPolicy, policyReportOf, policyReports, printPolicySummary, type PolicyChecksOptions } from "./aspect";
export { evaluateStack, failed, type Finding, type PolicyReport, type SuppressedFinding, type UnusedSuppression } from "./engine";
export { ALL_RULES, PACKS, PACK_NAMES, ruleById, rulesOf } from "./packs";
export { POLICY_DETAILS_VARIABLE, PolicyViolationError, formatSummary, rulesTable, suppressionsTable } from "./report";
export { MIN_REASON_LENGTH, suppressRule, suppressionsOf, type Suppression } from "./suppressions";
export { COMPLIANT, NOT_APPLICABLE, nonCompliant, type PackName, type PolicyContext, type PolicyElement, type PolicyRule, type RuleResult } from "./types";
