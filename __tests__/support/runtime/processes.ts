/** Finding and signalling a sandbox's processes by their environment (/proc/<pid>/environ). */
import { readdirSync, readFileSync } from "node:fs";

/** The NUL-separated environment of a process ([] when it is gone or not ours). */
export function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
  } catch {
    return [];
  }
}

/** Signals (SIGKILL) every process whose environment matches; returns how many. */
export function killWhere(match: (environ: string[]) => boolean, signal: NodeJS.Signals | 0 = "SIGKILL"): number {
  let killed = 0;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!match(environOf(pid))) continue;
    try {
      process.kill(pid, signal);
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
