/**
 * Where a value is written (src/config/source.ts) and how the loader attributes problems (src/config/load.ts),
 * in-process: the process-level table is __tests__/config/bad-config.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProject } from "../../src/config/load";
import { indexSource, locateField } from "../../src/config/source";

function locator(files: Record<string, string>) {
  const sources = new Map(Object.entries(files).map(([name, text]) => [`./${name.replace(/\.ts$/, "")}`, indexSource(`envs/${name}`, text)]));
  const env = sources.get("./dev");
  if (!env) throw new Error("no dev.ts");
  return (field: string) => locateField(env, field, (_from, specifier) => sources.get(specifier));
}

describe("locating a field's value", () => {
  const locate = locator({
    "_shared.ts": [
      "export const shared = {",
      '  project: "p",',
      "  state: {",
      '    bucket: "b",',
      "  },",
      '  compute: { instanceType: "g5.xlarge" },',
      "} as const;",
    ].join("\n"),
    "dev.ts": [
      'import { defineEnvironment } from "../src/config/schema";',
      'import { shared as base } from "./_shared";',
      "",
      "export default defineEnvironment({",
      "  ...base,",
      '  name: "dev",',
      "  compute: { ...base.compute, useSpot: false },",
      '  tags: { "aws:x": "y" }, // a comment with { braces',
      "});",
    ].join("\n"),
  });

  it("GIVEN a field spread from a shared file WHEN located THEN it is that file's line and column", () => {
    expect(locate("state.bucket")).toEqual({ file: "envs/_shared.ts", line: 4, column: 5 });
  });

  it("GIVEN a field missing from a shared object WHEN located THEN it is the object holding it (where to add it)", () => {
    expect(locate("state.region")).toEqual({ file: "envs/_shared.ts", line: 3, column: 3 });
  });

  it("GIVEN a field the env writes after a spread WHEN located THEN it is the env file", () => {
    expect(locate("name")).toEqual({ file: "envs/dev.ts", line: 6, column: 3 });
    expect(locate("compute.useSpot")).toEqual({ file: "envs/dev.ts", line: 7, column: 31 });
  });

  it("GIVEN a nested spread of a shared member (...base.compute) WHEN located THEN it resolves into the shared file", () => {
    expect(locate("compute.instanceType")).toEqual({ file: "envs/_shared.ts", line: 6, column: 14 });
  });

  it("GIVEN a quoted key and an array index WHEN located THEN the key is found", () => {
    expect(locate("tags.aws:x")).toEqual({ file: "envs/dev.ts", line: 8, column: 11 });
  });

  it("GIVEN a field written nowhere WHEN located THEN it is the env file's default export", () => {
    expect(locate("safety.alertEmails[0]")).toEqual({ file: "envs/dev.ts", line: 4, column: 1 });
  });
});

describe("loading a folder", () => {
  function withEnvs(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
    const dir = join(mkdtempSync(join(tmpdir(), "gti-source-")), "envs");
    mkdirSync(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return fn(dir).finally(() => rmSync(join(dir, ".."), { recursive: true, force: true }));
  }

  const shared = 'export const shared = { repository: "github.com/acme-ml/x", state: { bucket: "", region: "us-east-1" } };\n';
  const env = (name: string) => `import { shared } from "./_shared";\nexport default { ...shared, name: "${name}", region: "us-east-1" };\n`;

  it("GIVEN two envs spreading a bad shared value WHEN loaded THEN one problem, in the shared file, naming both envs", async () => {
    await withEnvs({ "_shared.ts": shared, "a.ts": env("a"), "b.ts": env("b") }, async (dir) => {
      const project = await loadProject(dir);
      expect(project.issues.map((i) => [i.file, i.line, i.field, i.environments])).toEqual([["envs/_shared.ts", 1, "state.bucket", ["a", "b"]]]);
      expect([...project.failed].sort()).toEqual(["a", "b"]);
      expect(project.environments).toEqual([]);
    });
  });

  it("GIVEN one broken env and one valid WHEN loaded THEN the valid one is loaded and the broken one listed", async () => {
    const ok = 'export const shared = { repository: "github.com/acme-ml/x", state: { bucket: "acme-state", region: "us-east-1" } };\n';
    await withEnvs({ "_shared.ts": ok, "a.ts": env("a"), "b.ts": env("b").replace('region: "us-east-1" }', 'region: "mars-1" }') }, async (dir) => {
      const project = await loadProject(dir);
      expect(project.environments.map((e) => e.name)).toEqual(["a"]);
      expect(project.issues.map((i) => [i.file, i.field])).toEqual([["envs/b.ts", "region"]]);
    });
  });

  it("GIVEN a typo and a schema problem in different files WHEN loaded THEN both are reported in one pass", async () => {
    await withEnvs(
      { "_shared.ts": shared, "a.ts": 'import { shared } from "./_shared";\nexport default { ...shraed, name: "a" };\n', "b.ts": env("b") },
      async (dir) => {
        const issues = (await loadProject(dir)).issues;
        expect(issues.map((i) => [i.file, i.line, i.column, i.rule.split(" (")[0]])).toEqual([
          ["envs/_shared.ts", 1, 70, 'not a valid S3 bucket name: it must be 3 to 63 characters long'],
          ["envs/a.ts", 2, 21, "shraed is not defined"],
        ]);
      },
    );
  });
});
