/** Schema violations of an env file as problems: the field, the bad value, the rule and the fix, located in the file. */
import type { z } from "zod";
import { type ConfigProblem, describeValue } from "../errors";
import { closest } from "./file-issues";
import type { EnvironmentSource } from "./load";
import { environmentSchema } from "./schema";
import { FIX_SEPARATOR } from "./sections/common";
import type { SourceLocation } from "./source";

/** The default export of a module imported from TypeScript, through any CommonJS interop wrapping. */
export function defaultExport(module: unknown): unknown {
  let current = module;
  let unwrapped = false;
  while (isObject(current) && "default" in current && (current.__esModule === true || isModuleNamespace(current))) {
    current = current.default;
    unwrapped = true;
  }
  return unwrapped ? current : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return isObject(value) && !Array.isArray(value);
}

export function isModuleNamespace(value: object): boolean {
  return Object.prototype.toString.call(value) === "[object Module]";
}

/** `null`, `an array`, `the number 3`, ... */
export function describeKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function (call it, or export its result)";
  return `the ${typeof value} ${describeValue(value)}`;
}

export function toProblems(
  issue: z.core.$ZodIssue,
  input: unknown,
  source: EnvironmentSource,
  locate: (field: string) => SourceLocation,
): ConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      const guess = closest(key, knownKeysAt(issue.path));
      return {
        field: formatPath(path),
        value: valueAt(input, path),
        rule: "unknown field",
        fix: guess
          ? `did you mean ${formatPath([...issue.path, guess])}? Rename it, or remove it`
          : `remove it, or check the spelling against the schema in src/config/ (docs/configuration.md lists every field)`,
      };
    });
  }
  const field = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  if (value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
    return [{ field, value, rule: "is required", fix: `add ${field} to ${locate(field).file}` }];
  }
  const separator = issue.message.indexOf(FIX_SEPARATOR);
  if (separator >= 0) {
    return [
      {
        field,
        value,
        rule: issue.message.slice(0, separator),
        fix: issue.message.slice(separator + FIX_SEPARATOR.length),
      },
    ];
  }
  return [{ field, value, ...genericRuleAndFix(issue, field, source) }];
}

/** The field names the schema knows at a path (to suggest the closest one for a misspelt field). */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: unknown = environmentSchema;
  for (const part of [...path, undefined]) {
    // Unwrap defaults, optionals and pipes down to an object (or an array's element).
    for (let guard = 0; guard < 10; guard++) {
      const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return [];
      if (def.type === "object") break;
      const inner = def.innerType ?? def.in ?? (typeof part === "number" ? def.element : undefined);
      if (!inner) return [];
      schema = inner;
    }
    const shape = (schema as { _zod: { def: { shape?: Record<string, unknown> } } })._zod.def.shape ?? {};
    if (part === undefined) return Object.keys(shape);
    if (typeof part === "number") continue;
    schema = shape[String(part)];
    if (!schema) return [];
  }
  return [];
}

/** Rule and fix for the schema's built-in checks (types, enums, ranges), which carry no fix of their own. */
export function genericRuleAndFix(
  issue: z.core.$ZodIssue,
  field: string,
  source: EnvironmentSource,
): { rule: string; fix: string } {
  switch (issue.code) {
    case "invalid_type":
      return { rule: `must be ${article(issue.expected)} ${issue.expected}`, fix: `set ${field} to ${article(issue.expected)} ${issue.expected}` };
    case "invalid_value":
      return {
        rule: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
        fix: `pick one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "too_small":
      return { rule: issue.message, fix: `use a value of at least ${String(issue.minimum)}` };
    case "too_big":
      return { rule: issue.message, fix: `use a value of at most ${String(issue.maximum)}` };
    default:
      return { rule: issue.message, fix: `correct ${field} in ${source.file}` };
  }
}

export function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (!isObject(current)) return undefined;
    current = current[part as string];
  }
  return current;
}
