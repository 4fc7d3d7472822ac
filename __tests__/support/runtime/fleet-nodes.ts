/**
 * Fleet nodes for the runtime's fleet-mode tests (`__tests__/runtime/fleet*.test.ts`): every node is a sandbox of its
 * own (its IMDS, disk and stub records) sharing the first node's S3 and AWS world; helpers read what a node did.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FleetNode, RUN_ID, Sandbox } from "./sandbox";

export const ASG = "gti-test-fleet";
export const HOOK = `${ASG}-drain`;
export const PORT = "29600";

/** Ranks by launch time, then instance id: A oldest; B and C launched in the same second, B's id sorts first. */
export const A: FleetNode = { id: "i-0ccc0000000000001", ip: "10.0.1.30", launched: "2025-01-01T10:00:00+00:00" };
export const B: FleetNode = { id: "i-0aaa0000000000002", ip: "10.0.1.10", launched: "2025-01-01T10:05:00+00:00" };
export const C: FleetNode = { id: "i-0bbb0000000000003", ip: "10.0.1.20", launched: "2025-01-01T10:05:00+00:00" };
/** A replacement: the youngest, with the id that sorts first. */
export const D: FleetNode = { id: "i-0000000000000000d", ip: "10.0.1.40", launched: "2025-01-01T12:00:00+00:00", state: "Pending" };

/** The nodes of the current test, first launched first (the first one owns the shared S3 and AWS world). */
export const nodes: Sandbox[] = [];
export async function cleanup(): Promise<void> {
  for (const n of nodes.reverse()) await n.cleanup();
  nodes.length = 0;
}

/** A fleet node: its own sandbox (IMDS with its instance id), the first node's S3 and AWS world. */
export async function node(n: FleetNode, config: Record<string, string | undefined> = {}): Promise<Sandbox> {
  const mode = config.GTI_MODE ?? "fleet-multinode";
  const s = await Sandbox.create({
    imds: { instanceId: n.id },
    peerOf: nodes[0],
    config: {
      GTI_MODE: mode,
      GTI_RUN_ID: mode === "fleet-multinode" ? RUN_ID : "",
      GTI_FLEET_ASG_NAME: ASG,
      GTI_FLEET_LIFECYCLE_HOOK: HOOK,
      GTI_FLEET_MASTER_PORT: PORT,
      GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "600",
      ...config,
    },
  });
  nodes.push(s);
  return s;
}
export const independent = (n: FleetNode, config: Record<string, string | undefined> = {}) => node(n, { GTI_MODE: "fleet-independent", ...config });

/** The environment the node's training container got (its last `docker run`). */
export function containerEnv(s: Sandbox): Record<string, string> {
  const lines = readFileSync(join(s.state, "docker", "gti-training.env"), "utf8").split("\n").filter(Boolean);
  const env: Record<string, string> = {};
  for (const line of lines) env[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
  return env;
}
export const started = (s: Sandbox) => existsSync(join(s.state, "docker", "gti-training.env"));
export const runtimeLog = (s: Sandbox) => readFileSync(s.path("var/log/training-runtime.log"), "utf8");
export const runIdOf = (s: Sandbox) => readFileSync(s.path("var/lib/gpu-training/run-id"), "utf8").split(" ")[0] ?? "";
export const lines = (s: Sandbox, cmd: string) => s.calls(cmd).map((c) => c.args.join(" "));
export const completions = (s: Sandbox) => s.callsOf("aws", "autoscaling complete-lifecycle-action");
export const asgTerminations = (s: Sandbox) => s.callsOf("aws", "autoscaling terminate-instance-in-auto-scaling-group");

/** The group starts terminating node `n`: Terminating:Wait (the drain hook) and IMDS target-lifecycle-state Terminated. */
export function groupTerminates(s: Sandbox, n: FleetNode): void {
  const world = s.world();
  const member = world.groups[0]?.Instances.find((i) => i.InstanceId === n.id);
  if (member) member.LifecycleState = "Terminating:Wait";
  s.setWorld(world);
  s.imds.targetLifecycleState("Terminated");
}

/** An independent node's run that `node` left INTERRUPTED (reason) with checkpoint-2 complete in S3. */
export function interruptedRun(s: Sandbox, runId: string, reason: string): void {
  const dir = s.s3Path(`runs/${runId}/checkpoints/checkpoint-2`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "step"), "2");
  writeFileSync(join(dir, "weights.bin"), "weights 2");
  writeFileSync(s.s3Path(`runs/${runId}/checkpoints/LATEST.json`), JSON.stringify({ run_id: runId, checkpoint: "checkpoint-2", type: "dir" }));
  const marker = { status: "INTERRUPTED", run_id: runId, reason, exit_code: 143, instance_id: "i-0dead000000000000", ended_at: "2025-01-01T09:00:00Z" };
  writeFileSync(s.s3Path(`runs/${runId}/INTERRUPTED`), `${JSON.stringify(marker)}\n`);
}
export const claims = (s: Sandbox, runId: string) => {
  const dir = s.s3Path(`runs/${runId}/claims`);
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8").trim()) : [];
};

