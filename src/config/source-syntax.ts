/**
 * The little TypeScript syntax the env files use, enough to find where a field is written: tokens, and object
 * literals as key -> position indexes (nested objects, spreads, arrays).
 */
export interface Token {
  readonly kind: "ident" | "string" | "number" | "punct" | "template";
  readonly text: string;
  /** For strings: the value between the quotes. */
  readonly value: string;
  readonly offset: number;
}

export const PUNCT3 = ["...", "===", "!=="];
export const PUNCT2 = ["=>", "==", "!=", "&&", "||", "??", "?.", "<=", ">="];

/** Splits TypeScript source into tokens, skipping whitespace and comments (regular expressions are not understood). */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith("//", i)) {
      const end = source.indexOf("\n", i);
      i = end < 0 ? n : end;
    } else if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let value = "";
      while (j < n && source[j] !== c && source[j] !== "\n") {
        if (source[j] === "\\" && j + 1 < n) {
          value += source[j + 1];
          j += 2;
        } else {
          value += source[j];
          j++;
        }
      }
      tokens.push({ kind: "string", text: source.slice(i, j + 1), value, offset: i });
      i = j + 1;
    } else if (c === "`") {
      let j = i + 1;
      let depth = 0;
      while (j < n) {
        if (source[j] === "\\") j += 2;
        else if (depth === 0 && source[j] === "`") break;
        else if (source.startsWith("${", j)) {
          depth++;
          j += 2;
        } else if (depth > 0 && source[j] === "}") {
          depth--;
          j++;
        } else j++;
      }
      tokens.push({ kind: "template", text: source.slice(i, j + 1), value: source.slice(i + 1, j), offset: i });
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      const match = /^[A-Za-z_$][\w$]*/.exec(source.slice(i, i + 256)) as RegExpExecArray;
      tokens.push({ kind: "ident", text: match[0], value: match[0], offset: i });
      i += match[0].length;
    } else if (/[0-9]/.test(c)) {
      const match = /^[0-9][0-9_.eExXa-fA-F]*/.exec(source.slice(i, i + 64)) as RegExpExecArray;
      tokens.push({ kind: "number", text: match[0], value: match[0], offset: i });
      i += match[0].length;
    } else {
      const three = source.slice(i, i + 3);
      const two = source.slice(i, i + 2);
      const text = PUNCT3.includes(three) ? three : PUNCT2.includes(two) ? two : c;
      tokens.push({ kind: "punct", text, value: text, offset: i });
      i += text.length;
    }
  }
  return tokens;
}

/** One entry of an object literal, in source order: a key, or a spread (`...shared`). */
export type Entry =
  | { readonly kind: "key"; readonly key: string; readonly offset: number; readonly nested?: ObjectIndex }
  | { readonly kind: "spread"; readonly expression: string; readonly offset: number };

/** The keys (and spreads) of one object literal. */
export interface ObjectIndex {
  readonly offset: number;
  readonly entries: readonly Entry[];
}

export const OPEN: Readonly<Record<string, string>> = { "{": "}", "[": "]", "(": ")" };

/** Index of the token after the balanced group that starts at `start` (an opening bracket). */
export function skipGroup(tokens: readonly Token[], start: number): number {
  let depth = 0;
  for (let i = start; i < tokens.length; i++) {
    const text = (tokens[i] as Token).text;
    if (OPEN[text] !== undefined) depth++;
    else if (text === "}" || text === "]" || text === ")") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return tokens.length;
}

/** Index of the `,` or closing bracket ending the expression that starts at `start`. */
export function skipExpression(tokens: readonly Token[], start: number): number {
  let i = start;
  while (i < tokens.length) {
    const text = (tokens[i] as Token).text;
    if (text === "," || text === "}" || text === "]" || text === ")") return i;
    i = OPEN[text] !== undefined ? skipGroup(tokens, i) : i + 1;
  }
  return i;
}

/** Parses the object literal whose `{` is at `start`. */
export function parseObject(tokens: readonly Token[], start: number): { index: ObjectIndex; next: number } {
  const entries: Entry[] = [];
  let i = start + 1;
  while (i < tokens.length) {
    const token = tokens[i] as Token;
    if (token.text === "}") return { index: { offset: (tokens[start] as Token).offset, entries }, next: i + 1 };
    if (token.text === ",") {
      i++;
      continue;
    }
    if (token.text === "...") {
      const end = skipExpression(tokens, i + 1);
      const expression = tokens
        .slice(i + 1, end)
        .map((t) => t.text)
        .join("");
      entries.push({ kind: "spread", expression, offset: token.offset });
      i = end;
      continue;
    }
    if (token.text === "[") {
      // A computed key: not indexed.
      i = skipExpression(tokens, skipGroup(tokens, i));
      continue;
    }
    if (token.kind !== "ident" && token.kind !== "string" && token.kind !== "number") {
      i = skipExpression(tokens, i + 1);
      continue;
    }
    const key = token.value;
    const after = tokens[i + 1];
    if (after?.text === ":") {
      const value = valueObjectStart(tokens, i + 2);
      if (value !== undefined) {
        const parsed = parseObject(tokens, value);
        entries.push({ kind: "key", key, offset: token.offset, nested: parsed.index });
      } else {
        entries.push({ kind: "key", key, offset: token.offset });
      }
      i = skipExpression(tokens, i + 2);
    } else if (after?.text === "(") {
      // A method: not a configuration value.
      i = skipExpression(tokens, i + 1);
    } else {
      // Shorthand property (`{ name }`).
      entries.push({ kind: "key", key, offset: token.offset });
      i++;
    }
  }
  return { index: { offset: (tokens[start] as Token).offset, entries }, next: tokens.length };
}

/**
 * Where the object literal of a value starts: `{...}` itself, or the first argument of a call such as
 * `defineEnvironment({...})`; undefined for any other value.
 */
export function valueObjectStart(tokens: readonly Token[], start: number): number | undefined {
  let i = start;
  while (i < tokens.length) {
    const text = (tokens[i] as Token).text;
    if (text === "{") return i;
    if ((tokens[i] as Token).kind === "ident" || text === "." || text === "(") {
      i++;
      continue;
    }
    return undefined;
  }
  return undefined;
}
