/**
 * The README is the front door: short enough to read in one sitting (under 15,000 bytes; reference lives in docs/
 * and the folder READMEs), and it keeps the commands others depend on: CI (.ci/run) runs the README's install and
 * test commands, `npm ci` and `npm test`, and `npm run bench` writes its figures between the README's markers.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const MAX_BYTES = 15_000;

/** The commands of the README's `sh` code blocks, comments and blank lines dropped. */
function shellCommands(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) =>
    (m[1] ?? "")
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line !== "" && !line.startsWith("#")),
  );
}

describe("README", () => {
  it(`GIVEN the README WHEN measured THEN it is under ${MAX_BYTES} bytes`, () => {
    expect(Buffer.byteLength(README, "utf8")).toBeLessThan(MAX_BYTES);
  });

  it("GIVEN the README's quick start WHEN read THEN its install and test commands are `npm ci` and `npm test`, the ones .ci/run runs", () => {
    const commands = shellCommands(README);
    expect(commands).toContain("npm test");
    expect(commands.some((c) => c.split("&&").map((s) => s.trim()).includes("npm ci"))).toBe(true);
    const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test \|\| status=\$\?$/m);
  });

  it("GIVEN the README WHEN read THEN it holds exactly one bench:figures block for `npm run bench` to rewrite", () => {
    expect(README.split("<!-- bench:figures -->").length - 1).toBe(1);
    expect(README.split("<!-- /bench:figures -->").length - 1).toBe(1);
    expect(README.indexOf("<!-- bench:figures -->")).toBeLessThan(README.indexOf("<!-- /bench:figures -->"));
  });

  it("GIVEN the README's Terraform interface section WHEN read THEN it names exactly the variables of docs/terraform-interface.md", () => {
    const section = /^## Terraform interface\n([\s\S]*?)^## /m.exec(README)?.[1] ?? "";
    const named = [...section.matchAll(/`([a-z][a-z0-9_]*)`/g)].map((m) => m[1]);
    const doc = readFileSync(join(ROOT, "docs", "terraform-interface.md"), "utf8");
    const table = /^## Variables\n\n([\s\S]*?)\n\n/m.exec(doc)?.[1] ?? "";
    const documented = [...table.matchAll(/^\| \[`([a-z0-9_]+)`\]/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect([...new Set(named)].sort()).toEqual(documented.sort());
  });

  it("GIVEN the README WHEN read THEN it links to every doc in docs/", () => {
    for (const file of readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"))) expect(README, file).toContain(`](docs/${file})`);
  });
});
