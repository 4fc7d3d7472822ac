/**
 * The command `npm run synth` runs (package.json `scripts.synth`), for tests that run main.ts as a process: they run
 * exactly what users run, without npm's own start-up.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const PROJECT = join(__dirname, "..", "..");

export interface SynthCommand {
  /** The program (`node` is this Node binary). */
  readonly command: string;
  readonly args: readonly string[];
  /** The variables the script sets (`CHECKPOINT_DISABLE=1`). */
  readonly env: Readonly<Record<string, string>>;
}

/** `scripts.synth` split into variables, program and arguments (plain words only: it has no quoting). */
export function synthCommand(): SynthCommand {
  const script = (JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.synth;
  if (!script || /["'$`\\|&;<>]/.test(script)) throw new Error(`package.json scripts.synth is not a plain command: ${script}`);
  const words = script.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = (words.shift() as string).split("=");
    env[name as string] = value.join("=");
  }
  const [program, ...args] = words;
  if (!program) throw new Error(`package.json scripts.synth runs nothing: ${script}`);
  return { command: program === "node" ? process.execPath : join(PROJECT, "node_modules", ".bin", program), args, env };
}
