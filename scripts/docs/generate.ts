/**
 * The generated docs, from the project's stacks: docs/policy-rules.md and docs/terraform-interface.md. Used by
 * `npm run docs` (scripts/docs.ts) and by the test that fails when a committed doc is stale.
 */
import { Testing, type TerraformStack } from "cdktf";
import { ALL_RULES, evaluateStack } from "../../src/policy";
import type { PolicyReport } from "../../src/policy/engine";
import { renderPolicyRules } from "./policy-rules";
import { type InterfaceStack, renderTerraformInterface } from "./terraform-interface";

/** Paths (relative to the project root) of the generated docs. */
export const GENERATED_DOCS = ["docs/policy-rules.md", "docs/terraform-interface.md"] as const;
export type GeneratedDoc = (typeof GENERATED_DOCS)[number];

/** Each generated doc's content, from the stacks as main.ts wires them (bootstrap first, then one per env). */
export function generateDocs(stacks: readonly TerraformStack[]): { docs: Map<GeneratedDoc, string>; reports: PolicyReport[] } {
  const reports = stacks.map((stack) => evaluateStack(stack, ALL_RULES));
  const synthesized: InterfaceStack[] = stacks.map((stack) => ({ name: stack.node.id, json: JSON.parse(Testing.synth(stack, true)) as InterfaceStack["json"] }));
  const docs = new Map<GeneratedDoc, string>([
    ["docs/policy-rules.md", renderPolicyRules(ALL_RULES, reports)],
    ["docs/terraform-interface.md", renderTerraformInterface(synthesized)],
  ]);
  return { docs, reports };
}
