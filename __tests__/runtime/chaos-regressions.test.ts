/**
 * Regressions the chaos soak found (runtime/README.md, "Chaos soak"): each defect as the smallest scenario that shows
 * it, run for real against the sandbox. Each test names the soak seed that found it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RUN_ID, Sandbox } from "../support/runtime/sandbox";

let sandbox: Sandbox;
afterEach(async () => sandbox?.cleanup());

const terminateCalls = () => sandbox.callsOf("aws", "ec2 terminate-instances");

describe("a stop that arrives while the attempt is ending", () => {
  it("GIVEN the container exited 0 and the final sync is under way WHEN systemd stops training THEN SUCCESS, and the instance does not terminate itself (soak seed 1370568822)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 sync */outputs s3://*", 1, "-", 2); // the final outputs sync takes 2 s
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await sandbox.waitFor("the final outputs sync", () => sandbox.callsOf("aws", `s3 sync ${sandbox.runDir("outputs")}`).length > 0);
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    expect((await launcher.done).code).toBe(0);
    expect(sandbox.marker()).toMatchObject({ status: "SUCCESS", run_id: RUN_ID });
    expect(terminateCalls()).toEqual([]);
  });
});

describe("a stop just as the container starts (the launcher holds the start lock)", () => {
  const within = <T>(ms: number, p: Promise<T>): Promise<T | "timed out"> => Promise.race([p, new Promise<"timed out">((r) => setTimeout(() => r("timed out"), ms))]);

  it("GIVEN the launcher is about to start the container WHEN systemd stops training THEN the stop ends the attempt within its budget, INTERRUPTED (soak seed 2133744013)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("docker rm *", 1, "-", 1); // the launcher holds the start lock while `docker rm -f` runs
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(sandbox.dir, "never") });
    await sandbox.waitFor("docker rm", () => sandbox.callsOf("docker", "rm").length > 0);
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    const result = await within(8000, launcher.done);
    expect(result).not.toBe("timed out");
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "service_stopped" });
  }, 20_000);

  it("GIVEN the launcher was killed before the container started WHEN ExecStopPost runs THEN it does not wait for an exit code nobody will write (soak seed 2133744013)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("docker rm *", 1, "-", 1);
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(sandbox.dir, "never") });
    await sandbox.waitFor("docker rm", () => sandbox.callsOf("docker", "rm").length > 0);
    expect(sandbox.killUnit(launcher)).toBeGreaterThan(0);
    await launcher.done;
    const post = await sandbox.run("bin/gti-launcher", ["post"], { SERVICE_RESULT: "signal" });
    expect(post.ms).toBeLessThan(5000); // the stop budget here is 7 s; the grace 1 s
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "launcher_signal" });
  }, 30_000);
});

describe("a stop before the attempt has begun (the launcher checks the marker)", () => {
  it("GIVEN the launcher's marker check is under way WHEN systemd stops training THEN the stop is recorded and the attempt ends INTERRUPTED service_stopped, never FAILURE launcher_error nor without a marker (soak seed 765066615)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3api list-objects-v2 *", 1, "-", 1); // the marker check takes 1 s
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await sandbox.waitFor("the marker check", () => sandbox.callsOf("aws", "s3api list-objects-v2").length > 0);
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    await launcher.done;
    expect(sandbox.markers()).toEqual(["INTERRUPTED"]);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "service_stopped" });
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
  });
});

describe("a stop that arrives while the instance terminates itself", () => {
  it("GIVEN SUCCESS and the terminate call under way WHEN systemd stops training THEN the stop is refused (too late, logged), never recorded as requested after the decision (soak seed 213987204)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws ec2 terminate-instances *", 1, "-", 1.5); // the terminate call takes 1.5 s
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await sandbox.waitFor("the terminate call", () => terminateCalls().length > 0);
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    expect((await launcher.done).code).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(existsSync(sandbox.path("run/gpu-training/stop-requested"))).toBe(false);
    expect(readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8")).toContain("the instance is terminating: service_stopped comes too late");
  });
});

describe("a launcher killed after its marker, before the attempt is recorded as ended", () => {
  it("GIVEN SUCCESS is written and the log upload after it hangs WHEN systemd kills the unit and runs ExecStopPost THEN SUCCESS stays the only marker (soak seed 2789948889)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 cp */training.log s3://*", 1, "-", 0); // the log upload before the marker
    sandbox.rule("aws s3 cp */training.log s3://*", "*", "-", 30); // the one after it hangs
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await sandbox.waitFor("the SUCCESS marker", () => sandbox.s3Exists(`runs/${RUN_ID}/SUCCESS`));
    expect(sandbox.killUnit(launcher)).toBeGreaterThan(0);
    await launcher.done;
    const post = await sandbox.run("bin/gti-launcher", ["post"], { SERVICE_RESULT: "signal" });
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(post.code, post.stderr).toBe(0);
  });
});

