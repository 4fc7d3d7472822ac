/** What is wrong with an env file that does not load: a syntax error, a misspelt import or identifier, a throw. */
import { realpathSync } from "node:fs";
import { resolve as resolvePath, sep } from "node:path";
import type { ConfigIssue } from "../errors";
import type { EnvsFile } from "./load";

/** scripts/ts-hook.cjs, when it runs this process (`npm run synth`, `cdktf synth`, `gti`): it knows what it compiled. */
interface TsHook {
  knownToCompile(filename: string, source: string): boolean;
}
const tsHook = (globalThis as Record<symbol, TsHook | undefined>)[Symbol.for("gpu-training-infra.ts-hook")];

/** Whether the hook compiled exactly `text` as the file at `path` before (then it has no syntax error). */
function compiledBefore(path: string, text: string): boolean {
  try {
    return tsHook?.knownToCompile(realpathSync(path), text) ?? false;
  } catch {
    return false;
  }
}

/**
 * A syntax error of a file (what esbuild, which tsx and scripts/ts-hook.cjs run, refuses), with the line and a caret;
 * undefined when it compiles. esbuild is started only for a file the hook has not compiled as it is now.
 */
export function syntaxIssue(shown: string, text: string, path?: string): ConfigIssue | undefined {
  if (path !== undefined && compiledBefore(path, text)) return undefined;
  try {
    (require("esbuild") as typeof import("esbuild")).transformSync(text, { loader: "ts", sourcefile: shown, logLevel: "silent" });
    return undefined;
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number; lineText: string } | null }[] })
      .errors?.[0];
    if (!first) throw error;
    const location = first.location ?? undefined;
    return {
      severity: "error",
      file: shown,
      line: location?.line,
      column: location === undefined ? undefined : location.column + 1,
      environments: [],
      rule: `syntax error: ${first.text}`,
      fix: syntaxFix(first.text),
      excerpt: location ? caretExcerpt(location.line, location.lineText, location.column) : undefined,
      cause: error,
    };
  }
}

export function syntaxFix(text: string): string {
  if (/Unexpected ","|but found ","/.test(text)) return "remove the extra comma (two commas in a row, or a comma where a value belongs)";
  if (/Expected "[)}\]]" but found/.test(text) || /Unexpected end of file/.test(text)) {
    return "close every bracket you open: check the {, [ and ( before this spot";
  }
  if (/Unterminated string/.test(text)) return "close the string with the quote it starts with";
  return "correct the TypeScript at that spot (an env file is one object literal: `key: value,` per field)";
}

export function caretExcerpt(line: number, lineText: string, column: number): string[] {
  const gutter = `${line} | `;
  return [`${gutter}${lineText}`, `${" ".repeat(gutter.length + column)}^`];
}

/** A file that failed to load (threw, referenced an undefined name, imported a missing file): one located problem. */
export function importIssue(
  error: unknown,
  f: EnvsFile,
  env: string,
  dir: string,
  files: ReadonlyMap<string, EnvsFile>,
): ConfigIssue {
  const base = { severity: "error" as const, environments: [env], cause: error };
  const message = error instanceof Error ? error.message : String(error);
  const frame = firstFrameIn(error, dir, files);
  const where = frame ?? { file: f, line: undefined as number | undefined, column: undefined as number | undefined };

  const missing = /Cannot find module '([^']+)'/.exec(message);
  if (missing) {
    const specifier = missing[1] as string;
    const offset = f.source.strings.get(specifier)?.[0];
    return {
      ...base,
      file: f.shown,
      ...(offset !== undefined ? f.source.position(offset) : {}),
      rule: `imports "${specifier}", which does not exist`,
      fix: 'check the path: shared settings live next to the env files, in files starting with "_" (e.g. import { shared } from "./_shared")',
    };
  }

  const undefinedName = error instanceof ReferenceError ? /^(\S+) is not defined/.exec(message)?.[1] : undefined;
  if (undefinedName) {
    const target = where.file;
    const offset = target.source.identifiers.get(undefinedName)?.[0];
    const position = offset !== undefined ? target.source.position(offset) : { line: where.line, column: where.column };
    const known = [...target.source.imports.keys(), ...target.source.consts.keys(), "defineEnvironment"];
    const guess = closest(undefinedName, known);
    const origin = guess !== undefined ? target.source.imports.get(guess) : undefined;
    const lineText = position.line !== undefined ? target.text.split("\n")[position.line - 1] : undefined;
    return {
      ...base,
      file: target.shown,
      ...position,
      rule: `${undefinedName} is not defined (a typo, or a missing import)`,
      fix: guess
        ? `did you mean ${guess}${origin ? ` (imported from "${origin.specifier}")` : ""}? Replace ${undefinedName} with ${guess}`
        : `import ${undefinedName}, or correct its spelling`,
      excerpt: lineText !== undefined && position.column !== undefined ? caretExcerpt(position.line as number, lineText, position.column - 1) : undefined,
    };
  }

  const name = error instanceof Error ? error.name : typeof error;
  const lineText = where.line !== undefined ? where.file.text.split("\n")[where.line - 1] : undefined;
  return {
    ...base,
    file: where.file.shown,
    line: where.line,
    column: where.column,
    rule: `loading it threw ${name}: ${message}`,
    fix: "fix the code at that line: an env file only builds one object and exports it (no calls that can fail)",
    excerpt: lineText !== undefined && where.column !== undefined ? caretExcerpt(where.line as number, lineText, where.column - 1) : undefined,
  };
}

/** The first stack frame of an error inside the environments folder. */
export function firstFrameIn(
  error: unknown,
  dir: string,
  files: ReadonlyMap<string, EnvsFile>,
): { file: EnvsFile; line: number; column: number } | undefined {
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  const root = resolvePath(dir);
  for (const match of stack.matchAll(/(?:file:\/\/)?((?:\/|[A-Za-z]:\\)[^\s():]+\.ts):(\d+):(\d+)/g)) {
    const path = resolvePath(match[1] as string);
    if (!path.startsWith(root + sep)) continue;
    const file = files.get(path);
    if (file) return { file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

/** The candidate closest to `word` (edit distance at most 2), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(word, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}
