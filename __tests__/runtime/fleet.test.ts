/**
 * Fleet modes of the runtime (runtime/lib/fleet.sh and its callers) run for real: every node is a sandbox of its own
 * (its IMDS, disk and stub records) sharing the first node's S3 and AWS world, the auto-scaling group and its
 * instances that the `aws` stub answers `describe-auto-scaling-groups` / `describe-instances` from (real JMESPath,
 * the CLI's text output) and changes on `terminate-instance-in-auto-scaling-group` / `complete-lifecycle-action`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FleetNode, RUN_ID, type RunResult, type Running, Sandbox, fleetWorld } from "../support/runtime/sandbox";

const ASG = "gti-test-fleet";
const HOOK = `${ASG}-drain`;
const PORT = "29600";

/** Ranks by launch time, then instance id: A oldest; B and C launched in the same second, B's id sorts first. */
const A: FleetNode = { id: "i-0ccc0000000000001", ip: "10.0.1.30", launched: "2025-01-01T10:00:00+00:00" };
const B: FleetNode = { id: "i-0aaa0000000000002", ip: "10.0.1.10", launched: "2025-01-01T10:05:00+00:00" };
const C: FleetNode = { id: "i-0bbb0000000000003", ip: "10.0.1.20", launched: "2025-01-01T10:05:00+00:00" };
/** A replacement: the youngest, with the id that sorts first. */
const D: FleetNode = { id: "i-0000000000000000d", ip: "10.0.1.40", launched: "2025-01-01T12:00:00+00:00", state: "Pending" };

let nodes: Sandbox[] = [];
async function cleanup(): Promise<void> {
  for (const n of nodes.reverse()) await n.cleanup();
  nodes = [];
}