describe("a spot notice that arrives while the attempt is ending", () => {
  it("GIVEN the container exited 0 and the final sync is under way WHEN a notice's deadline cuts the uploads THEN INTERRUPTED (resumable), not a terminal FAILURE sync_failed (soak seed 1424374097)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 sync */checkpoints s3://*", 1, "-", 2); // the final checkpoint sync takes 2 s
    sandbox.rule("aws s3 sync */outputs s3://*", "*", "-", 30); // then the outputs would take 30 s
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    const watcher = sandbox.start("bin/gti-spot-watcher");
    await sandbox.waitFor("the final checkpoint sync", () => sandbox.callsOf("aws", `s3 sync ${join(sandbox.runDir("checkpoints"))}`).length > 0);
    sandbox.imds.spotNotice("terminate", 5);
    await Promise.all([launcher.done, watcher.done]);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption", exit_code: 0, failed: expect.arrayContaining(["outputs"]) });
    expect(terminateCalls()).toEqual([]);
  }, 20_000);
});

/** What the watcher's drain writes first (the reason, the deadline: `seconds` from now), before it flags the stop. */
function drainBegins(seconds: number): void {
  writeFileSync(sandbox.path("run/gpu-training/reason"), "spot_interruption\n");
  writeFileSync(sandbox.path("run/gpu-training/deadline"), `${Math.floor(Date.now() / 1000) + seconds}\n`);
}

describe("a spot notice while the launcher checks the marker", () => {
  it("GIVEN the marker check's first S3 call fails slowly WHEN a notice's deadline leaves no time to retry THEN INTERRUPTED, not a terminal FAILURE marker_check_failed (soak seed 238235557)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3api list-objects-v2 *", 1, 254, 1, "An error occurred (SlowDown)");
    const watcher = sandbox.start("bin/gti-spot-watcher");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await sandbox.waitFor("the marker check", () => sandbox.callsOf("aws", "s3api list-objects-v2").length > 0);
    sandbox.imds.spotNotice("terminate", 3); // its deadline less the marker's reserve leaves no time for a retry
    await Promise.all([launcher.done, watcher.done]);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption" });
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
  });

  it("GIVEN a drain that has written its deadline but not yet its flag WHEN the marker check runs out of time THEN INTERRUPTED, not FAILURE marker_check_failed (soak seed 1486870344)", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3api list-objects-v2 *", 1, 254, 1, "An error occurred (SlowDown)");
    const launcher = sandbox.start("bin/gti-launcher", ["run"]);
    await sandbox.waitFor("the marker check", () => sandbox.callsOf("aws", "s3api list-objects-v2").length > 0);
    drainBegins(1);
    await launcher.done;
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption" });
  });

  it("GIVEN a drain that has written its deadline but not yet its flag WHEN the restore runs out of time THEN INTERRUPTED, not FAILURE checkpoint_restore_failed (soak seed 1486870344)", async () => {
    sandbox = await Sandbox.create();
    sandbox.putMarker("INTERRUPTED");
    checkpointAt(sandbox.s3Path(`runs/${RUN_ID}/checkpoints`), 1, 100);
    writeFileSync(sandbox.s3Path(`runs/${RUN_ID}/checkpoints/LATEST.json`), JSON.stringify({ checkpoint: "checkpoint-1", type: "dir" }));
    sandbox.rule("aws s3 sync s3://*/outputs/ *", 1, "-", 1); // the restore's first download takes 1 s
    const launcher = sandbox.start("bin/gti-launcher", ["run"]);
    await sandbox.waitFor("the restore", () => sandbox.callsOf("aws", "s3 sync s3://").length > 0);
    drainBegins(1);
    await launcher.done;
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption" });
  });
});

/** A checkpoint-<step>/ (step file and COMPLETE) at `base`, its files `age` seconds old. */
function checkpointAt(base: string, step: number, age: number): void {
  const dir = join(base, `checkpoint-${step}`);
  mkdirSync(dir, { recursive: true });
  const t = Date.now() / 1000 - age;
  for (const [f, content] of [["step", String(step)], ["COMPLETE", ""]] as const) {
    writeFileSync(join(dir, f), content);
    utimesSync(join(dir, f), t, t);
  }
  utimesSync(dir, t, t);
}

