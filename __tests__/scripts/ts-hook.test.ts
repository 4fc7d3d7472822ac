/** scripts/ts-hook.cjs, the TypeScript runner of `npm run synth` and `cdktf synth`: compiled once, never stale. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const HOOK = join(__dirname, "..", "..", "scripts", "ts-hook.cjs");
const temp = mkdtempSync(join(tmpdir(), "gti-ts-hook-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function run(file: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ["-r", HOOK, file], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 30_000 });
}

describe("ts-hook", () => {
  it("GIVEN a TypeScript file run once WHEN it changes and runs again THEN the new code runs (the cache is keyed by contents)", () => {
    const file = join(temp, "changing.ts");
    const helper = join(temp, "helper.ts");
    writeFileSync(helper, "export const word: string = 'first';\n");
    writeFileSync(file, "import { word } from './helper';\nconsole.log(word satisfies string);\n");
    expect(run(file).stdout).toBe("first\n");
    writeFileSync(helper, "export const word: string = 'second';\n");
    expect(run(file).stdout).toBe("second\n");
  });

  it("GIVEN an import() of a file: URL to a .ts file WHEN run THEN it loads it with its default export, as the env loader does", () => {
    const target = join(temp, "env.ts");
    writeFileSync(target, "export default { name: 'dev' as const };\n");
    const file = join(temp, "importer.ts");
    writeFileSync(
      file,
      `import { pathToFileURL } from "node:url";\nimport(pathToFileURL(${JSON.stringify(target)}).href).then((m) => console.log(JSON.stringify(m.default)));\n`,
    );
    const result = run(file);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe('{"name":"dev"}\n');
  });

  it("GIVEN an env file that throws WHEN loaded THEN its stack names the TypeScript line, not the compiled one", () => {
    const envs = join(temp, "envs");
    const envFile = join(envs, "dev.ts");
    rmSync(envs, { recursive: true, force: true });
    mkdirSync(envs);
    writeFileSync(envFile, "type T = {\n  a: number;\n};\nconst t: T = { a: 1 };\nif (t.a === 1) throw new Error('boom');\nexport default t;\n");
    const file = join(temp, "load-env.ts");
    writeFileSync(file, `try { require(${JSON.stringify(envFile)}); } catch (e) { console.log((e as Error).stack?.split("\\n")[1]); }\n`);
    expect(run(file, { GTI_ENVS_DIR: envs }).stdout).toContain(`${envFile}:5:`);
  });
});
