/**
 * Every markdown file of the repository links only to what exists: a relative link `[x](path)` names a file or
 * folder that exists, and a link with an anchor (`path#anchor`, `#anchor`) into a markdown file names a heading that
 * file has (GitHub's heading ids). And no tracked file points outside the repository (the `shared` folder next to
 * it on the machines it was written on does not exist in a clone).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..", "..");
const SKIP_DIRS = new Set(["node_modules", ".git", "cdktf.out", "coverage", ".cache", ".terraform"]);
/** The fixture of broken links the last test checks on purpose. */
const FIXTURE = join(ROOT, "__tests__", "support", "docs", "broken-links.md");

/** Every markdown file under the project, generated folders left out. */
function markdownFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : markdownFiles(join(dir, entry.name));
    const file = join(dir, entry.name);
    return entry.name.endsWith(".md") && file !== FIXTURE ? [file] : [];
  });
}

/** The text outside fenced code blocks and inline code spans (links there are examples, not links). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/(`+)[\s\S]*?\1/g, "");
}

/** GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

const anchorsCache = new Map<string, Set<string>>();
/** The heading ids of a markdown file (duplicates numbered like GitHub: `x`, `x-1`, ...). */
function anchorsOf(file: string): Set<string> {
  const cached = anchorsCache.get(file);
  if (cached) return cached;
  const ids = new Set<string>();
  const text = readFileSync(file, "utf8").replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug((match[1] ?? "").replace(/`/g, ""));
    let id = base;
    for (let n = 1; ids.has(id); n++) id = `${base}-${n}`;
    ids.add(id);
  }
  anchorsCache.set(file, ids);
  return ids;
}

/** Problems of one file's relative links, as `file: [text](target): why`. */
function brokenLinks(file: string): string[] {
  const problems: string[] = [];
  const rel = relative(ROOT, file);
  for (const match of prose(readFileSync(file, "utf8")).matchAll(/!?\[([^\]]*)\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
    const target = match[2] ?? "";
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    const [path = "", anchor] = target.split("#", 2);
    const resolved = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
    if (!resolved.startsWith(ROOT)) {
      problems.push(`${rel}: [${match[1]}](${target}) points outside the repository`);
      continue;
    }
    if (!existsSync(resolved)) {
      problems.push(`${rel}: [${match[1]}](${target}): ${relative(ROOT, resolved)} does not exist`);
      continue;
    }
    if (anchor && resolved.endsWith(".md") && statSync(resolved).isFile() && !anchorsOf(resolved).has(anchor)) {
      problems.push(`${rel}: [${match[1]}](${target}): ${relative(ROOT, resolved)} has no heading with the id "${anchor}"`);
    }
  }
  return problems;
}

/** Top-level folders and files of the project: a code span starting with one of them names a path in the repository. */
const TOP_LEVEL = readdirSync(ROOT, { withFileTypes: true })
  .filter((e) => !SKIP_DIRS.has(e.name) && (e.isDirectory() || /\.(ts|json|mts)$/.test(e.name)))
  .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));

/** Paths a file names in code spans (`src/naming.ts`, `runtime/lib/`) that exist neither from the root nor next to it. */
function missingPaths(file: string): string[] {
  const text = readFileSync(file, "utf8").replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  const problems: string[] = [];
  for (const match of text.matchAll(/`([^`\s]+)`/g)) {
    const span = match[1] ?? "";
    if (!TOP_LEVEL.some((top) => span === top || span.startsWith(top.endsWith("/") ? top : `${top}\0`))) continue;
    if (/[<>*{}$|]|\.\.\./.test(span)) continue; // a pattern or placeholder, not one path
    const path = span.replace(/[:#].*$/, "").replace(/[,.;)]+$/, "");
    if (!existsSync(join(ROOT, path)) && !existsSync(join(dirname(file), path))) problems.push(`${relative(ROOT, file)}: \`${span}\``);
  }
  return problems;
}

describe("documentation links", () => {
  const files = markdownFiles();

  it("GIVEN the repository WHEN its markdown files are listed THEN the README, docs/ and every module README are among them", () => {
    const names = files.map((f) => relative(ROOT, f));
    for (const expected of ["README.md", "docs/terraform-interface.md", "runtime/README.md", "templates/README.md"]) expect(names).toContain(expected);
    for (const module of readdirSync(join(ROOT, "modules"))) expect(names).toContain(join("modules", module, "README.md"));
  });

  it("GIVEN every markdown file WHEN its relative links are resolved THEN each names an existing file, and an existing heading for #anchors", () => {
    expect(files.flatMap(brokenLinks)).toEqual([]);
  });

  it("GIVEN every markdown file WHEN a code span names a repository path (`src/naming.ts`) THEN that path exists", () => {
    expect(files.flatMap(missingPaths)).toEqual([]);
  });

  it("GIVEN a link to a missing file or heading WHEN checked THEN it is reported (the check can fail)", () => {
    const problems = brokenLinks(FIXTURE);
    expect(problems).toEqual([
      "__tests__/support/docs/broken-links.md: [missing](nowhere.md): __tests__/support/docs/nowhere.md does not exist",
      '__tests__/support/docs/broken-links.md: [bad anchor](../../../README.md#no-such-heading): README.md has no heading with the id "no-such-heading"',
      "__tests__/support/docs/broken-links.md: [outside](../../../../elsewhere.md) points outside the repository",
    ]);
    expect(missingPaths(FIXTURE)).toEqual(["__tests__/support/docs/broken-links.md: `src/no-such-file.ts`"]);
  });

  it("GIVEN every tracked file WHEN read THEN none refers to the shared folder outside the repository", () => {
    const forbidden = [["..", "shared"].join("/"), ["", "work", "shared"].join("/")];
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    const offending = tracked.filter((path) => {
      const file = join(ROOT, path);
      if (!existsSync(file) || statSync(file).size > 2_000_000) return false;
      const text = readFileSync(file, "latin1");
      return forbidden.some((needle) => text.includes(needle));
    });
    expect(offending).toEqual([]);
  });
});