/** A fleet node: its own sandbox (IMDS with its instance id), the first node's S3 and AWS world. */
async function node(n: FleetNode, config: Record<string, string | undefined> = {}): Promise<Sandbox> {
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
const independent = (n: FleetNode, config: Record<string, string | undefined> = {}) => node(n, { GTI_MODE: "fleet-independent", ...config });

/** The environment the node's training container got (its last `docker run`). */
function containerEnv(s: Sandbox): Record<string, string> {
  const lines = readFileSync(join(s.state, "docker", "gti-training.env"), "utf8").split("\n").filter(Boolean);
  const env: Record<string, string> = {};
  for (const line of lines) env[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
  return env;
}
const started = (s: Sandbox) => existsSync(join(s.state, "docker", "gti-training.env"));
const runtimeLog = (s: Sandbox) => readFileSync(s.path("var/log/training-runtime.log"), "utf8");
const runIdOf = (s: Sandbox) => readFileSync(s.path("var/lib/gpu-training/run-id"), "utf8").split(" ")[0] ?? "";
const lines = (s: Sandbox, cmd: string) => s.calls(cmd).map((c) => c.args.join(" "));
const completions = (s: Sandbox) => s.callsOf("aws", "autoscaling complete-lifecycle-action");
const asgTerminations = (s: Sandbox) => s.callsOf("aws", "autoscaling terminate-instance-in-auto-scaling-group");

/** The group starts terminating node `n`: Terminating:Wait (the drain hook) and IMDS target-lifecycle-state Terminated. */
function groupTerminates(s: Sandbox, n: FleetNode): void {
  const world = s.world();
  const member = world.groups[0]?.Instances.find((i) => i.InstanceId === n.id);
  if (member) member.LifecycleState = "Terminating:Wait";
  s.setWorld(world);
  s.imds.targetLifecycleState("Terminated");
}

/** An independent node's run that `node` left INTERRUPTED (reason) with checkpoint-2 complete in S3. */
function interruptedRun(s: Sandbox, runId: string, reason: string): void {
  const dir = s.s3Path(`runs/${runId}/checkpoints/checkpoint-2`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "step"), "2");
  writeFileSync(join(dir, "weights.bin"), "weights 2");
  writeFileSync(s.s3Path(`runs/${runId}/checkpoints/LATEST.json`), JSON.stringify({ run_id: runId, checkpoint: "checkpoint-2", type: "dir" }));
  const marker = { status: "INTERRUPTED", run_id: runId, reason, exit_code: 143, instance_id: "i-0dead000000000000", ended_at: "2025-01-01T09:00:00Z" };
  writeFileSync(s.s3Path(`runs/${runId}/INTERRUPTED`), `${JSON.stringify(marker)}\n`);
}
const claims = (s: Sandbox, runId: string) => {
  const dir = s.s3Path(`runs/${runId}/claims`);
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8").trim()) : [];
};

describe("fleet-multinode: three nodes elect ranks and train", () => {
  const fleet: Record<string, Sandbox> = {};
  const results: Record<string, RunResult> = {};
  beforeAll(async () => {
    for (const [name, n] of Object.entries({ A, B, C })) fleet[name] = await node(n);
    nodes[0]?.setWorld(fleetWorld(ASG, 3, [A, B, C]));
    const release = join(nodes[0]?.dir ?? "", "release");
    // As with torchrun, whose global rank 0 (the one process that saves) may run on any node: here only B saves.
    const saves = (name: string) => (name === "B" ? "1" : "1000000");
    const running = Object.entries(fleet).map(
      ([name, s]) => [name, s.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release, FAKE_CKPT_EVERY: saves(name) })] as const,
    );
    await nodes[0]?.waitFor("three containers", () => Object.values(fleet).every(started));
    await nodes[0]?.waitFor("a checkpoint on B", () => existsSync(join((fleet.B as Sandbox).runDir("checkpoints"), "checkpoint-2")));
    writeFileSync(release, "");
    for (const [name, r] of running) results[name] = await r.done;
  });
  afterAll(cleanup);

  it("GIVEN three nodes WHEN each elects THEN all agree: the oldest is rank 0, a launch-time tie goes to the lower instance id", () => {
    expect(Object.fromEntries(Object.entries(fleet).map(([name, s]) => [name, containerEnv(s).NODE_RANK]))).toEqual({ A: "0", B: "1", C: "2" });
    for (const s of Object.values(fleet)) expect(runtimeLog(s)).toContain(`of 3, rank 0: ${A.id} (${A.ip}:${PORT})`);
  });

  it("GIVEN the election WHEN the containers start THEN they get the torchrun rendezvous environment and the host network", () => {
    for (const s of Object.values(fleet)) {
      expect(containerEnv(s)).toMatchObject({ MASTER_ADDR: A.ip, MASTER_PORT: PORT, NNODES: "3", MIN_NNODES: "3", NPROC_PER_NODE: "1", RDZV_JOIN_TIMEOUT: "600", RUN_ID });
      expect(lines(s, "docker").find((l) => l.startsWith("run --name gti-training"))).toContain("--network host");
    }
  });

  it("GIVEN a multi-node run WHEN it succeeds THEN only rank 0 writes the marker; the others log that they do not", () => {
    expect(results.A?.code).toBe(0);
    expect(nodes[0]?.marker()).toMatchObject({ status: "SUCCESS", instance_id: A.id, mode: "fleet-multinode" });
    for (const [name, n, rank] of [["B", B, 1], ["C", C, 2]] as const) {
      const s = fleet[name] as Sandbox;
      expect(results[name]?.code, name).toBe(0);
      expect(lines(s, "aws").some((l) => l.includes(`/runs/${RUN_ID}/logs/${n.id}/`)), name).toBe(true);
      expect(runtimeLog(s)).toContain(`node rank ${rank}: no marker, rank 0 writes it`);
    }
  });

  it("GIVEN torchrun saved on a follower (B) WHEN the nodes sync THEN B's checkpoints reach S3 and LATEST.json names B's newest", () => {
    const b = fleet.B as Sandbox;
    const saved = readdirSync(b.runDir("checkpoints")).filter((d) => d.startsWith("checkpoint-"));
    expect(saved.length).toBeGreaterThan(0);
    const inS3 = readdirSync(b.s3Path(`runs/${RUN_ID}/checkpoints`)).filter((d) => d.startsWith("checkpoint-"));
    expect(inS3.sort()).toEqual(saved.sort());
    const newest = saved.sort((x, y) => Number(x.split("-")[1]) - Number(y.split("-")[1])).at(-1);
    expect(JSON.parse(b.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`))).toMatchObject({ checkpoint: newest, instance_id: B.id });
  });

  it("GIVEN every node's outputs WHEN the run ends THEN each node syncs its OUTPUT_DIR to the run's outputs/", () => {
    for (const [name, s] of Object.entries(fleet)) {
      expect(lines(s, "aws").some((l) => l.startsWith(`s3 sync ${s.runDir("outputs")}`)), name).toBe(true);
    }
  });

  it("GIVEN a fleet run that ended WHEN the nodes shut down THEN each leaves through the group, lowering its desired capacity", () => {
    for (const [name, n] of Object.entries({ A, B, C })) {
      expect(asgTerminations(fleet[name] as Sandbox).map((c) => c.args.slice(2)), name).toEqual([["--instance-id", n.id, "--should-decrement-desired-capacity"]]);
      expect((fleet[name] as Sandbox).callsOf("aws", "ec2 terminate-instances"), name).toEqual([]);
    }
    const group = nodes[0]?.world().groups[0];
    expect(group?.DesiredCapacity).toBe(0);
    expect(group?.Instances.map((i) => i.LifecycleState)).toEqual(["Terminating:Wait", "Terminating:Wait", "Terminating:Wait"]);
  });

  it("GIVEN a follower WHEN training-status runs THEN it shows the mode and the node's rank", async () => {
    const status = await (fleet.C as Sandbox).run("bin/training-status");
    expect(status.stdout).toMatch(/^mode: +fleet-multinode, node rank 2$/m);
  });
});

describe("fleet-multinode: joining, waiting, leaving", () => {
  afterEach(cleanup);

  it("GIVEN a replacement node (youngest, lowest instance id) WHEN it joins THEN it takes the free rank, never rank 0", async () => {
    const d = await node(D);
    d.setWorld(fleetWorld(ASG, 3, [A, C, D, { ...B, state: null, ec2State: "terminated" }]));
    const result = await d.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code, result.stderr).toBe(0);
    expect(containerEnv(d)).toMatchObject({ NODE_RANK: "2", MASTER_ADDR: A.ip, NNODES: "3" });
    expect(d.markers()).toEqual([]);
  });

  it("GIVEN rank 0 left (its INTERRUPTED marker) but is still listed WHEN the next oldest elects THEN it is rank 0 and writes the marker", async () => {
    const b = await node(B);
    b.setWorld(fleetWorld(ASG, 3, [A, B, C, D]));
    mkdirSync(b.s3Path(`runs/${RUN_ID}`), { recursive: true });
    writeFileSync(b.s3Path(`runs/${RUN_ID}/INTERRUPTED`), JSON.stringify({ status: "INTERRUPTED", reason: "spot_interruption", instance_id: A.id }));
    const result = await b.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code, result.stderr).toBe(0);
    expect(containerEnv(b)).toMatchObject({ NODE_RANK: "0", MASTER_ADDR: B.ip, NNODES: "3", MIN_NNODES: "3" });
    expect(b.marker()).toMatchObject({ status: "SUCCESS", instance_id: B.id });
  });

  it("GIVEN rank 0 was stopped by hand (INTERRUPTED manual_stop: it stays in the group) WHEN a node elects THEN rank 0 is still the oldest", async () => {
    const b = await node(B);
    b.setWorld(fleetWorld(ASG, 3, [A, B, C]));
    mkdirSync(b.s3Path(`runs/${RUN_ID}`), { recursive: true });
    writeFileSync(b.s3Path(`runs/${RUN_ID}/INTERRUPTED`), JSON.stringify({ status: "INTERRUPTED", reason: "manual_stop", instance_id: A.id }));
    expect((await b.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" })).code).toBe(0);
    expect(containerEnv(b)).toMatchObject({ NODE_RANK: "1", MASTER_ADDR: A.ip });
  });

  it("GIVEN S3's LATEST.json names a newer checkpoint (another node's) WHEN this node syncs older ones THEN LATEST.json does not move back", async () => {
    const a = await node(A);
    a.setWorld(fleetWorld(ASG, 1, [A]));
    const dir = a.s3Path(`runs/${RUN_ID}/checkpoints/checkpoint-9`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "step"), "9");
    const newer = { run_id: RUN_ID, checkpoint: "checkpoint-9", type: "dir", mtime: 4102444800, instance_id: B.id }; // 2100-01-01
    writeFileSync(a.s3Path(`runs/${RUN_ID}/checkpoints/LATEST.json`), `${JSON.stringify(newer)}\n`);
    const result = await a.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "11" });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(a.s3Path(`runs/${RUN_ID}/checkpoints/checkpoint-11`))).toBe(true);
    expect(JSON.parse(a.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`))).toEqual(newer);
    expect(runtimeLog(a)).toContain("LATEST.json keeps a newer one");
  });

  it("GIVEN a node missing from the group WHEN the rendezvous timeout passes THEN the others start and MIN_NNODES says how many", async () => {
    const b = await node(B, { GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "2" });
    b.setWorld(fleetWorld(ASG, 3, [A, B]));
    const result = await b.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.ms).toBeGreaterThanOrEqual(1000); // 2 s on a clock of whole seconds
    expect(runtimeLog(b)).toContain("waiting for peers: 2 of 3 in the group");
    expect(runtimeLog(b)).toContain("WARNING: 2 of 3 nodes after 2s");
    expect(containerEnv(b)).toMatchObject({ NNODES: "3", MIN_NNODES: "2", NODE_RANK: "1", MASTER_ADDR: A.ip });
  });

  it("GIVEN a node missing from the group WHEN it arrives within the timeout THEN training starts then, with every node", async () => {
    const b = await node(B, { GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "30" });
    b.setWorld(fleetWorld(ASG, 3, [A, B]));
    const launcher = b.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await b.waitFor("the wait for peers", () => existsSync(b.path("var/log/training-runtime.log")) && runtimeLog(b).includes("waiting for peers"));
    expect(started(b)).toBe(false);
    b.setWorld(fleetWorld(ASG, 3, [A, B, C]));
    const result = await launcher.done;
    expect(result.ms).toBeLessThan(10_000);
    expect(containerEnv(b)).toMatchObject({ NNODES: "3", MIN_NNODES: "3", NODE_RANK: "1" });
  });

});

