/**
 * Where a configuration value is written: the env file, or the shared file (`envs/_*.ts`) whose object it spreads.
 *
 * The loader validates the objects the env files export, which no longer know where each field came from. To name
 * the file (and line) that holds a bad value, this module reads the env files' source: a small tokenizer and an
 * object-literal indexer that records, for each field path, where its key is written and which objects are spread
 * (`...shared`), resolving spreads through `import { shared } from "./_shared"`. It understands the object literals
 * env files are made of; anything else (computed keys, values built by functions) is attributed to the env file.
 */
import { type Entry, OPEN, type ObjectIndex, type Token, parseObject, skipGroup, tokenize, valueObjectStart } from "./source-syntax";

/** A place in a file (1-based line and column), as editors and terminals link it (`file:line:col`). */
export interface SourceLocation {
  /** File shown to the user, e.g. `envs/_shared.ts`. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
}

/** `file:line:col` (or `file:line`, or `file`). */
export function formatLocation(location: SourceLocation): string {
  if (location.line === undefined) return location.file;
  return location.column === undefined ? `${location.file}:${location.line}` : `${location.file}:${location.line}:${location.column}`;
}

/** What one source file offers to the locator: its default-exported object, exported and local consts, imports. */
export interface SourceIndex {
  /** File shown to the user. */
  readonly file: string;
  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; column: number };
  /** The `export default` object literal, when it is one. */
  readonly defaultExport?: ObjectIndex;
  /** Offset of `export default`, when present. */
  readonly defaultExportOffset?: number;
  /** Object literals bound to top-level consts (exported or not), by name. */
  readonly consts: ReadonlyMap<string, ObjectIndex>;
  /** Imported names: local name -> module specifier and exported name (`default` for a default import). */
  readonly imports: ReadonlyMap<string, { readonly specifier: string; readonly name: string }>;
  /** Offsets of the identifier tokens of the file, by name (to place a ReferenceError). */
  readonly identifiers: ReadonlyMap<string, readonly number[]>;
  /** Offsets of string literals, by value (to place a missing import). */
  readonly strings: ReadonlyMap<string, readonly number[]>;
}

/** Indexes a TypeScript env or shared file. */
export function indexSource(file: string, source: string): SourceIndex {
  const tokens = tokenize(source);
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
  const position = (offset: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (lineStarts[low] as number) + 1 };
  };

  const consts = new Map<string, ObjectIndex>();
  const imports = new Map<string, { specifier: string; name: string }>();
  const identifiers = new Map<string, number[]>();
  const strings = new Map<string, number[]>();
  let defaultExport: ObjectIndex | undefined;
  let defaultExportOffset: number | undefined;
  let defaultExportName: string | undefined;
  let depth = 0;

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.kind === "ident") identifiers.set(token.text, [...(identifiers.get(token.text) ?? []), token.offset]);
    if (token.kind === "string") strings.set(token.value, [...(strings.get(token.value) ?? []), token.offset]);
    if (token.text === "{" || token.text === "(" || token.text === "[") depth++;
    if (token.text === "}" || token.text === ")" || token.text === "]") depth--;
    if (depth !== 0 || token.kind !== "ident") continue;

    if (token.text === "import") {
      // import { a, b as c } from "./_shared";  import d from "./_shared";
      const names: { local: string; name: string }[] = [];
      let j = i + 1;
      if (tokens[j]?.text === "type") j++;
      if (tokens[j]?.kind === "ident" && tokens[j]?.text !== "from") {
        names.push({ local: (tokens[j] as Token).text, name: "default" });
        j++;
        if (tokens[j]?.text === ",") j++;
      }
      if (tokens[j]?.text === "{") {
        j++;
        while (j < tokens.length && tokens[j]?.text !== "}") {
          const name = tokens[j] as Token;
          if (name.kind === "ident" && name.text !== "type") {
            if (tokens[j + 1]?.text === "as" && tokens[j + 2]?.kind === "ident") {
              names.push({ local: (tokens[j + 2] as Token).text, name: name.text });
              j += 3;
              continue;
            }
            names.push({ local: name.text, name: name.text });
          }
          j++;
        }
        j++;
      }
      if (tokens[j]?.text === "from" && tokens[j + 1]?.kind === "string") {
        const specifier = (tokens[j + 1] as Token).value;
        for (const { local, name } of names) imports.set(local, { specifier, name });
      }
    } else if (token.text === "const" || token.text === "let" || token.text === "var") {
      const name = tokens[i + 1];
      if (name?.kind !== "ident") continue;
      // Skip a type annotation up to the `=`.
      let j = i + 2;
      while (j < tokens.length && tokens[j]?.text !== "=" && tokens[j]?.text !== ";") {
        j = OPEN[(tokens[j] as Token).text] !== undefined ? skipGroup(tokens, j) : j + 1;
      }
      if (tokens[j]?.text !== "=") continue;
      const start = valueObjectStart(tokens, j + 1);
      if (start !== undefined) consts.set(name.text, parseObject(tokens, start).index);
    } else if (token.text === "export" && tokens[i + 1]?.text === "default") {
      defaultExportOffset = token.offset;
      const start = valueObjectStart(tokens, i + 2);
      if (start !== undefined) {
        defaultExport = parseObject(tokens, start).index;
      } else if (tokens[i + 2]?.kind === "ident" && (tokens[i + 3] === undefined || tokens[i + 3]?.text === ";")) {
        defaultExportName = (tokens[i + 2] as Token).text;
      }
    }
  }
  if (defaultExport === undefined && defaultExportName !== undefined) defaultExport = consts.get(defaultExportName);
  return { file, position, defaultExport, defaultExportOffset, consts, imports, identifiers, strings };
}

