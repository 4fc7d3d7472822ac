/** The fake S3 as the chaos run's write journal says it was at any time, and what a complete checkpoint is in it. */
import { RUN_ID } from "../sandbox";
import type { JournalEntry } from "./observation";
import type { Scenario } from "./scenario";

export const PREFIX = `outputs-bucket/runs/${RUN_ID}/`;
export const MARKERS = ["SUCCESS", "FAILURE", "INTERRUPTED"];

export interface MarkerBody {
  status: string;
  reason: string;
  exit_code: number | null;
}

/** The fake S3 as the journal says it was at a time. */
export class S3View {
  private readonly entries: JournalEntry[];

  constructor(journal: JournalEntry[]) {
    this.entries = [...journal].sort((a, b) => a.t - b.t);
  }

  at(t: number): Map<string, JournalEntry> {
    const state = new Map<string, JournalEntry>();
    for (const e of this.entries) {
      if (e.t > t) break;
      if (e.op === "rm") state.delete(e.key);
      else state.set(e.key, e);
    }
    return state;
  }

  puts(suffix: string): JournalEntry[] {
    return this.entries.filter((e) => e.op === "put" && e.key === PREFIX + suffix);
  }

  markerPuts(from: number, to: number): (JournalEntry & { marker: MarkerBody })[] {
    const parse = (body: string | undefined): MarkerBody => {
      try {
        return JSON.parse(body ?? "") as MarkerBody;
      } catch {
        return { status: "INVALID-JSON", reason: String(body), exit_code: null };
      }
    };
    return this.entries
      .filter((e) => e.op === "put" && e.t >= from && e.t <= to && MARKERS.some((m) => e.key === PREFIX + m))
      .map((e) => ({ ...e, marker: parse(e.body) }));
  }

  latestAt(t: number): string | undefined {
    const e = this.at(t).get(`${PREFIX}checkpoints/LATEST.json`);
    return e ? (JSON.parse(e.body ?? "{}") as { checkpoint?: string }).checkpoint : undefined;
  }
}

export function completeIn(state: Map<string, JournalEntry>, name: string, s: Scenario): boolean {
  const base = `${PREFIX}checkpoints/${name}`;
  const weights = s.trainer.chunks * s.trainer.chunkBytes;
  if (s.trainer.save === "atomic-file") return state.get(base)?.size === weights + 27;
  return state.has(`${base}/step`) && state.get(`${base}/weights.bin`)?.size === weights;
}