describe("fleet-multinode: a node that is not in the group", () => {
  const X: FleetNode = { id: "i-0eee000000000000e", ip: "10.0.1.50", launched: "2025-01-01T09:00:00+00:00", state: null };
  let s: Sandbox;
  let result: RunResult;
  beforeAll(async () => {
    s = await node(X, { GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "1" });
    s.setWorld(fleetWorld(ASG, 2, [A, B, X]));
    result = await s.run("bin/gti-launcher", ["run"]);
  });
  afterAll(cleanup);

  it("GIVEN this node is not in the group WHEN the rendezvous times out THEN the attempt fails (rendezvous_failed) without a container", () => {
    expect(result.code).toBe(1);
    expect(runtimeLog(s)).toContain(`this node is not in group ${ASG}`);
    expect(runtimeLog(s)).toContain("attempt ended: FAILURE (exit code null, rendezvous_failed)");
    expect(s.callsOf("docker", "run")).toEqual([]);
    expect(s.markers()).toEqual([]);
  });

  it("GIVEN the group does not know this node WHEN it shuts down after the failure THEN it falls back to ec2 terminate-instances", () => {
    expect(asgTerminations(s).length).toBeGreaterThan(0);
    expect(lines(s, "aws").filter((l) => l.startsWith("ec2 terminate-instances"))).toEqual([`ec2 terminate-instances --instance-ids ${X.id}`]);
  });
});

