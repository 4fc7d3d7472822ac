/**
 * docs/policy-rules.md: every rule of the policy packs (from the rules' own `what` / `why` / `fix`, like cdk-nag's
 * RULES.md) and every suppression in force in the project's stacks.
 */
import type { PolicyReport } from "../../src/policy/engine";
import { rulesTable, suppressionsTable } from "../../src/policy/report";
import type { PolicyRule } from "../../src/policy/types";
import { generatedBanner } from "./markdown";

/** The document, from the rules and the reports of the project's stacks. */
export function renderPolicyRules(rules: readonly PolicyRule[], reports: readonly PolicyReport[]): string {
  const packs = [...new Set(rules.map((r) => r.pack))];
  const stacks = reports.map((r) => r.stack).join(", ");
  return [
    "# Policy rules",
    "",
    generatedBanner("scripts/docs/policy-rules.ts, from src/policy/rules/*.ts and the synthesized stacks"),
    "",
    `Every rule the policy packs check on every synth (${rules.length} rules in ${packs.length} packs: ${packs.join(", ")}). How the`,
    "packs work, how to suppress a finding and how to add a rule: [policy.md](policy.md). Rule ids are stable (`GTI-<AREA>-<NNN>`,",
    "never renumbered): suppressions refer to them.",
    "",
    "## Rules",
    "",
    rulesTable(rules),
    "",
    "## Suppressions in force",
    "",
    `Findings the project accepts on purpose, each on one resource with its reason (stacks ${stacks}).`,
    "",
    suppressionsTable(reports),
    "",
  ].join("\n");
}
