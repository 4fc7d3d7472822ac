/**
 * Fleet modes of the runtime at the group's edges, run for real: the drain hook, a spot notice before the group
 * terminates a node, a node whose run succeeded, independent nodes adopting interrupted runs, configuration checks.
 * Helpers: `__tests__/support/runtime/fleet-nodes.ts`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ASG, HOOK, A, B, cleanup, independent, containerEnv, runtimeLog, runIdOf, completions, asgTerminations, groupTerminates, interruptedRun, claims } from "../support/runtime/fleet-nodes";
import { RUN_ID, type Running, Sandbox, fleetWorld } from "../support/runtime/sandbox";

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