describe("fleet-multinode: a follower whose torchrun fails", () => {
  afterEach(cleanup);

  it("GIVEN no marker ended the run WHEN the container fails THEN it elects again and restarts, up to GTI_FLEET_REJOINS, then fails without a marker", async () => {
    const b = await node(B, { GTI_FLEET_REJOINS: "2" });
    b.setWorld(fleetWorld(ASG, 3, [A, B, C]));
    const result = await b.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1", FAKE_EXIT: "1" });
    expect(result.code).toBe(1);
    expect(b.callsOf("docker", "run --name gti-training")).toHaveLength(3);
    expect(runtimeLog(b)).toContain("rejoining the group (2/2)");
    expect(runtimeLog(b)).toContain("attempt ended: FAILURE (exit code 1, rejoin_failed)");
    expect(b.markers()).toEqual([]);
  });

  it("GIVEN rank 0 already wrote SUCCESS WHEN the follower's container fails THEN it ends the attempt as SUCCESS without restarting", async () => {
    const b = await node(B);
    b.setWorld(fleetWorld(ASG, 3, [A, B, C]));
    const release = join(b.dir, "release");
    const launcher = b.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release, FAKE_EXIT: "1" });
    await b.waitFor("the container", () => started(b));
    b.putMarker("SUCCESS");
    writeFileSync(release, "");
    expect((await launcher.done).code).toBe(0);
    expect(b.callsOf("docker", "run --name gti-training")).toHaveLength(1);
    expect(runtimeLog(b)).toContain("attempt ended: SUCCESS (exit code 1, run_ended)");
    expect(asgTerminations(b)).toHaveLength(1);
  });
});

