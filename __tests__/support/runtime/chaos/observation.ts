/** What a chaos run records (the ground truth the invariants are checked against): per attempt and for the whole run. */
import type { EventSpec } from "./scenario";

export interface TrainerEvent {
  /** Epoch ms. */
  t: number;
  event: string;
  fields: string[];
}

export interface FiredEvent {
  /** Epoch ms. */
  t: number;
  event: EventSpec;
  /** Notice: AWS's action time (epoch ms, whole seconds as AWS writes it). */
  actionAt?: number;
  /** Faults: the window's end (epoch ms). */
  until?: number;
  /** Did it reach anything (a stop or kill of a launcher that had already exited does nothing). */
  effective: boolean;
  /** A notice posted before a reboot: still there for the next boot of the instance (`t` is that boot's start). */
  inherited?: boolean;
}

export interface PostRun {
  t: number;
  result: string;
  code: number | null;
  /** SIGKILLed at its timeout. */
  timedOut: boolean;
}

export interface StubCallAt {
  t: number;
  line: string;
}

export interface PhaseObservation {
  index: number;
  instanceId: string;
  /** This attempt runs on the instance of the previous one (after a reboot or a restart after a stop). */
  sameInstance: boolean;
  startedAt: number;
  endedAt: number;
  end: "exited" | "terminated" | "reclaimed" | "rebooted" | "capped";
  launcher: { code: number | null; signal: string | null; exitedAt: number } | undefined;
  /** The unit was SIGKILLed at its stop timeout. */
  unitKilledAt?: number;
  posts: PostRun[];
  fired: FiredEvent[];
  trainer: TrainerEvent[];
  /** Calls of the `aws` stub during the attempt (for terminate calls and the attempt's start). */
  aws: StubCallAt[];
  /** Calls that a fault rule changed. */
  faults: StubCallAt[];
  /** Markers in S3 when the attempt ended. */
  markersAtEnd: string[];
  /** outputs/model.bin in S3 when the attempt ended. */
  modelAtEnd: string | undefined;
  /** The docker stub SIGKILLed the container (grace over). */
  containerKilled: boolean;
  /** When the runtime recorded a stop (STATE/stop-requested written: the launcher's SIGTERM trap ran). */
  stopRecordedAt?: number;
}

export interface JournalEntry {
  /** Epoch ms. */
  t: number;
  op: "put" | "rm";
  key: string;
  size: number;
  body?: string;
}

export interface Observation {
  phases: PhaseObservation[];
  journal: JournalEntry[];
  wallMs: number;
}
