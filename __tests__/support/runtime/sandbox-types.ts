/** What the sandbox hands back: stub calls, script results, running scripts, run markers. */
import type { ChildProcess } from "node:child_process";

export interface StubCall {
  t: number;
  cmd: string;
  args: string[];
  env: { AWS_REGION: string };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
}

export interface Marker {
  status: string;
  run_id: string;
  run_id_source: string;
  reason: string;
  exit_code: number | null;
  instance_id: string;
  instance_type: string;
  lifecycle: string;
  mode: string;
  image: string;
  started_at: string;
  ended_at: string;
  resumed_from: string;
  transfers: { what: string; attempts: number; ok: boolean }[];
  failed: string[];
  /** What the failed uploads left on the instance only (checkpoints/<name>, outputs/, logs/). */
  not_uploaded: string[];
  last_log_lines: string[];
}
