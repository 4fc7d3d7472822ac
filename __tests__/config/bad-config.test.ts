/**
 * The bad input table: malformed env configurations, each run through main.ts as a real process against a temp
 * envs folder (GTI_ENVS_DIR), asserting per row the exit code, that no stack trace is printed, and that the message
 * names the file (and line), the field and the fix.
 *
 * Rows share processes (a process costs about a second of CPU): every error row lives in one folder and one run,
 * which also proves that every problem of every file is listed at once, each once; the placeholder rows (warnings,
 * exit 0) share a second run.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_ROWS, SHARED } from "../support/config/bad-config-rows";
import { blockFor, expectNoStackTrace, problemBlocks, runMain, writeFiles, type Run } from "../support/config/bad-config-run";

const temp = mkdtempSync(join(tmpdir(), "gti-bad-config-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe("bad input table: every error row in one run of main.ts", () => {
  const envs = join(temp, "errors", "envs");
  let run: Run;

  beforeAll(() => {
    writeFiles(envs, { "_shared.ts": SHARED });
    for (const row of ERROR_ROWS) writeFiles(envs, row.files);
    run = runMain(envs, { CDKTF_OUTDIR: join(temp, "errors", "out") });
  });

  it.each(ERROR_ROWS.map((row) => [row.id, row.description, row] as const))(
    "GIVEN %s (%s) WHEN main.ts runs THEN it exits 1, with no stack trace, naming the file, the field and the fix",
    (_id, _description, row) => {
      expect(run.status, run.stderr).toBe(1);
      expectNoStackTrace(run);
      const block = blockFor(run.stderr, row.expected);
      expect(block, `no problem for ${row.expected.file} matching ${row.expected.where} and ${row.expected.rule} in:\n${run.stderr}`).toBeDefined();
      const fixLine = block?.split("\n").find((line) => line.trimStart().startsWith("Fix: ")) ?? "";
      expect(fixLine).toMatch(row.expected.fix);
    },
  );

  it("GIVEN problems in many files WHEN main.ts runs THEN each is printed once, grouped by file, and nothing is written", () => {
    const heads = problemBlocks(run.stderr).map((block) => block.split("\n")[0] ?? "");
    expect(new Set(heads).size).toBe(heads.length);
    // One problem per mistake: a malformed CIDR is not also "outside /16../24".
    expect(heads.filter((h) => h.includes("envs/r14.ts"))).toHaveLength(1);
    expect(run.stderr.match(/Invalid configuration: \d+ problems in \d+ files\./g)).toHaveLength(1);
    // The shared file's problems once, not once per env that spreads it; the env importing a broken file says so.
    expect(heads.filter((h) => h.trimStart().startsWith("envs/_emptybucket.ts"))).toHaveLength(1);
    expect(heads.filter((h) => h.trimStart().startsWith("envs/_broken.ts"))).toHaveLength(1);
    expect(heads.some((h) => h.includes("envs/r37.ts") && h.includes("imports envs/_broken.ts, which does not compile"))).toBe(true);
    // Grouped: every file's problems together.
    const files = heads.map((h) => /^\s*(\S+?\.ts)/.exec(h)?.[1]);
    expect(files).toEqual([...files].sort());
    expect(existsSync(join(temp, "errors", "out", "manifest.json"))).toBe(false);
  });
});
