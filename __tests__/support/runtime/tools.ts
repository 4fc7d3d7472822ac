/**
 * The real programs behind the commands the sandbox puts on PATH, resolved once per test process. Each is a lookup the
 * runtime tests would otherwise repeat thousands of times: `python3` on a developer's PATH is often a version
 * manager's shim (pyenv's runs ~15 bash processes before the interpreter starts), and `#!/usr/bin/env bash` costs an
 * extra exec per stub call.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { STUBS_DIR } from "./sandbox-constants";

/** The first executable `name` on PATH (as a shell would find it), or undefined. No process is started. */
export function onPath(name: string, path = process.env.PATH ?? "/usr/bin:/bin"): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

let bash: string | undefined;
/** bash's absolute path (for shebangs). */
export function bashPath(): string {
  bash ??= onPath("bash") ?? "/bin/bash";
  return bash;
}

let python: string | null | undefined;
/**
 * The interpreter `python3` on PATH really runs (its `sys.executable`: past pyenv's or asdf's shim; /usr/bin/python3
 * where there is no shim), or undefined when there is no python3. Asked once per test process.
 */
export function realPython3(): string | undefined {
  if (python === undefined) {
    const found = onPath("python3");
    const asked = found ? spawnSync(found, ["-c", "import sys; print(sys.executable)"], { encoding: "utf8", timeout: 30_000 }) : undefined;
    const exe = asked?.status === 0 ? asked.stdout.trim() : "";
    python = exe !== "" && isAbsolute(exe) ? exe : (found ?? null);
  }
  return python ?? undefined;
}

/**
 * A stub command (stubs/stub.sh as `name`): a script with bash's absolute path as its interpreter that sources the
 * multi-call stub, so a call is one exec of bash (not env, bash, then bash again).
 */
export function stubScript(name: string): string {
  return `#!${bashPath()}\nSTUB_NAME=${name}\n. '${join(STUBS_DIR, "stub.sh")}'\n`;
}

/**
 * `spawnSync("bash", args)` with stdin from /dev/null. Node's default stdin is a socket pair, and bash started with a
 * socket on stdin takes itself for a remote shell (rshd/sshd) and sources ~/.bashrc even when non-interactive: on a
 * developer machine that can be a version manager's whole init (pyenv's: ~100 processes) per call.
 */
export function bashSync(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(bashPath(), args, { ...options, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
