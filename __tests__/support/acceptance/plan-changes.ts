/**
 * Reads `terraform show -json <plan>` and says what a plan would change, attribute by attribute, so a plan that should
 * be empty fails with the reason in the test output (`aws_launch_template.fleet update: tag_specifications[1]: ... ->
 * (absent)`), not only "exit code 2".
 */

/** The parts of Terraform's JSON plan representation read here. */
export interface PlanJson {
  readonly resource_changes?: readonly ResourceChange[];
  readonly output_changes?: Readonly<Record<string, Change>>;
}

interface ResourceChange {
  readonly address: string;
  readonly action_reason?: string;
  readonly change: Change;
}

interface Change {
  readonly actions: readonly string[];
  readonly before?: unknown;
  readonly after?: unknown;
  readonly after_unknown?: unknown;
  readonly before_sensitive?: unknown;
  readonly after_sensitive?: unknown;
  readonly replace_paths?: readonly (readonly (string | number)[])[];
}

/** One resource, data source or output the plan would change. */
export interface PlannedChange {
  /** e.g. `aws_instance.compute_training[0]`, `data.aws_iam_policy_document.x`, `output.instance_id`. */
  readonly address: string;
  /** Terraform's actions, e.g. `["update"]`, `["delete", "create"]`, `["read"]`. */
  readonly actions: readonly string[];
  /** Why, when Terraform says (e.g. `read_because_dependency_pending`, `replace_because_cannot_update`). */
  readonly reason?: string;
  /** Each changing attribute: `path: before -> after` (`(known after apply)`, `(absent)`, `(sensitive)`). */
  readonly attributes: readonly string[];
}

const MAX_VALUE_CHARS = 160;

/** Every change of a plan (no-ops left out), resources first, then outputs. */
export function plannedChanges(plan: PlanJson): PlannedChange[] {
  const changes: PlannedChange[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (isNoOp(rc.change.actions)) continue;
    changes.push({
      address: rc.address,
      actions: rc.change.actions,
      ...(rc.action_reason ? { reason: rc.action_reason } : {}),
      attributes: attributeChanges(rc.change),
    });
  }
  for (const [name, change] of Object.entries(plan.output_changes ?? {})) {
    if (isNoOp(change.actions)) continue;
    changes.push({ address: `output.${name}`, actions: change.actions, attributes: attributeChanges(change) });
  }
  return changes;
}

/** The changes as readable lines, one block per address. */
export function describeChanges(changes: readonly PlannedChange[]): string {
  if (changes.length === 0) return "(no changes)";
  return changes
    .map((c) => {
      const head = `${c.address} ${c.actions.join("+")}${c.reason ? ` (${c.reason})` : ""}`;
      return c.attributes.length ? `${head}:\n${c.attributes.map((a) => `    ${a}`).join("\n")}` : head;
    })
    .join("\n");
}

function isNoOp(actions: readonly string[]): boolean {
  return actions.length === 1 && actions[0] === "no-op";
}

/** `path: before -> after` for every leaf that differs (or becomes unknown) between before and after. */
function attributeChanges(change: Change): string[] {
  const lines: string[] = [];
  const replacing = new Set((change.replace_paths ?? []).map((p) => render(p)));
  walk(change.before, change.after, change.after_unknown, change.before_sensitive, change.after_sensitive, [], lines, replacing);
  return lines;
}

function walk(
  before: unknown,
  after: unknown,
  unknown: unknown,
  beforeSensitive: unknown,
  afterSensitive: unknown,
  path: (string | number)[],
  out: string[],
  replacing: ReadonlySet<string>,
): void {
  const note = replacing.has(render(path)) ? " (forces replacement)" : "";
  if (unknown === true) {
    out.push(`${label(path)}: ${show(before, beforeSensitive)} -> (known after apply)${note}`);
    return;
  }
  if (isContainer(before) || isContainer(after) || isContainer(unknown)) {
    const keys = new Set([...keysOf(before), ...keysOf(after), ...keysOf(unknown)]);
    // A list that changed length is shown whole: element-wise it would be misleading.
    if ((Array.isArray(before) || Array.isArray(after)) && lengthOf(before) !== lengthOf(after) && !isContainer(unknown)) {
      out.push(`${label(path)}: ${show(before, beforeSensitive)} -> ${show(after, afterSensitive)}${note}`);
      return;
    }
    for (const key of keys) {
      walk(child(before, key), child(after, key), child(unknown, key), child(beforeSensitive, key), child(afterSensitive, key), [...path, key], out, replacing);
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    out.push(`${label(path)}: ${show(before, beforeSensitive)} -> ${show(after, afterSensitive)}${note}`);
  }
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === "object" && value !== null;
}

function keysOf(value: unknown): (string | number)[] {
  if (Array.isArray(value)) return value.map((_, i) => i);
  if (isContainer(value)) return Object.keys(value);
  return [];
}

function lengthOf(value: unknown): number | undefined {
  return Array.isArray(value) ? value.length : undefined;
}

function child(value: unknown, key: string | number): unknown {
  if (Array.isArray(value)) return typeof key === "number" ? value[key] : undefined;
  if (isContainer(value)) return (value as Record<string, unknown>)[String(key)];
  return undefined;
}

function render(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
}

function label(path: readonly (string | number)[]): string {
  return render(path).replace(/^\./, "") || "(whole value)";
}

function show(value: unknown, sensitive: unknown): string {
  if (sensitive === true) return "(sensitive)";
  if (value === undefined) return "(absent)";
  const text = JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}...` : text;
}