describe("fleet: the group terminates a training node (drain)", () => {
  let s: Sandbox;
  let procs: { launcher: Running; watcher: Running };
  beforeAll(async () => {
    s = await independent(A);
    s.setWorld(fleetWorld(ASG, 1, [A]));
    procs = { launcher: s.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(s.dir, "never") }), watcher: s.start("bin/gti-spot-watcher") };
    await s.waitFor("two checkpoints", () => existsSync(s.path("var/lib/gpu-training/run-id")) && existsSync(join(s.runDir("checkpoints", runIdOf(s)), "checkpoint-2")));
    groupTerminates(s, A);
    await Promise.all([procs.launcher.done, procs.watcher.done]);
  });
  afterAll(cleanup);

  it("GIVEN target-lifecycle-state Terminated WHEN the watcher sees it THEN the container is stopped, synced and INTERRUPTED (asg_termination)", () => {
    expect(s.callsOf("docker", "stop --time 1 gti-training")).toHaveLength(1);
    expect(s.marker(runIdOf(s))).toMatchObject({ status: "INTERRUPTED", reason: "asg_termination", exit_code: 143, mode: "fleet-independent" });
    expect(s.lostFiles(runIdOf(s))).toEqual([]);
  });

  it("GIVEN a drained node WHEN the marker is written THEN the lifecycle action is completed once, CONTINUE, after the marker", () => {
    expect(completions(s).map((c) => c.args.slice(2))).toEqual([
      ["--lifecycle-action-result", "CONTINUE", "--instance-id", A.id, "--lifecycle-hook-name", HOOK, "--auto-scaling-group-name", ASG],
    ]);
    const marker = s.callsOf("aws", `s3 cp ${s.path("run/gpu-training/marker.json")}`);
    expect(marker).toHaveLength(1);
    expect(completions(s)[0]?.t).toBeGreaterThanOrEqual(marker[0]?.t ?? Infinity);
    expect(s.world().groups[0]?.Instances[0]?.LifecycleState).toBe("Terminating:Proceed");
  });

  it("GIVEN a drain WHEN it is over THEN the launcher and the watcher exit 0 and the runtime terminates nothing itself", async () => {
    expect((await procs.launcher.done).code).toBe(0);
    expect((await procs.watcher.done).code).toBe(0);
    expect(asgTerminations(s)).toEqual([]);
    expect(s.callsOf("aws", "ec2 terminate-instances")).toEqual([]);
  });
});

