/**
 * The generated docs are the documented contract: docs/terraform-interface.md (every variable, output and state key
 * of every synthesized stack) and docs/policy-rules.md (every policy rule and suppression in force). Each must be
 * exactly what `npm run docs` writes from the current code, and the interface doc must list exactly what the stacks
 * synthesize, checked independently of the renderer.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Testing, type TerraformStack } from "cdktf";
import { beforeAll, describe, expect, it } from "vitest";
import { GENERATED_DOCS, type GeneratedDoc, generateDocs } from "../../scripts/docs/generate";
import type { InterfaceStack } from "../../scripts/docs/terraform-interface";
import { BootstrapStack } from "../../stacks/bootstrap-stack";
import { TrainingEnvironmentStack } from "../../stacks/environment-stack";
import { testApp } from "../support/synth";
import { realEnvironments } from "../support/envs";

const ROOT = join(__dirname, "..", "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** Rows (cells, trimmed) of the first markdown table after `## <heading>` in `doc`. */
function tableAfter(doc: string, heading: string): string[][] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const lines = doc.slice(start).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|")));
  }
  return rows;
}

const name = (cell: string) => /`([a-z0-9_]+)`/.exec(cell)?.[1] ?? cell;

describe("generated docs", () => {
  let docs: Map<GeneratedDoc, string>;
  const stacks: InterfaceStack[] = [];

  beforeAll(async () => {
    const environments = await realEnvironments();
    const app = testApp();
    const built: TerraformStack[] = [new BootstrapStack(app, { environments }), ...environments.map((config) => new TrainingEnvironmentStack(app, { config }))];
    docs = generateDocs(built).docs;
    for (const stack of built) stacks.push({ name: stack.node.id, json: JSON.parse(Testing.synth(stack, true)) as InterfaceStack["json"] });
  });

  it.each(GENERATED_DOCS)("GIVEN the current code WHEN %s is regenerated THEN the committed file is unchanged (else: npm run docs)", (path) => {
    const committed = read(path);
    expect(committed === docs.get(path), `${path} is stale: run \`npm run docs\` and commit it`).toBe(true);
  });

  it("GIVEN every stack WHEN synthesized THEN the interface doc lists each variable once, with its type and description", () => {
    const documented = tableAfter(read("docs/terraform-interface.md"), "Variables").map(([n = "", type = "", , description = ""]) => [name(n), `${type} ${description}`]);
    const actual = new Map<string, string>();
    for (const stack of stacks) {
      for (const [n, v] of Object.entries(stack.json.variable ?? {})) actual.set(n, `\`${String(v.type)}\` ${String(v.description)}`);
    }
    expect(documented.map(([n]) => n).sort()).toEqual([...actual.keys()].sort());
    for (const [n, text] of documented) expect(text, n).toBe(actual.get(n ?? ""));
  });

  it("GIVEN every stack WHEN synthesized THEN the interface doc lists each output once, with its description", () => {
    const documented = tableAfter(read("docs/terraform-interface.md"), "Outputs").map(([n = "", , description = ""]) => [name(n), description]);
    const actual = new Map<string, string>();
    for (const stack of stacks) for (const [n, o] of Object.entries(stack.json.output ?? {})) actual.set(n, String(o.description));
    expect(documented.map(([n]) => n).sort()).toEqual([...actual.keys()].sort());
    for (const [n, description] of documented) expect(description, n).toBe(actual.get(n ?? ""));
  });

  it("GIVEN every env stack WHEN synthesized THEN the interface doc names its S3 state key", () => {
    const rows = tableAfter(read("docs/terraform-interface.md"), "Stacks and state");
    for (const stack of stacks) {
      const key = stack.json.terraform?.backend?.s3?.key;
      const row = rows.find(([s]) => s === `\`${stack.name}\``);
      expect(row, stack.name).toBeDefined();
      if (key !== undefined) expect(row?.[2]).toBe(`\`${String(key)}\``);
    }
  });
});
