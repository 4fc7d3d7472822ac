/**
 * Runs rules over one stack and sorts the verdicts into violations, suppressed findings and unused suppressions.
 *
 * The rules read the stack's synthesized JSON (`stack.toTerraform()`), not the constructs' typed inputs: that JSON
 * already holds every `addOverride` (on an element, or on the stack), so an escape hatch can neither hide a
 * violation from a rule nor leave a fixed resource flagged. Evaluation is pure: it changes nothing in the stack.
 */
import { TerraformDataSource, TerraformResource, type TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import { type Suppression, suppressionsOf, typeKeyOf } from "./suppressions";
import type { Json, PolicyContext, PolicyElement, PolicyRule } from "./types";
import { isObject } from "./values";

/** A rule broken by a resource. */
export interface Finding {
  readonly stack: string;
  readonly ruleId: string;
  /** Terraform address, e.g. `aws_s3_bucket.storage_data`. */
  readonly address: string;
  /** Construct path, when the element has a construct (not for elements added with a stack-level override). */
  readonly constructPath?: string;
  readonly what: string;
  readonly fix: string;
}

/** A finding accepted by a suppression. */
export interface SuppressedFinding extends Finding {
  readonly reason: string;
}

/** A suppression that hides nothing. */
export interface UnusedSuppression {
  readonly stack: string;
  readonly ruleId: string;
  readonly address: string;
  readonly constructPath: string;
  readonly reason: string;
  /** Why it hides nothing: the rule found the resource compliant, does not apply, or is not in the packs run. */
  readonly verdict: "COMPLIANT" | "NOT_APPLICABLE" | "NOT_RUN";
}

/** The outcome of the pack on one stack. */
export interface PolicyReport {
  readonly stack: string;
  /** Ids of the rules that ran. */
  readonly rules: readonly string[];
  /** Resources and data sources inspected. */
  readonly elements: number;
  readonly violations: readonly Finding[];
  readonly suppressed: readonly SuppressedFinding[];
  readonly unused: readonly UnusedSuppression[];
}

/** True when the report fails synth (violations or unused suppressions). */
export function failed(report: PolicyReport): boolean {
  return report.violations.length > 0 || report.unused.length > 0;
}

const rulesByTypeCache = new WeakMap<readonly PolicyRule[], Map<string, PolicyRule[]>>();

function rulesByType(rules: readonly PolicyRule[]): Map<string, PolicyRule[]> {
  let index = rulesByTypeCache.get(rules);
  if (!index) {
    index = new Map();
    for (const rule of rules) {
      for (const type of rule.appliesTo) {
        const list = index.get(type) ?? [];
        list.push(rule);
        index.set(type, list);
      }
    }
    rulesByTypeCache.set(rules, index);
  }
  return index;
}

/** The elements of a synthesized stack JSON. */
export function elementsOf(json: Json): PolicyElement[] {
  const elements: PolicyElement[] = [];
  for (const kind of ["resource", "data"] as const) {
    const byType = json[kind];
    if (!isObject(byType)) continue;
    for (const [type, byName] of Object.entries(byType)) {
      if (!isObject(byName)) continue;
      for (const [name, body] of Object.entries(byName)) {
        if (!isObject(body)) continue;
        const { "//": _metadata, ...config } = body;
        const address = kind === "data" ? `data.${type}.${name}` : `${type}.${name}`;
        elements.push({ kind, type, name, address, config });
      }
    }
  }
  return elements;
}

/** A rule context over a stack's elements. */
export function contextOf(stack: string, json: Json): PolicyContext {
  const elements = elementsOf(json);
  const byType = new Map<string, PolicyElement[]>();
  const byAddress = new Map<string, PolicyElement>();
  for (const element of elements) {
    const key = element.kind === "data" ? `data.${element.type}` : element.type;
    const list = byType.get(key) ?? [];
    list.push(element);
    byType.set(key, list);
    byAddress.set(element.address, element);
  }
  return {
    stack,
    elements,
    ofType: (typeKey) => byType.get(typeKey) ?? [],
    byAddress: (address) => byAddress.get(address),
  };
}

/** The constructs of a stack's resources and data sources, by Terraform address. */
function constructsByAddress(stack: TerraformStack): Map<string, TerraformResource | TerraformDataSource> {
  const found = new Map<string, TerraformResource | TerraformDataSource>();
  for (const construct of stack.node.findAll()) {
    if (construct instanceof TerraformResource || construct instanceof TerraformDataSource) {
      const key = typeKeyOf(construct);
      found.set(`${key}.${construct.friendlyUniqueId}`, construct);
    }
  }
  return found;
}

/**
 * Runs `rules` over `stack` (its synthesized JSON) and applies the suppressions on its constructs.
 * Never throws for findings: callers decide (the {@link PolicyChecks} aspect fails synth).
 *
 * @param json the stack's `toTerraform()` when the caller already has it (it is not changed)
 */
export function evaluateStack(stack: TerraformStack, rules: readonly PolicyRule[], json: Json = stack.toTerraform() as Json): PolicyReport {
  const name = stack.node.id;
  const context = contextOf(name, json);
  const constructs = constructsByAddress(stack);
  const index = rulesByType(rules);
  const ruleIds = new Set(rules.map((r) => r.id));
  const violations: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const unused: UnusedSuppression[] = [];
  const seen = new Set<string>();

  for (const element of context.elements) {
    const construct = constructs.get(element.address);
    const accepted: ReadonlyMap<string, Suppression> = construct ? suppressionsOf(construct) : new Map();
    const typeKey = element.kind === "data" ? `data.${element.type}` : element.type;
    const verdicts = new Map<string, "COMPLIANT" | "NOT_APPLICABLE">();
    for (const rule of index.get(typeKey) ?? []) {
      const result = rule.check(element, context);
      if (result.status !== "NON_COMPLIANT") {
        verdicts.set(rule.id, result.status);
        continue;
      }
      const finding: Finding = {
        stack: name,
        ruleId: rule.id,
        address: element.address,
        ...(construct ? { constructPath: construct.node.path } : {}),
        what: result.what,
        fix: result.fix,
      };
      const suppression = accepted.get(rule.id);
      if (suppression) suppressed.push({ ...finding, reason: suppression.reason });
      else violations.push(finding);
    }
    if (construct) {
      seen.add(element.address);
      for (const suppression of accepted.values()) {
        const verdict = ruleIds.has(suppression.ruleId) ? verdicts.get(suppression.ruleId) : "NOT_RUN";
        if (verdict) unused.push(unusedOf(name, element.address, construct, suppression, verdict));
      }
    }
  }
  // Suppressed constructs whose element is not in the JSON (removed by an override): their suppressions hide nothing.
  for (const [address, construct] of constructs) {
    if (seen.has(address)) continue;
    for (const suppression of suppressionsOf(construct).values()) unused.push(unusedOf(name, address, construct, suppression, "NOT_APPLICABLE"));
  }
  return { stack: name, rules: [...ruleIds], elements: context.elements.length, violations, suppressed, unused };
}

function unusedOf(
  stack: string,
  address: string,
  construct: IConstruct,
  suppression: Suppression,
  verdict: UnusedSuppression["verdict"],
): UnusedSuppression {
  return { stack, ruleId: suppression.ruleId, address, constructPath: construct.node.path, reason: suppression.reason, verdict };
}