describe("fleet: a spot notice, then the group terminates the node", () => {
  let s: Sandbox;
  let beforeTerminated: { completions: number; watcherExited: boolean };
  let watcherExited = false;
  beforeAll(async () => {
    s = await independent(A);
    s.setWorld(fleetWorld(ASG, 1, [A]));
    const launcher = s.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(s.dir, "never") });
    const watcher = s.start("bin/gti-spot-watcher");
    void watcher.done.then(() => (watcherExited = true));
    await s.waitFor("a checkpoint", () => existsSync(s.path("var/lib/gpu-training/run-id")) && existsSync(join(s.runDir("checkpoints", runIdOf(s)), "checkpoint-1")));
    s.imds.spotNotice("terminate", 120);
    await s.waitFor("the INTERRUPTED marker", () => s.markers(runIdOf(s)).length > 0);
    await launcher.done;
    const polls = s.imds.requests.length;
    await s.waitFor("several polls of the watcher", () => watcherExited || s.imds.requests.length >= polls + 3);
    beforeTerminated = { completions: completions(s).length, watcherExited };
    groupTerminates(s, A);
    await watcher.done;
  });
  afterAll(cleanup);

  it("GIVEN a spot notice in a fleet WHEN drained THEN the watcher keeps waiting for the group instead of exiting", () => {
    expect(beforeTerminated).toEqual({ completions: 0, watcherExited: false });
  });

  it("GIVEN a spot notice then Terminated WHEN both are handled THEN the node is drained once (the spot notice's)", () => {
    expect(s.callsOf("docker", "stop")).toHaveLength(1);
    expect(s.callsOf("aws", `s3 cp ${s.path("run/gpu-training/marker.json")}`)).toHaveLength(1);
    expect(s.marker(runIdOf(s))).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption" });
    expect(runtimeLog(s)).not.toContain("asg_termination");
  });

  it("GIVEN a spot notice then Terminated WHEN both are handled THEN the lifecycle action is completed once", () => {
    expect(completions(s)).toHaveLength(1);
  });
});

describe("fleet: a node whose run succeeded", () => {
  let s: Sandbox;
  let watcher: Running;
  beforeAll(async () => {
    s = await independent(A);
    s.setWorld(fleetWorld(ASG, 2, [A, B]));
    watcher = s.start("bin/gti-spot-watcher");
    const launcher = await s.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "2" });
    expect(launcher.code, launcher.stderr).toBe(0);
    s.imds.targetLifecycleState("Terminated"); // the group holds the node in Terminating:Wait (its drain hook)
    await watcher.done;
  });
  afterAll(cleanup);

  it("GIVEN a fleet node WHEN its run succeeded THEN it terminates through the group with --should-decrement-desired-capacity", () => {
    expect(asgTerminations(s).map((c) => c.args.slice(2))).toEqual([["--instance-id", A.id, "--should-decrement-desired-capacity"]]);
    expect(s.callsOf("aws", "ec2 terminate-instances")).toEqual([]);
    expect(s.world().groups[0]?.DesiredCapacity).toBe(1);
  });

  it("GIVEN a finished run WHEN the group then terminates the node THEN the watcher only completes the lifecycle action: no drain", async () => {
    expect((await watcher.done).code).toBe(0);
    expect(completions(s)).toHaveLength(1);
    expect(s.markers(runIdOf(s))).toEqual(["SUCCESS"]);
    expect(existsSync(s.path("run/gpu-training/interrupted"))).toBe(false);
    expect(runtimeLog(s)).not.toContain("asg_termination");
    expect(s.callsOf("docker", "stop")).toEqual([]);
  });
});

