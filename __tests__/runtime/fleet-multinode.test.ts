/**
 * Fleet multi-node mode of the runtime (runtime/lib/fleet.sh and its callers) run for real: nodes elect ranks, join,
 * wait and leave; every node is a sandbox of its own sharing the first node's S3 and AWS world (the auto-scaling group
 * and its instances the `aws` stub answers from). Helpers: `__tests__/support/runtime/fleet-nodes.ts`.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ASG, PORT, A, B, C, D, cleanup, node, nodes, containerEnv, started, runtimeLog, lines, asgTerminations } from "../support/runtime/fleet-nodes";
import { type FleetNode, RUN_ID, type RunResult, Sandbox, fleetWorld } from "../support/runtime/sandbox";

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
