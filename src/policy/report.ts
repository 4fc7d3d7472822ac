/**
 * How policy results reach people: the synth failure (every violation of every checked stack at once, one line
 * each: rule id, address, what is wrong, the fix), the summary `npm run synth` prints, and the tables of docs/policy-rules.md.
 */
import { GtiError } from "../errors";
import type { Finding, PolicyReport, SuppressedFinding, UnusedSuppression } from "./engine";
import { failed } from "./engine";
import { MIN_REASON_LENGTH } from "./suppressions";
import type { PolicyRule } from "./types";

/** `GTI-S3-002 aws_s3_bucket.storage_data: <what>. Fix: <fix>` */
export function formatViolation(finding: Finding): string {
  return `${finding.ruleId} ${finding.address}: ${finding.what}. Fix: ${finding.fix}`;
}

const VERDICT_TEXT: Record<UnusedSuppression["verdict"], string> = {
  COMPLIANT: "the rule finds the resource compliant",
  NOT_APPLICABLE: "the rule does not apply to the resource as configured",
  NOT_RUN: "the rule is not in the packs applied to this stack",
};

/** `unused suppression GTI-... on <address> ("<reason>"): ... Fix: remove the suppressRule call` */
export function formatUnused(unused: UnusedSuppression): string {
  return (
    `unused suppression ${unused.ruleId} ${unused.address} ("${unused.reason}"): ${VERDICT_TEXT[unused.verdict]}, so it hides nothing. ` +
    `Fix: remove the suppressRule(..., "${unused.ruleId}", ...) call for ${unused.constructPath}`
  );
}

/** `GTI-LAMBDA-002 aws_lambda_function.safety_guard: <reason>` */
export function formatSuppressed(finding: SuppressedFinding): string {
  return `${finding.ruleId} ${finding.address}: ${finding.reason}`;
}

/** Synth stops on policy violations: lists every violation (and unused suppression) of every stack given. */
export class PolicyViolationError extends GtiError {
  public override readonly name = "PolicyViolationError";

  public constructor(public readonly reports: readonly PolicyReport[]) {
    super(formatFailure(reports));
  }
}

function formatFailure(reports: readonly PolicyReport[]): string {
  const failing = reports.filter(failed);
  const count = failing.reduce((n, r) => n + r.violations.length + r.unused.length, 0);
  const stacks = failing.map((r) => `"${r.stack}"`).join(", ");
  const lines = [`Policy check failed: ${count} ${count === 1 ? "problem" : "problems"} in stack${failing.length === 1 ? "" : "s"} ${stacks}:`];
  for (const report of failing) {
    if (failing.length > 1) lines.push(`  stack "${report.stack}":`);
    const indent = failing.length > 1 ? "    - " : "  - ";
    for (const violation of report.violations) lines.push(`${indent}${formatViolation(violation)}`);
    for (const unused of report.unused) lines.push(`${indent}${formatUnused(unused)}`);
  }
  lines.push(
    `Rules are documented in docs/policy-rules.md. To accept a finding on purpose, suppress it on that resource: ` +
      `suppressRule(resource, "<rule id>", "<reason, at least ${MIN_REASON_LENGTH} characters>") from src/policy.`,
  );
  return lines.join("\n");
}

/** The lines `npm run synth` prints after a successful synth: a summary, then one line per suppressed finding. */
export function formatSummary(reports: readonly PolicyReport[], options: { readonly details?: boolean } = {}): string {
  if (reports.length === 0) return "";
  const rules = new Set(reports.flatMap((r) => r.rules)).size;
  const suppressed = reports.flatMap((r) => r.suppressed);
  const head = `Policy: ${rules} rules passed on ${reports.length} stack${reports.length === 1 ? "" : "s"} (${reports.map((r) => r.stack).join(", ")})`;
  if (suppressed.length === 0) return `${head}, nothing suppressed.\n`;
  const count = `${suppressed.length} finding${suppressed.length === 1 ? "" : "s"} suppressed with a reason`;
  if (options.details) {
    const lines = suppressed.map((s) => `  suppressed [${s.stack}] ${formatSuppressed(s)}`);
    return `${head}, ${count}:\n${lines.join("\n")}\n`;
  }
  const stacksByRule = new Map<string, string[]>();
  for (const s of suppressed) stacksByRule.set(s.ruleId, [...(stacksByRule.get(s.ruleId) ?? []), s.stack]);
  const rulesList = [...stacksByRule].map(([rule, stacks]) => `${rule} in ${[...new Set(stacks)].join(", ")}`).join("; ");
  return `${head}, ${count} (${rulesList}; ${POLICY_DETAILS_VARIABLE}=1 prints the reasons).\n`;
}

/** Environment variable that makes synth print every suppressed finding with its reason. */
export const POLICY_DETAILS_VARIABLE = "GTI_POLICY_DETAILS";

/**
 * A markdown table cell: `|` escaped everywhere; outside code spans also `*` (would start emphasis) and `<`/`>`
 * (`<owner>` would be read as an HTML tag and vanish).
 */
function cell(text: string): string {
  return text
    .replace(/\n/g, " ")
    .split("`")
    .map((part, index) => (index % 2 === 1 ? part : part.replace(/\*/g, "\\*").replace(/</g, "&lt;").replace(/>/g, "&gt;")))
    .join("`")
    .replace(/\|/g, "\\|");
}

/** The rule table of docs/policy-rules.md (id, pack, what, why, fix), generated from the rules' own documentation. */
export function rulesTable(rules: readonly PolicyRule[]): string {
  const rows = rules.map((r) => `| \`${r.id}\` | ${r.pack} | ${cell(r.what)} | ${cell(r.why)} | ${cell(r.fix)} |`);
  return ["| rule | pack | what | why | fix |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/** The suppressions table of docs/policy-rules.md (rule, resource, stacks, reason); one row per suppression shared across stacks. */
export function suppressionsTable(reports: readonly PolicyReport[]): string {
  const rows = new Map<string, { ruleId: string; address: string; reason: string; stacks: string[] }>();
  for (const finding of reports.flatMap((r) => r.suppressed)) {
    const key = `${finding.ruleId}\u0000${finding.address}\u0000${finding.reason}`;
    const row = rows.get(key) ?? { ruleId: finding.ruleId, address: finding.address, reason: finding.reason, stacks: [] };
    if (!row.stacks.includes(finding.stack)) row.stacks.push(finding.stack);
    rows.set(key, row);
  }
  const sorted = [...rows.values()].sort((a, b) => a.ruleId.localeCompare(b.ruleId) || a.address.localeCompare(b.address));
  const body = sorted.length
    ? sorted.map((r) => `| \`${r.ruleId}\` | \`${r.address}\` | ${r.stacks.join(", ")} | ${cell(r.reason)} |`)
    : ["| - | - | - | nothing is suppressed |"];
  return ["| rule | resource | stacks | reason |", "| --- | --- | --- | --- |", ...body].join("\n");
}