describe("fleet-independent: adopting interrupted runs", () => {
  const INTERRUPTED_RUN = `${ASG}-20250101-090000-abc123`;
  afterEach(cleanup);

  it.each(["spot_interruption", "asg_termination"])(
    "GIVEN a run INTERRUPTED by %s WHEN a new node starts THEN it claims the run and resumes from its checkpoint",
    async (reason) => {
      const s = await independent(A);
      s.setWorld(fleetWorld(ASG, 1, [A]));
      interruptedRun(s, INTERRUPTED_RUN, reason);
      const result = await s.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "3" });
      expect(result.code, result.stderr).toBe(0);
      expect(containerEnv(s)).toMatchObject({ RUN_ID: INTERRUPTED_RUN, RESUME_FROM: "/checkpoints/checkpoint-2" });
      expect(claims(s, INTERRUPTED_RUN)).toEqual([A.id]);
      expect(s.marker(INTERRUPTED_RUN)).toMatchObject({ status: "SUCCESS", run_id_source: "adopted", resumed_from: "/checkpoints/checkpoint-2" });
    },
  );

  it("GIVEN two new nodes and one interrupted run WHEN both claim it at once THEN one adopts it and the other starts a run of its own", async () => {
    const a = await independent(A);
    const b = await independent(B);
    a.setWorld(fleetWorld(ASG, 2, [A, B]));
    interruptedRun(a, INTERRUPTED_RUN, "spot_interruption");
    for (const s of [a, b]) s.rule("aws s3api put-object *", 1, "-", 0.4); // both get past the checks before either claims
    const [ra, rb] = await Promise.all([a.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "3" }), b.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "3" })]);
    expect([ra?.code, rb?.code]).toEqual([0, 0]);
    for (const s of [a, b]) expect(s.callsOf("aws", "s3api put-object")).toHaveLength(1);
    const winner = claims(a, INTERRUPTED_RUN);
    expect(winner).toHaveLength(1);
    const [won, lost] = winner[0] === A.id ? [a, b] : [b, a];
    expect(runIdOf(won)).toBe(INTERRUPTED_RUN);
    expect(runIdOf(lost)).toMatch(new RegExp(`^${ASG}-\\d{8}-\\d{6}-[0-9a-f]{6}$`));
    expect(runIdOf(lost)).not.toBe(INTERRUPTED_RUN);
    expect(runtimeLog(lost)).toContain(`run ${INTERRUPTED_RUN} was claimed by another node`);
    expect(containerEnv(lost).RESUME_FROM).toBe("");
  });

  it("GIVEN a node that adopted a run WHEN a spot notice comes before its attempt starts THEN the run gets a new INTERRUPTED marker another node claims", async () => {
    const a = await independent(A);
    a.setWorld(fleetWorld(ASG, 2, [A, B]));
    interruptedRun(a, INTERRUPTED_RUN, "asg_termination");
    a.rule("docker pull *", 1, "-", 30); // the bootstrap is still pulling the image
    a.start("bin/gti-bootstrap");
    const watcher = a.start("bin/gti-spot-watcher");
    await a.waitFor("the claim", () => claims(a, INTERRUPTED_RUN).length === 1);
    a.imds.spotNotice();
    await a.waitFor("a new INTERRUPTED marker", () => a.s3Read(`runs/${INTERRUPTED_RUN}/INTERRUPTED`).includes(A.id));
    expect(a.marker(INTERRUPTED_RUN)).toMatchObject({ reason: "spot_interruption", exit_code: null, run_id_source: "adopted" });
    expect(a.callsOf("docker", "run --name")).toEqual([]);
    const b = await independent(B);
    expect((await b.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "3" })).code).toBe(0);
    expect(containerEnv(b)).toMatchObject({ RUN_ID: INTERRUPTED_RUN, RESUME_FROM: "/checkpoints/checkpoint-2" });
    expect(claims(a, INTERRUPTED_RUN).sort()).toEqual([A.id, B.id].sort());
    expect(watcher.child.exitCode).toBeNull(); // in a fleet it waits for the group to terminate the node
  });

  it("GIVEN a run INTERRUPTED by manual_stop WHEN a new node starts THEN it leaves it alone and starts a run of its own", async () => {
    const s = await independent(A);
    s.setWorld(fleetWorld(ASG, 1, [A]));
    interruptedRun(s, INTERRUPTED_RUN, "manual_stop");
    const result = await s.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code, result.stderr).toBe(0);
    expect(runIdOf(s)).not.toBe(INTERRUPTED_RUN);
    expect(runIdOf(s).startsWith(`${ASG}-`)).toBe(true);
    expect(claims(s, INTERRUPTED_RUN)).toEqual([]);
    expect(s.markers(INTERRUPTED_RUN)).toEqual(["INTERRUPTED"]);
  });
});

describe("fleet: configuration checks", () => {
  afterEach(cleanup);

  it("GIVEN a fleet mode without GTI_FLEET_ASG_NAME WHEN bootstrapping THEN the mode step fails and FAILURE says so", async () => {
    const s = await independent(A, { GTI_FLEET_ASG_NAME: undefined, GTI_RUN_ID: RUN_ID });
    const result = await s.run("bin/gti-bootstrap");
    expect(result.code).not.toBe(0);
    expect(s.marker()).toMatchObject({ status: "FAILURE", reason: "bootstrap_failed:mode", mode: "fleet-independent" });
    expect(readFileSync(s.path("var/log/training-setup.log"), "utf8")).toContain(
      "GTI_FLEET_ASG_NAME and GTI_FLEET_LIFECYCLE_HOOK are required in fleet-independent",
    );
  });
});
