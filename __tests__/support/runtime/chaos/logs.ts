/**
 * Reading what the sandbox wrote while a scenario ran: line files read incrementally, the trainer's log, the stub calls,
 * and the fake S3's write journal (with its reconciliation against what S3 holds).
 */
import { appendFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RUN_ID, Sandbox } from "../sandbox";
import type { JournalEntry, StubCallAt, TrainerEvent } from "./observation";

export function readLines(file: string, from = 0): { lines: string[]; size: number } {
  if (!existsSync(file)) return { lines: [], size: 0 };
  const size = statSync(file).size;
  if (size <= from) return { lines: [], size: from };
  const text = readFileSync(file).subarray(from).toString("utf8");
  const end = text.lastIndexOf("\n") + 1; // a line being written waits for the next read
  return { lines: text.slice(0, end).split("\n").filter(Boolean), size: from + Buffer.byteLength(text.slice(0, end)) };
}

export function trainerEvents(lines: string[]): TrainerEvent[] {
  return lines.map((line) => {
    const [t, event, ...fields] = line.split(" ");
    return { t: Number(t) * 1000, event: event ?? "", fields };
  });
}

export function stubCalls(file: string, from: number, to: number, cmd = "aws"): StubCallAt[] {
  return readLines(file).lines.flatMap((line) => {
    const c = JSON.parse(line) as { t: number; cmd?: string; args?: string[]; call?: string };
    if (c.t < from || c.t > to) return [];
    if (c.call !== undefined) return [{ t: c.t, line: c.call }];
    return c.cmd === cmd ? [{ t: c.t, line: [c.cmd, ...(c.args ?? [])].join(" ") }] : [];
  });
}

/**
 * The stubs journal an S3 write right after it (a writer killed in between, e.g. an early sync whose process group the
 * drain kills, or the instance reclaimed, leaves the object unjournaled): after each attempt, what S3 holds under the
 * run and the journal does not say is journaled (`synthetic`) at the time it was put: the object's ctime, which the
 * stub's rename into place set (as the stub's own lines do). Stamped with the reconcile time instead, a LATEST.json put
 * before the marker read as written after it (soak seed 2474377474), and a checkpoint file put before LATEST.json as
 * missing when LATEST.json named it (2601275768). A delete the journal lacks has no such time: `t`.
 */
export function reconcile(journal: string, s3: string, t: number): void {
  const state = new Map<string, number>();
  for (const line of readLines(journal).lines) {
    const e = JSON.parse(line) as JournalEntry;
    if (e.op === "rm") state.delete(e.key);
    else state.set(e.key, e.size);
  }
  const prefix = `outputs-bucket/runs/${RUN_ID}/`;
  const present = new Set(Sandbox.files(join(s3, prefix)).map((f) => prefix + f));
  const out: string[] = [];
  for (const key of present) {
    const size = statSync(join(s3, key)).size;
    if (state.get(key) === size && !/(LATEST\.json|SUCCESS|FAILURE|INTERRUPTED)$/.test(key)) continue;
    const body = /(LATEST\.json|SUCCESS|FAILURE|INTERRUPTED)$/.test(key) ? readFileSync(join(s3, key), "utf8").trimEnd() : undefined; // as the stub's $(<file)
    if (state.get(key) === size && body !== undefined && lastBody(journal, key) === body) continue;
    const putAt = statSync(join(s3, key)).ctimeMs / 1000;
    out.push(JSON.stringify({ t: putAt, op: "put", key, size, ...(body !== undefined ? { body } : {}), synthetic: true }));
  }
  for (const key of state.keys()) if (key.startsWith(prefix) && !present.has(key)) out.push(JSON.stringify({ t: t / 1000, op: "rm", key, size: 0, synthetic: true }));
  if (out.length) appendFileSync(journal, `${out.join("\n")}\n`);
}

/** The journal's entries, times in epoch ms. */
export function readJournal(journal: string): JournalEntry[] {
  return readLines(journal).lines.map((l) => JSON.parse(l) as JournalEntry).map((e) => ({ ...e, t: e.t * 1000 }));
}

function lastBody(journal: string, key: string): string | undefined {
  let body: string | undefined;
  for (const line of readLines(journal).lines) {
    const e = JSON.parse(line) as JournalEntry;
    if (e.key === key) body = e.op === "rm" ? undefined : e.body;
  }
  return body;
}