/** Resolves an import specifier of an env file to another indexed file (`./_shared` -> `envs/_shared.ts`). */
export type ResolveImport = (from: SourceIndex, specifier: string) => SourceIndex | undefined;

/** Where the value of `field` (dotted, with `[n]` indexes) is written, starting from an env file's default export. */
export function locateField(env: SourceIndex, field: string, resolve: ResolveImport): SourceLocation {
  const segments = fieldSegments(field);
  const found = env.defaultExport ? locateIn(env, env.defaultExport, segments, resolve, 0) : undefined;
  if (found) return found;
  return env.defaultExportOffset !== undefined ? { file: env.file, ...env.position(env.defaultExportOffset) } : { file: env.file };
}

/** `a.b[2].c` -> `["a", "b"]`: the object keys down to the first array index (array items are not indexed). */
function fieldSegments(field: string): string[] {
  const segments: string[] = [];
  for (const part of field.split(".")) {
    const bracket = part.indexOf("[");
    if (bracket === 0) break;
    segments.push(bracket > 0 ? part.slice(0, bracket) : part);
    if (bracket > 0) break;
  }
  return segments.filter((s) => s !== "");
}

function locateIn(
  file: SourceIndex,
  object: ObjectIndex,
  segments: readonly string[],
  resolve: ResolveImport,
  depth: number,
): SourceLocation | undefined {
  const [first, ...rest] = segments;
  if (first === undefined || depth > 8) return undefined;
  for (let k = object.entries.length - 1; k >= 0; k--) {
    const entry = object.entries[k] as Entry;
    if (entry.kind === "key" && entry.key === first) {
      if (rest.length > 0 && entry.nested) {
        const deeper = locateIn(file, entry.nested, rest, resolve, depth + 1);
        if (deeper) return deeper;
      }
      return { file: file.file, ...file.position(entry.offset) };
    }
    if (entry.kind === "spread") {
      const target = spreadTarget(file, entry.expression, resolve);
      if (target && hasKey(target.file, target.object, first, resolve, depth + 1)) {
        return locateIn(target.file, target.object, segments, resolve, depth + 1);
      }
    }
  }
  return undefined;
}

function hasKey(file: SourceIndex, object: ObjectIndex, key: string, resolve: ResolveImport, depth: number): boolean {
  if (depth > 8) return false;
  return object.entries.some((entry) => {
    if (entry.kind === "key") return entry.key === key;
    const target = spreadTarget(file, entry.expression, resolve);
    return target !== undefined && hasKey(target.file, target.object, key, resolve, depth + 1);
  });
}

/** The object a spread expression (`shared`, `shared.compute`, a local const) points to. */
function spreadTarget(
  file: SourceIndex,
  expression: string,
  resolve: ResolveImport,
): { file: SourceIndex; object: ObjectIndex } | undefined {
  const [head = "", ...path] = expression.split(".");
  let target: { file: SourceIndex; object: ObjectIndex } | undefined;
  const local = file.consts.get(head);
  if (local) {
    target = { file, object: local };
  } else {
    const imported = file.imports.get(head);
    const other = imported ? resolve(file, imported.specifier) : undefined;
    const object = other && imported ? (imported.name === "default" ? other.defaultExport : other.consts.get(imported.name)) : undefined;
    if (other && object) target = { file: other, object };
  }
  for (const key of path) {
    if (!target) return undefined;
    const entry = target.object.entries.find((e): e is Extract<Entry, { kind: "key" }> => e.kind === "key" && e.key === key);
    target = entry?.nested ? { file: target.file, object: entry.nested } : undefined;
  }
  return target;
}
