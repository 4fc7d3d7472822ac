/** Temporary runtime folders and readers of runtime/ for the user data tests (__tests__/modules/training-compute/user-data*.test.ts, runtime-env.test.ts). */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { RUNTIME_DIR } from "../../../modules/training-compute";

export const temps: string[] = [];

export function tempRuntime(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), "gti-runtime-"));
  temps.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Every file under a folder, relative, sorted. */
export function walkFiles(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  return walk(root)
    .map((path) => relative(root, path).split("\\").join("/"))
    .sort();
}

/** Every file under runtime/ except *.md, found independently of the module. */
export function runtimeFilesOnDisk(): string[] {
  return walkFiles(RUNTIME_DIR).filter((path) => !path.endsWith(".md") && !path.includes("__pycache__/"));
}

export const hasPython = spawnSync("python3", ["-c", "import yaml"]).status === 0;

/** Parses YAML with PyYAML, cloud-init's own parser. */
export function pyYaml(text: string): unknown {
  return JSON.parse(execFileSync("python3", ["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], { input: text }).toString());
}
