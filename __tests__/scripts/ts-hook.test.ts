/** scripts/ts-hook.cjs, the TypeScript runner of `npm run synth` and `cdktf synth`: compiled once, never stale. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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

  describe("the env files' syntax check (src/config/file-issues.ts asks the hook first)", () => {
    const LOAD = join(__dirname, "..", "..", "src", "config", "load.ts");
    /** loadProject(dir) in a process run by the hook: its issues' rules, and whether esbuild (the compiler) was loaded. */
    function loadProjectWithHook(dir: string): { rules: string[]; esbuildLoaded: boolean } {
      const script = join(temp, "load-project.ts");
      writeFileSync(
        script,
        [
          `import { loadProject } from ${JSON.stringify(LOAD)};`,
          `loadProject(${JSON.stringify(dir)}).then((p) => console.log(JSON.stringify({`,
          `  rules: p.issues.map((i) => i.rule),`,
          `  esbuildLoaded: Object.keys(require.cache).some((m) => m.includes("/node_modules/esbuild/lib/")), // its package.json is the cache salt`,
          `})));`,
        ].join("\n"),
      );
      const result = run(script);
      expect(result.stderr).toBe("");
      return JSON.parse(result.stdout) as { rules: string[]; esbuildLoaded: boolean };
    }
    function envsWith(name: string, text: string): string {
      const dir = join(temp, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      writeFileSync(join(dir, "dev.ts"), text);
      return dir;
    }

    it("GIVEN env files the hook compiled on an earlier load WHEN loaded again THEN esbuild is not started to check their syntax", () => {
      const dir = envsWith("envs-compiled", `export default { name: "dev", region: "us-east-1" };\n`);
      loadProjectWithHook(dir); // the first load compiles (and caches) dev.ts
      expect(loadProjectWithHook(dir).esbuildLoaded).toBe(false);
    });

    it("GIVEN an env file with a syntax error WHEN loaded twice THEN both loads report it (only a compiled file is known to compile)", () => {
      const dir = envsWith("envs-broken", `export default { name: "dev",, region: "us-east-1" };\n`);
      for (let i = 0; i < 2; i++) {
        const loaded = loadProjectWithHook(dir);
        expect(loaded.rules.some((rule) => rule.startsWith("syntax error:")), JSON.stringify(loaded.rules)).toBe(true);
        expect(loaded.esbuildLoaded).toBe(true);
      }
    });
  });

  describe("cdktf's archiver, loaded on first use", () => {
    /** A cdktf app with one asset of `type`, synthesized into `out` by a process the hook runs; prints whether archiver loaded. */
    function synthAsset(type: "FILE" | "ARCHIVE", out: string) {
      const asset = join(temp, `asset-${type}`);
      mkdirSync(asset, { recursive: true });
      writeFileSync(join(asset, "handler.js"), "exports.handler = async () => 1;\n");
      const app = join(temp, `asset-app-${type}.ts`);
      writeFileSync(
        app,
        [
          `import { App, AssetType, TerraformAsset, TerraformOutput, TerraformStack } from ${JSON.stringify(join(__dirname, "..", "..", "node_modules", "cdktf"))};`,
          `const app = new App({ outdir: ${JSON.stringify(out)}, stackTraces: false });`,
          `const stack = new TerraformStack(app, "assets");`,
          `const path = ${JSON.stringify(type === "FILE" ? join(asset, "handler.js") : asset)};`,
          `const code = new TerraformAsset(stack, "code", { path, type: AssetType.${type} });`,
          `new TerraformOutput(stack, "code_path", { value: code.path });`,
          `app.synth();`,
          `console.log(Object.keys(require.cache).some((m) => m.includes("/node_modules/archiver/")));`,
        ].join("\n"),
      );
      const result = spawnSync(process.execPath, ["-r", HOOK, app], { cwd: join(__dirname, "..", ".."), encoding: "utf8", timeout: 60_000 });
      expect(result.status, result.stderr).toBe(0);
      return { archiverLoaded: result.stdout.trim() === "true", files: readdirSync(out, { recursive: true }).map(String) };
    }

    it("GIVEN a synth with FILE assets only (this project's) WHEN run by the hook THEN archiver is never loaded", () => {
      const synth = synthAsset("FILE", join(temp, "out-file"));
      expect(synth.files.some((f) => f.endsWith("handler.js"))).toBe(true);
      expect(synth.archiverLoaded).toBe(false);
    });

    it("GIVEN an ARCHIVE asset WHEN synthesized by a process the hook runs THEN cdktf still zips the directory", () => {
      // cdktf zips in a child process of its own (`node .../private/fs.js SRC DEST`), which loads archiver itself.
      const synth = synthAsset("ARCHIVE", join(temp, "out-archive"));
      expect(synth.files.filter((f) => f.endsWith(".zip"))).toHaveLength(1);
    });
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
