/**
 * runtime/lib/common.sh's process-free helpers, against what they replace: `rd`/`rdv` read state files with bash
 * itself where they were `cat` (the runtime reads a state file before nearly every step), `jsv` quotes into a variable
 * (JSON). Each case runs the real library in bash and compares with the external command's result where there was one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bashSync, RUNTIME_DIR } from "../support/runtime/sandbox";

const temp = mkdtempSync(join(tmpdir(), "gti-common-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs `script` in bash after sourcing lib/common.sh with STATE in a temp dir; its stdout. */
function withCommon(script: string, args: readonly string[] = []): string {
  const result = bashSync(["-c", `set -uo pipefail; . "$0/lib/common.sh"; STATE=$1; shift; ${script}`, RUNTIME_DIR, temp, ...args], {
    env: { PATH: process.env.PATH },
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Writes `content` (printf %b escapes) to the state file `name`, then prints what each reader gets, one JSON line each. */
const COMPARE = `
  printf '%b' "$2" >"$STATE/$1"
  c=$(cat "$STATE/$1" 2>/dev/null); cs=$?
  r=$(rd "$1"); rs=$?
  v=unset; rdv v "$1"; vs=$?
  printf '{"cat":"%s","catStatus":%d,"rd":"%s","rdStatus":%d,"rdv":"%s","rdvStatus":%d}\\n' "\${c//$'\\n'/\\\\n}" "$cs" "\${r//$'\\n'/\\\\n}" "$rs" "\${v//$'\\n'/\\\\n}" "$vs"`;

describe("lib/common.sh: rd and rdv (state files read by bash itself)", () => {
  it.each([
    ["a one-line file", "1700000000\\n"],
    ["a file without a trailing newline", "i-0123456789abcdef0"],
    ["an empty file", ""],
    ["several lines and trailing blank lines", "a b\\nc\\n\\n\\n"],
  ])("GIVEN %s WHEN read THEN rd and rdv give what $(cat) gave, with its status", (_case, content) => {
    const got = JSON.parse(withCommon(COMPARE, ["file", content])) as Record<string, unknown>;
    expect({ rd: got.rd, rdStatus: got.rdStatus }).toEqual({ rd: got.cat, rdStatus: got.catStatus });
    expect({ rdv: got.rdv, rdvStatus: got.rdvStatus }).toEqual({ rdv: got.cat, rdvStatus: got.catStatus });
  });

  it("GIVEN no such state file WHEN read THEN rd and rdv fail silently and rdv leaves the variable alone", () => {
    const out = withCommon(`rd missing; echo "rd=$?"; v=kept; rdv v missing; echo "rdv=$? v=$v"`);
    expect(out).toBe("rd=1\nrdv=1 v=kept\n");
  });

  it("GIVEN a directory where a state file is expected WHEN read THEN rd and rdv fail, as cat did", () => {
    const out = withCommon(`mkdir -p "$STATE/dir"; cat "$STATE/dir" 2>/dev/null; echo "cat=$?"; rd dir; echo "rd=$?"; rdv v dir; echo "rdv=$?"`);
    expect(out).toBe("cat=1\nrd=1\nrdv=1\n");
  });

  it("GIVEN a list file WHEN its lines are read from rd THEN every line comes, also a last one without a newline", () => {
    const out = withCommon(`printf 'one\\ntwo' >"$STATE/pending"; while IFS= read -r l; do echo "[$l]"; done < <(rd pending)`);
    expect(out).toBe("[one]\n[two]\n");
  });
});

describe("lib/common.sh: metav and instance_idv (metadata into a variable)", () => {
  it("GIVEN metadata this boot cached WHEN read into a variable THEN it is the cached value (no request: no endpoint is set)", () => {
    const out = withCommon(`printf '%s' g5.xlarge >"$STATE/meta-instance-type"; printf '%s' i-0abc >"$STATE/meta-instance-id"
      metav t instance-type && instance_idv i && echo "$t $i"`);
    expect(out).toBe("g5.xlarge i-0abc\n");
  });
});

describe("lib/common.sh: ts and tsv (UTC timestamps)", () => {
  it("GIVEN no format and a format WHEN stamped THEN ts prints and tsv stores the same UTC time, ISO 8601 by default", () => {
    const [iso, isoV, compact, compactV] = withCommon(`ts; echo; tsv a; echo "$a"; ts %Y%m%d; echo; tsv b %Y%m%d; echo "$b"`).split("\n");
    expect(iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Math.abs(Date.parse(iso as string) - Date.now())).toBeLessThan(5_000);
    expect(compact).toMatch(/^\d{8}$/);
    expect([isoV, compactV]).toEqual([iso, compact]);
  });
});

describe("lib/common.sh: jsv (JSON strings for the markers)", () => {
  it.each([
    ["plain text", "checkpoint-200"],
    ["quotes and backslashes", 'say "hi" \\ C:\\path'],
    ["tabs and newlines", "a\tb\nc"],
    ["control characters (dropped)", "bell\u0007 esc\u001b[0m"],
  ])("GIVEN %s WHEN quoted THEN jsv stores a valid JSON string of it (control characters dropped)", (_case, text) => {
    const stored = withCommon(`jsv q "$1"; printf '%s' "$q"`, [text]);
    expect(JSON.parse(stored)).toBe(text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ""));
  });
});
