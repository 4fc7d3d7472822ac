/**
 * Small readers for synthesized Terraform JSON: values that are expressions (`${...}`, known only at apply time),
 * nested blocks (an object, a list of objects, or `dynamic.<name>.content`), references between elements.
 */
import type { Json } from "./types";

/** True for a string holding a Terraform expression (`${var.x}`, `${aws_s3_bucket.x.id}`): unknown until apply. */
export function isExpression(value: unknown): boolean {
  return typeof value === "string" && value.includes("${");
}

/** True for `true` or `"true"` (some provider fields, such as launch template `ebs.encrypted`, are strings). */
export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** True when the attribute is set to something (not missing, not null). */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A literal number (`3000` or `"3000"`), or undefined for expressions and anything else. */
export function literalNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

/** A nested block as found in the JSON; `dynamic` when it came from a `dynamic "<name>"` block's `content`. */
export interface Block {
  readonly body: Json;
  readonly dynamic: boolean;
}

/**
 * Every `name` block of an element: a single object, a list of objects, and the `content` of a
 * `dynamic "<name>"` block (written by `addOverride("dynamic.<name>", ...)` or cdktf's iterators).
 */
export function blocks(config: Json, name: string): Block[] {
  const found: Block[] = [];
  const value = config[name];
  if (Array.isArray(value)) {
    for (const item of value) if (isObject(item)) found.push({ body: item, dynamic: false });
  } else if (isObject(value)) {
    found.push({ body: value, dynamic: false });
  }
  const dynamicBlocks = config.dynamic;
  if (isObject(dynamicBlocks)) {
    const entry = dynamicBlocks[name];
    for (const item of Array.isArray(entry) ? entry : [entry]) {
      if (isObject(item) && isObject(item.content)) found.push({ body: item.content, dynamic: true });
    }
  }
  return found;
}

/** The first `name` block, if any. */
export function block(config: Json, name: string): Json | undefined {
  return blocks(config, name)[0]?.body;
}

/**
 * A list attribute split into its literal strings and its expressions (the whole list, or single items, computed at
 * apply time: the pack cannot know their values at synth).
 */
export function stringList(value: unknown): { readonly literals: string[]; readonly expressions: string[] } {
  if (value === undefined || value === null) return { literals: [], expressions: [] };
  const items: unknown[] = Array.isArray(value) ? value : [value];
  const literals: string[] = [];
  const expressions: string[] = [];
  for (const item of items) {
    if (typeof item !== "string") continue;
    (isExpression(item) ? expressions : literals).push(item);
  }
  return { literals, expressions };
}

const referenceCache = new Map<string, RegExp>();

/**
 * True when some string inside `value` refers to the element at `address` (`aws_s3_bucket.x` matches
 * `${aws_s3_bucket.x.id}`, `${aws_s3_bucket.x[0].arn}`, `${one(aws_s3_bucket.x[*].id)}`, not `aws_s3_bucket.x2`).
 */
export function refersTo(value: unknown, address: string): boolean {
  let pattern = referenceCache.get(address);
  if (!pattern) {
    const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    pattern = new RegExp(`(^|[^A-Za-z0-9_.-])${escaped}(\\[[^\\]]*\\])?\\.`);
    referenceCache.set(address, pattern);
  }
  return someString(value, (text) => text.includes("${") && pattern.test(text));
}

/** True when `predicate` holds for some string anywhere inside `value`. */
export function someString(value: unknown, predicate: (text: string) => boolean): boolean {
  if (typeof value === "string") return predicate(value);
  if (Array.isArray(value)) return value.some((item) => someString(item, predicate));
  if (isObject(value)) return Object.entries(value).some(([key, item]) => key !== "//" && someString(item, predicate));
  return false;
}

/** True when the element's `count` or `for_each` depends on a Terraform variable (an on/off toggle). */
export function toggledByVariable(config: Json): boolean {
  return [config.count, config.for_each].some((value) => someString(value, (text) => /\bvar\.[A-Za-z_]/.test(text)));
}

/** A short rendering of a value for messages. */
export function show(value: unknown): string {
  if (value === undefined) return "(not set)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
