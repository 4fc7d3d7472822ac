/**
 * The README's Terraform interface tables are the documented contract: they must list exactly the variables and
 * outputs the synthesized stacks have, with the same descriptions (and types and defaults for variables).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { SynthesizedStack } from "./support/synth";
import { realEnvironments } from "./support/envs";
import { synthBootstrap, synthEnvironment } from "./support/stacks";

const README = readFileSync(join(__dirname, "..", "README.md"), "utf8");

/** Rows of the markdown table between `<!-- interface:<name> -->` markers, as arrays of cell texts. */
function tableRows(name: string): string[][] {
  const match = new RegExp(`<!-- interface:${name} -->([\\s\\S]*?)<!-- /interface:${name} -->`).exec(README);
  if (!match?.[1]) throw new Error(`README has no <!-- interface:${name} --> table`);
  return match[1]
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .slice(2)
    .map((line) => line.slice(1, -1).split(" | ").map((cell) => cell.trim()));
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, "");

describe("README Terraform interface", () => {
  const stacks = new Map<string, SynthesizedStack>();

  beforeAll(async () => {
    const envs = await realEnvironments();
    stacks.set("bootstrap", synthBootstrap(envs).json);
    for (const env of envs) stacks.set(env.name, synthEnvironment(env).json);
  });

  it("GIVEN every stack WHEN synthesized THEN the README lists each output once, with its description", () => {
    const documented = new Map(tableRows("outputs").map(([name = "", , description = ""]) => [unquote(name), description]));
    const actual = new Map<string, string>();
    for (const json of stacks.values()) {
      for (const [name, output] of Object.entries(json.output ?? {})) actual.set(name, String(output.description));
    }
    expect([...documented.keys()].sort()).toEqual([...actual.keys()].sort());
    for (const [name, description] of actual) expect(documented.get(name), name).toBe(description);
  });

  it("GIVEN every stack WHEN synthesized THEN the README lists each variable once, with its type and description", () => {
    const documented = new Map(
      tableRows("variables").map(([name = "", type = "", , description = ""]) => [unquote(name), { type: unquote(type), description }]),
    );
    const actual = new Map<string, { type: string; description: string }>();
    for (const json of stacks.values()) {
      for (const [name, variable] of Object.entries(json.variable ?? {})) {
        actual.set(name, { type: String(variable.type), description: String(variable.description) });
      }
    }
    expect([...documented.keys()].sort()).toEqual([...actual.keys()].sort());
    for (const [name, expected] of actual) expect(documented.get(name), name).toEqual(expected);
  });
});
