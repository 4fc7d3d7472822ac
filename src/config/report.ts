/**
 * How configuration problems are printed: every problem once, grouped by the file that holds the value, each as
 * `file:line:col  field = value: rule` and an indented `Fix:` line (terminals and editors link `file:line:col`).
 */
import { type ConfigIssue, describeValue } from "../errors";
import { formatLocation } from "./source";

/** One problem as printed (two or more lines, no trailing newline). */
export function formatIssue(issue: ConfigIssue, options: { readonly indent?: string } = {}): string {
  const indent = options.indent ?? "  ";
  const where = formatLocation(issue);
  const envs = envsNote(issue);
  const what =
    issue.field !== undefined ? `${issue.field} = ${describeValue(issue.value)}${envs}: ${issue.rule}` : `${issue.rule}${envs}`;
  const lines = [`${indent}${where}  ${what}`];
  for (const line of issue.excerpt ?? []) lines.push(`${indent}    ${line}`);
  lines.push(`${indent}    Fix: ${issue.fix}`);
  return lines.join("\n");
}

/** `(envs dev, prod)` for a problem in a file other than the env's own; nothing for an env file's own problem. */
function envsNote(issue: ConfigIssue): string {
  const others = issue.environments.filter((env) => !issue.file.endsWith(`/${env}.ts`) && issue.file !== `${env}.ts`);
  if (others.length === 0) return "";
  return issue.environments.length === 1 ? ` (env ${issue.environments[0]})` : ` (envs ${issue.environments.join(", ")})`;
}

/** Problems grouped by file (files in path order, problems by line), with a blank line between files. */
export function formatIssuesByFile(issues: readonly ConfigIssue[], options: { readonly indent?: string } = {}): string {
  const byFile = new Map<string, ConfigIssue[]>();
  for (const issue of sortIssues(issues)) byFile.set(issue.file, [...(byFile.get(issue.file) ?? []), issue]);
  return [...byFile.values()].map((group) => group.map((issue) => formatIssue(issue, options)).join("\n")).join("\n\n");
}

/** File, then line, then column, then field. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      (a.field ?? "").localeCompare(b.field ?? ""),
  );
}

/** `3 problems in 2 files` */
export function countIssues(issues: readonly ConfigIssue[], noun = "problem"): string {
  const files = new Set(issues.map((issue) => issue.file)).size;
  return `${issues.length} ${noun}${issues.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}`;
}

/**
 * Merges problems reported once per environment that are really one (a bad value in a shared file is seen by every
 * env spreading it): same file, place, field, value, rule and fix; their environments are joined.
 */
export function mergeIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const merged = new Map<string, ConfigIssue>();
  for (const issue of issues) {
    const key = JSON.stringify([issue.severity, issue.file, issue.line, issue.column, issue.field, describeValue(issue.value), issue.rule, issue.fix]);
    const seen = merged.get(key);
    if (!seen) {
      merged.set(key, issue);
      continue;
    }
    const environments = [...new Set([...seen.environments, ...issue.environments])].sort();
    merged.set(key, { ...seen, environments });
  }
  return [...merged.values()];
}