describe("checkpoints left on the disk by an earlier boot of the instance", () => {
  it("GIVEN a rebalance recommendation while the attempt restores THEN no early sync runs before the container starts (soak seed 704246173)", async () => {
    sandbox = await Sandbox.create();
    checkpointAt(sandbox.runDir("checkpoints"), 6, 50); // the earlier boot's, never named by LATEST.json
    sandbox.rule("aws s3api list-objects-v2 *", "*", "-", 0.5); // every listing (the marker check, the restore) takes 0.5 s
    const watcher = sandbox.start("bin/gti-spot-watcher");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    await sandbox.waitFor("the restore's listing", () => sandbox.callsOf("aws", "s3api list-objects-v2").length >= 2);
    sandbox.imds.rebalance(); // seen while the attempt restores
    await launcher.done;
    const started = sandbox.callsOf("docker", "run --name")[0]?.t ?? 0;
    expect(started).toBeGreaterThan(0);
    expect(sandbox.callsOf("aws", `s3 sync ${sandbox.runDir("checkpoints")}`).filter((c) => c.t < started)).toEqual([]);
    watcher.child.kill("SIGKILL");
  });

  it("GIVEN a complete checkpoint left by an earlier boot whose LATEST.json update failed WHEN the next attempt starts afresh THEN the leftover never becomes LATEST.json: it would move back once training saves (soak seed 704246173)", async () => {
    sandbox = await Sandbox.create();
    const journal = join(sandbox.dir, "journal.jsonl");
    sandbox.putMarker("INTERRUPTED");
    checkpointAt(sandbox.runDir("checkpoints"), 6, 50);
    // A fresh start (no LATEST.json); a periodic sync every 0.3 s while it saves checkpoint-1 and -2 (0.4 s per step).
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "2", FAKE_STEP_SECONDS: "0.4", GTI_CHECKPOINT_INTERVAL_SECONDS: "0.3", FAKE_S3_JOURNAL: journal });
    const named = readFileSync(journal, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { key: string; body?: string })
      .filter((e) => e.key.endsWith("/LATEST.json")).map((e) => (JSON.parse(e.body ?? "{}") as { checkpoint: string }).checkpoint);
    expect(sandbox.containerEnv().RESUME_FROM).toBe("");
    expect(named).not.toContain("checkpoint-6");
    expect(named.at(-1)).toBe("checkpoint-2");
  });
});

describe("a brief S3 outage while the attempt restores its checkpoint", () => {
  it("GIVEN S3 fails the restore's checkpoint listing 3 times (fewer than GTI_S3_RETRIES) WHEN the attempt starts THEN it resumes and trains, not a terminal FAILURE checkpoint_restore_failed (soak seed 2117341507)", async () => {
    sandbox = await Sandbox.create();
    sandbox.putMarker("INTERRUPTED");
    checkpointAt(sandbox.s3Path(`runs/${RUN_ID}/checkpoints`), 1, 100);
    writeFileSync(sandbox.s3Path(`runs/${RUN_ID}/checkpoints/LATEST.json`), JSON.stringify({ checkpoint: "checkpoint-1", type: "dir" }));
    sandbox.rule(`aws s3api list-objects-v2 --bucket * --prefix runs/${RUN_ID}/checkpoints/ *`, 3, 1, 0, "An error occurred (ServiceUnavailable)");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_STEPS: "1", GTI_S3_RETRIES: "5" });
    await launcher.done;
    expect(sandbox.marker()).toMatchObject({ status: "SUCCESS", resumed_from: "/checkpoints/checkpoint-1" });
    expect(sandbox.callsOf("aws", `s3api list-objects-v2 --bucket outputs-bucket --prefix runs/${RUN_ID}/checkpoints/`)).toHaveLength(4);
  });
});

describe("a stop whose final sync cannot upload every checkpoint in its budget", () => {
  it("GIVEN several checkpoints not yet in S3 and an upload of all of them that outlasts the stop's deadline WHEN systemd stops training THEN LATEST.json names the newest complete one: it went first (soak seed 3583153054)", async () => {
    sandbox = await Sandbox.create();
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release, FAKE_STEP_SECONDS: "0.1" });
    const ckpt = sandbox.runDir("checkpoints");
    await sandbox.waitFor("checkpoint-4 on the disk", () => existsSync(join(ckpt, "checkpoint-4", "COMPLETE")));
    sandbox.rule(`aws s3 sync ${ckpt} s3://*`, "*", "-", 30); // uploading every checkpoint would take 30 s
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    await launcher.done;
    const onDisk = Math.max(...readdirSync(ckpt).filter((n) => /^checkpoint-\d+$/.test(n) && existsSync(join(ckpt, n, "COMPLETE"))).map((n) => Number(n.split("-")[1])));
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "service_stopped" });
    expect(JSON.parse(sandbox.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`))).toMatchObject({ checkpoint: `checkpoint-${onDisk}` });
  }, 30_000);
});

describe("an early sync that gets the sync lock after the attempt's finalize began", () => {
  it("GIVEN the attempt is ending (its finalize recorded its decision and synced) WHEN a periodic or rebalance sync that checked before then takes the sync lock THEN it uploads nothing: no LATEST.json after the marker (found reading soak seed 2474377474)", async () => {
    sandbox = await Sandbox.create();
    checkpointAt(sandbox.runDir("checkpoints"), 3, 50);
    sandbox.write("run/gpu-training/ending", "INTERRUPTED null service_stopped\n");
    const sync = await sandbox.run("bin/gti-launcher", ["sync"]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sandbox.callsOf("aws", `s3 sync ${sandbox.runDir("checkpoints")}`)).toEqual([]);
    expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/LATEST.json`)).toBe(false);
  });
});
