/**
 * The project's import graph and its layers (docs/architecture.md): which source file imports which, read from the
 * import / export-from statements of the .ts sources, and the layer each file belongs to.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";

/** The layers, lowest first: a file may import its own layer and the layers below, never a higher one. */
export const LAYERS = ["core", "modules", "app"] as const;
export type Layer = (typeof LAYERS)[number];

/** The folders and files scanned (repository-relative). Tests, fixtures and templates are not layered. */
export const SOURCE_ROOTS = ["main.ts", "src", "modules", "stacks", "envs", "scripts"] as const;

/**
 * The layer of a repository-relative path (forward slashes), undefined for a path outside the layered sources.
 * - app: what composes modules into stacks and runs them: `main.ts`, `stacks/`, `envs/`, `scripts/`, the env
 *   config loader and schema (`src/config/`), the run around synth (`src/run.ts`) and the command line (`src/cli/`);
 * - modules: the constructs under `modules/` (and the runtime code they deploy);
 * - core: every other file of `src/` (naming, IAM, AWS context, variables, policy pack, ...).
 */
export function layerOf(path: string): Layer | undefined {
  if (path === "main.ts" || /^(stacks|envs|scripts)\//.test(path)) return "app";
  if (/^src\/(config|cli)\//.test(path) || path === "src/run.ts") return "app";
  if (path.startsWith("modules/")) return "modules";
  if (path.startsWith("src/")) return "core";
  return undefined;
}

/** One import arrow: `from` imports `to` (both repository-relative). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s(?:[^"';]*?\sfrom\s)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The relative imports of one file's text, resolved against its path (packages and node: builtins are left out). */
export function importsOf(path: string, text: string, exists: (candidate: string) => boolean): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2];
    if (specifier === undefined || !specifier.startsWith(".")) continue;
    const base = join(dirname(path), specifier).split(sep).join("/");
    const target = [`${base}.ts`, `${base}/index.ts`, base].find(exists);
    edges.push({ from: path, to: target ?? base });
  }
  return edges;
}

/** The arrows that run from a lower layer to a higher one. */
export function upwardArrows(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter((edge) => {
    const from = layerOf(edge.from);
    const to = layerOf(edge.to);
    return from !== undefined && to !== undefined && LAYERS.indexOf(to) > LAYERS.indexOf(from);
  });
}

/** Every .ts file under the source roots of a repository, repository-relative. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (path: string): void => {
    const full = join(root, path);
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full)) if (entry !== "node_modules") walk(`${path}/${entry}`);
    } else if (path.endsWith(".ts")) {
      files.push(path);
    }
  };
  for (const start of SOURCE_ROOTS) {
    try {
      walk(start);
    } catch {
      // A root that does not exist in this checkout has no files.
    }
  }
  return files.sort();
}

/** The import graph of a repository's layered sources. */
export function importGraph(root: string): ImportEdge[] {
  const exists = (candidate: string): boolean => {
    try {
      return statSync(resolve(root, candidate)).isFile();
    } catch {
      return false;
    }
  };
  return sourceFiles(root).flatMap((path) => importsOf(path, readFileSync(join(root, path), "utf8"), exists));
}

/** An edge for messages: `src/x.ts -> modules/y/index.ts (core -> modules)`. */
export function describeEdge(edge: ImportEdge): string {
  return `${edge.from} -> ${edge.to} (${layerOf(edge.from)} -> ${layerOf(edge.to)})`;
}

/** The repository root, from this file's place in it. */
export const REPOSITORY_ROOT = resolve(__dirname, "..", "..");
