/** main.ts run as a real process against a temp envs folder, and how its printed problems are read (__tests__/config/bad-config*.test.ts). */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { Expected } from "./bad-config-rows";
import { synthCommand } from "../synth-command";

const PROJECT = join(__dirname, "..", "..", "..");
const SYNTH = synthCommand();

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runMain(envs: string, extra: Record<string, string> = {}): Run {
  const result = spawnSync(SYNTH.command, SYNTH.args, {
    cwd: PROJECT,
    encoding: "utf8",
    env: { ...process.env, ...SYNTH.env, GTI_ENVS_DIR: envs, GTI_DEBUG: "", ...extra },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The printed problems: a head line (two spaces, then the location) and its indented lines. */
export function problemBlocks(output: string): string[] {
  return output.split(/\n(?=  \S)/).filter((block) => /^ {2}\S/.test(block) || /^\S+\.ts/.test(block.trim()));
}

export function blockFor(output: string, expected: Expected): string | undefined {
  return problemBlocks(output).find((block) => {
    const head = block.split("\n")[0] ?? "";
    return head.trimStart().startsWith(expected.file) && expected.where.test(head) && expected.rule.test(head);
  });
}

export const STACK_TRACE = [/^\s+at\s/m, /node:internal/, /TransformError/, /\.[cm]?js:\d+:\d+/];

export function expectNoStackTrace(run: Run): void {
  for (const pattern of STACK_TRACE) {
    expect(run.stderr, `stderr matches ${pattern}`).not.toMatch(pattern);
    expect(run.stdout, `stdout matches ${pattern}`).not.toMatch(pattern);
  }
}

export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}
