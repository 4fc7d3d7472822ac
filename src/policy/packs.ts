/**
 * The rule packs. Every rule has a stable id (`GTI-<AREA>-<NNN>`, never renumbered: suppressions and docs/policy-rules.md
 * refer to it) and belongs to one pack: `security` or `cost`. Both packs run on every stack.
 */
import { EC2_RULES } from "./rules/ec2";
import { IAM_RULES } from "./rules/iam";
import { NETWORK_RULES } from "./rules/network";
import { S3_RULES } from "./rules/s3";
import { SERVICE_RULES } from "./rules/services";
import { COST_RULES } from "./rules/cost";
import type { PackName, PolicyRule } from "./types";

/** The order areas are documented in (storage first, cost last). */
const AREAS = ["S3", "EC2", "SG", "IAM", "ECR", "LAMBDA", "SNS", "LOGS", "COST"];

/** Orders by area (as {@link AREAS}), then number. */
function compareIds(a: string, b: string): number {
  const [, areaA = "", numberA = ""] = a.split("-");
  const [, areaB = "", numberB = ""] = b.split("-");
  const rank = (area: string) => (AREAS.includes(area) ? AREAS.indexOf(area) : AREAS.length);
  return rank(areaA) - rank(areaB) || areaA.localeCompare(areaB) || numberA.localeCompare(numberB);
}

/** Every rule, ordered by area, then number. */
export const ALL_RULES: readonly PolicyRule[] = [...S3_RULES, ...EC2_RULES, ...NETWORK_RULES, ...IAM_RULES, ...SERVICE_RULES, ...COST_RULES].sort(
  (a, b) => compareIds(a.id, b.id),
);

/** The packs by name. */
export const PACKS: Readonly<Record<PackName, readonly PolicyRule[]>> = {
  security: ALL_RULES.filter((rule) => rule.pack === "security"),
  cost: ALL_RULES.filter((rule) => rule.pack === "cost"),
};

/** Every pack name, in the order they are documented. */
export const PACK_NAMES: readonly PackName[] = ["security", "cost"];

const RULE_ID = /^GTI-[A-Z0-9]+-\d{3}$/;
const byId = new Map<string, PolicyRule>();
for (const rule of ALL_RULES) {
  if (!RULE_ID.test(rule.id)) throw new Error(`policy rule id "${rule.id}" is not GTI-<AREA>-<NNN>`);
  if (byId.has(rule.id)) throw new Error(`policy rule id "${rule.id}" is used twice`);
  byId.set(rule.id, rule);
}

/** A rule by its exact id. */
export function ruleById(id: string): PolicyRule | undefined {
  return byId.get(id);
}

/** The rules of the named packs, ordered by id. */
export function rulesOf(packs: readonly PackName[]): readonly PolicyRule[] {
  return ALL_RULES.filter((rule) => packs.includes(rule.pack));
}
