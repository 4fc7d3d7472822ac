/**
 * docs/terraform-interface.md: the user-facing Terraform contract of every synthesized stack: its backend and state
 * key, every variable (type, default per stack, nullability, description, validation) and every output
 * (description, stacks). Everything is read from the synthesized JSON, so the names are exactly what Terraform sees.
 */
import { cell, code, generatedBanner, table } from "./markdown";

/** The parts of a synthesized stack (Terraform JSON syntax) this document reads. */
export interface InterfaceStack {
  readonly name: string;
  readonly json: {
    readonly terraform?: { readonly backend?: Record<string, Record<string, unknown>> };
    readonly variable?: Record<string, Record<string, unknown>>;
    readonly output?: Record<string, Record<string, unknown>>;
  };
}

interface Validation {
  readonly condition: string;
  readonly error_message: string;
}

/** `${expr}` (how cdktf writes a whole-value expression) as Terraform shows it: `expr`. */
function expression(value: string): string {
  const match = /^\$\{([\s\S]*)\}$/.exec(value);
  return match?.[1] ?? value;
}

/** A value as it appears in a tfvars file. */
function literal(value: unknown): string {
  return value === undefined ? "(none: required)" : code(JSON.stringify(value));
}

/** Stack names, or "every stack" / "every env stack" when that is what they are. */
function stackList(names: readonly string[], all: readonly string[], envs: readonly string[]): string {
  if (names.length === all.length) return "every stack";
  if (names.length === envs.length && envs.every((n) => names.includes(n))) return "every env stack";
  return names.join(", ");
}

/** Groups stacks by a per-stack value rendered as text (same text: one group). */
function grouped<T>(entries: readonly (readonly [string, T])[], render: (value: T) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [stack, value] of entries) {
    const key = render(value);
    groups.set(key, [...(groups.get(key) ?? []), stack]);
  }
  return groups;
}

function backendRow(stack: InterfaceStack): string[] {
  const backend = stack.json.terraform?.backend ?? {};
  const [type = "local", settings = {}] = Object.entries(backend)[0] ?? [];
  const key = typeof settings.key === "string" ? code(settings.key) : "-";
  const rest = Object.entries(settings)
    .filter(([name]) => name !== "key")
    .map(([name, value]) => `${name} = ${code(JSON.stringify(value))}`)
    .join(", ");
  return [code(stack.name), type, key, cell(rest || "-")];
}

/** The document, from every stack the app synthesizes (bootstrap and each env). */
export function renderTerraformInterface(stacks: readonly InterfaceStack[]): string {
  const all = stacks.map((s) => s.name);
  const envs = stacks.filter((s) => s.json.terraform?.backend?.s3).map((s) => s.name);
  const variables = new Map<string, [string, Record<string, unknown>][]>();
  const outputs = new Map<string, [string, Record<string, unknown>][]>();
  for (const stack of stacks) {
    for (const [name, v] of Object.entries(stack.json.variable ?? {})) variables.set(name, [...(variables.get(name) ?? []), [stack.name, v]]);
    for (const [name, o] of Object.entries(stack.json.output ?? {})) outputs.set(name, [...(outputs.get(name) ?? []), [stack.name, o]]);
  }

  const lines: string[] = [
    "# Terraform interface",
    "",
    generatedBanner("scripts/docs/terraform-interface.ts, from the synthesized stacks"),
    "",
    "Variable names, output names and state keys are a contract: ops teams write tfvars files and scripts against them.",
    "Renaming one is a breaking change (and a state key change moves the state: [upgrades.md](upgrades.md)). This page",
    "is generated from what `npm run synth` writes to `cdktf.out/stacks/<stack>/cdk.tf.json` for the env files in",
    "`envs/` as shipped, so the defaults below are those envs' values: change an env file and run `npm run docs`.",
    "",
    "Set a variable without re-synthesizing: `terraform apply -var create_instance=true`, a `*.auto.tfvars` file in",
    "`cdktf.out/stacks/<stack>/`, or `npm run deploy -- <stack> --var create_instance=true`.",
    "",
    "An env file sets a variable's default through the field of the same name in camel case: `compute.<field>`",
    "(`create_instance` from `compute.createInstance`, `instance_type` from `compute.instanceType`, ...), and",
    "`fleet.desiredInstances` / `fleet.onDemandBaseCapacity` for the fleet's two; `run_id` always defaults to `\"\"`.",
    "",
    "## Stacks and state",
    "",
    table(
      ["stack", "backend", "state key", "settings"],
      stacks.map((s) => backendRow(s)),
    ),
    "",
    "The bootstrap stack's local path is relative to `cdktf.out/stacks/bootstrap/`: the file is",
    "`./terraform.bootstrap.tfstate` at the project root.",
    "",
    "## Variables",
    "",
    table(
      ["variable", "type", "stacks", "description"],
      [...variables].map(([name, entries]) => {
        const types = [...grouped(entries, (v) => String(v.type)).keys()].join(" / ");
        const description = [...grouped(entries, (v) => String(v.description)).keys()].join(" / ");
        return [`[${code(name)}](#${name})`, code(types), stackList(entries.map(([s]) => s), all, envs), cell(description)];
      }),
    ),
    "",
  ];

  for (const [name, entries] of variables) {
    lines.push(`### ${name}`, "");
    for (const [description, names] of grouped(entries, (v) => String(v.description))) {
      const where = grouped(entries, (v) => String(v.description)).size > 1 ? ` (${names.join(", ")})` : "";
      lines.push(`${description}${where}`, "");
    }
    const typeGroups = grouped(entries, (v) => `${code(String(v.type))}${v.nullable === false ? ", not nullable" : ""}`);
    lines.push(`- type: ${[...typeGroups].map(([t, s]) => (typeGroups.size > 1 ? `${t} (${s.join(", ")})` : t)).join("; ")}`);
    const defaults = grouped(entries, (v) => literal(v.default));
    lines.push(
      `- default: ${[...defaults].map(([d, s]) => (defaults.size > 1 ? `${d} (${s.join(", ")})` : `${d} (${stackList(s, all, envs)})`)).join("; ")}`,
    );
    const validations = grouped(entries, (v) => JSON.stringify((v.validation as Validation[] | undefined) ?? []));
    for (const [rendered, names] of validations) {
      const rules = JSON.parse(rendered) as Validation[];
      const where = validations.size > 1 ? ` (${names.join(", ")})` : "";
      if (rules.length === 0) {
        lines.push(`- validation${where}: none`);
        continue;
      }
      lines.push(`- validation${where}:`);
      for (const rule of rules) {
        lines.push(`  - condition ${code(expression(rule.condition))}`);
        lines.push(`    fails with: ${code(rule.error_message)}`);
      }
    }
    lines.push("");
  }

  lines.push(
    "## Outputs",
    "",
    "No output is ever null: an output about something that does not exist is the empty string (`\"\"`), so scripts",
    "test `[ -n \"$(terraform output -raw instance_id)\" ]`. (Terraform drops null outputs from the state, and the cdktf CLI",
    "then fails after a successful deploy.)",
    "",
    table(
      ["output", "stacks", "description"],
      [...outputs].map(([name, entries]) => {
        const description = [...grouped(entries, (o) => String(o.description))]
          .map(([d, s], _, groups) => (groups.length > 1 ? `${d} (${s.join(", ")})` : d))
          .join(" / ");
        return [code(name), stackList(entries.map(([s]) => s), all, envs), cell(description)];
      }),
    ),
    "",
  );
  return lines.join("\n");
}
