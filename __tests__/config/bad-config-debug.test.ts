/**
 * The bad input table: malformed env configurations, each run through main.ts as a real process against a temp
 * envs folder (GTI_ENVS_DIR), asserting per row the exit code, that no stack trace is printed, and that the message
 * names the file (and line), the field and the fix.
 *
 * Rows share processes (a process costs about a second of CPU): every error row lives in one folder and one run,
 * which also proves that every problem of every file is listed at once, each once; the placeholder rows (warnings,
 * exit 0) share a second run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runMain, writeFiles } from "../support/config/bad-config-run";

const temp = mkdtempSync(join(tmpdir(), "gti-bad-config-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe("bad input table: debugging", () => {
  it("GIVEN GTI_DEBUG=1 and a file that throws WHEN main.ts runs THEN the message comes with the stack trace", () => {
    const envs = join(temp, "debug", "envs");
    writeFiles(envs, { "thrower.ts": 'export default { name: "thrower", region: JSON.parse("{") };\n' });
    const run = runMain(envs, { GTI_DEBUG: "1", CDKTF_OUTDIR: join(temp, "debug", "out") });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/envs\/thrower\.ts:1:\d+ {2}loading it threw SyntaxError/);
    expect(run.stderr).toMatch(/Debug \(GTI_DEBUG=1\):\n[\s\S]*^\s+at /m);
  });
});
