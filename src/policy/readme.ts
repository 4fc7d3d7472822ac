/**
 * The README's generated policy tables: the rule table (from the rules' own `what`/`why`/`fix`) and the table of
 * suppressions in force (from synthesizing the project's stacks). `npm run policy:readme` rewrites them; a test fails
 * when they are stale.
 */
import { GtiError } from "../errors";
import type { PolicyReport } from "./engine";
import { rulesTable, suppressionsTable } from "./report";
import type { PolicyRule } from "./types";

/** The marker names: `<!-- policy:rules -->` ... `<!-- /policy:rules -->`. */
export const README_MARKERS = ["policy:rules", "policy:suppressions"] as const;

/** `readme` with the content between `<!-- name -->` and `<!-- /name -->` replaced by `content`. */
export function replaceBetweenMarkers(readme: string, name: string, content: string): string {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  if (start < 0 || end < start) {
    throw new GtiError(`README.md has no "${open}" ... "${close}" block. Fix: put both markers, on their own lines, in the policy section.`);
  }
  return `${readme.slice(0, start + open.length)}\n${content}\n${readme.slice(end)}`;
}

/** The README with both policy tables regenerated. */
export function renderPolicyReadme(readme: string, rules: readonly PolicyRule[], reports: readonly PolicyReport[]): string {
  const withRules = replaceBetweenMarkers(readme, "policy:rules", rulesTable(rules));
  return replaceBetweenMarkers(withRules, "policy:suppressions", suppressionsTable(reports));
}
