/**
 * Runtime integrity (issue 13), run for real against the sandbox: no partial checkpoint ever becomes LATEST.json, every
 * step after a spot notice is bounded by the notice's deadline, a requested stop is never a FAILURE, and a failed
 * marker check ends the attempt with FAILURE. The measured notice->marker times are printed (runtime/README.md).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RUN_ID, Sandbox } from "../support/runtime/sandbox";

let sandbox: Sandbox;
afterEach(async () => sandbox?.cleanup());

const latest = () => JSON.parse(sandbox.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`)) as { checkpoint: string };
const terminateCalls = () => sandbox.callsOf("aws", "ec2 terminate-instances");
const runtimeLog = () => readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8");

describe("checkpoint completeness: a half-written checkpoint never becomes LATEST.json", () => {
  it.each(["1", "143"])("GIVEN a trainer without the contract that dies mid-save with exit %s WHEN the attempt ends THEN LATEST.json stays at checkpoint-1", async (code) => {
    sandbox = await Sandbox.create();
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_CRASH_MID_SAVE: "1", FAKE_EXIT: code });
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "training_failed", exit_code: Number(code) });
    expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/checkpoint-2/optimizer.pt`)).toBe(true); // uploaded, never named
    expect(latest().checkpoint).toBe("checkpoint-1");
  });

  it("GIVEN a trainer that follows the contract WHEN it dies writing its next checkpoint THEN LATEST.json is the last one with COMPLETE", async () => {
    sandbox = await Sandbox.create();
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "2", FAKE_PARTIAL_AT_EXIT: "1", FAKE_EXIT: "1" });
    expect(existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-3", "optimizer.pt"))).toBe(true); // the newest, partial
    expect(latest().checkpoint).toBe("checkpoint-2");
  });

  it("GIVEN LATEST.json names the newest checkpoint WHEN an attempt fails at once (its newest is suspect) THEN LATEST.json does not move back", async () => {
    sandbox = await Sandbox.create();
    const fs = await import("node:fs");
    const now = Date.now() / 1000;
    for (const [step, age] of [[4, 100], [5, 10]] as const) {
      for (const base of [sandbox.s3Path(`runs/${RUN_ID}/checkpoints/checkpoint-${step}`), join(sandbox.runDir("checkpoints"), `checkpoint-${step}`)]) {
        fs.mkdirSync(base, { recursive: true });
        writeFileSync(join(base, "step"), String(step));
        for (const p of [join(base, "step"), base]) fs.utimesSync(p, now - age, now - age);
      }
    }
    writeFileSync(sandbox.s3Path(`runs/${RUN_ID}/checkpoints/LATEST.json`), JSON.stringify({ checkpoint: "checkpoint-5", type: "dir", mtime: now - 10 }));
    sandbox.putMarker("INTERRUPTED");
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "0", FAKE_EXIT: "1" }); // resumes at step 5, exits 1 at once
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", exit_code: 1 });
    expect(latest().checkpoint).toBe("checkpoint-5");
  });
});

describe("spot notice: every step bounded by the notice's deadline", () => {
  /**
   * A long in-flight rebalance sync (12 s) when a notice with 6 s left arrives; returns notice->marker seconds and the
   * seconds from the notice to AWS's action time (the notice's `time`, whole seconds, as AWS writes it).
   */
  async function overlap(hang: boolean): Promise<{ seconds: number; action: number }> {
    sandbox = await Sandbox.create();
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release, FAKE_STEP_SECONDS: "0.2" });
    const watcher = sandbox.start("bin/gti-spot-watcher");
    await sandbox.waitFor("a checkpoint", () => existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-1", "COMPLETE")));
    sandbox.rule("aws s3 sync */checkpoints s3://*", 1, "-", 12); // the rebalance sync: 12 s
    if (hang) for (const glob of ["aws s3 sync *", "aws s3 cp *.log *"]) sandbox.rule(glob, "*", "-", 1000); // then every upload hangs
    sandbox.imds.rebalance();
    await sandbox.waitFor("the in-flight early sync", () => existsSync(join(sandbox.root, "run/gpu-training/sync.pgid")));
    const t0 = Date.now();
    sandbox.imds.spotNotice("terminate", 6);
    await sandbox.waitFor("the INTERRUPTED marker", () => sandbox.s3Exists(`runs/${RUN_ID}/INTERRUPTED`), 20_000);
    const seconds = (Date.now() - t0) / 1000;
    const action = (Math.floor((t0 + 6000) / 1000) * 1000 - t0) / 1000;
    console.log(`notice -> INTERRUPTED marker: ${seconds.toFixed(2)} s (${hang ? "S3 calls hang" : "12 s in-flight sync"}; AWS's action ${action.toFixed(2)} s after the notice)`);
    await Promise.all([launcher.done, watcher.done]);
    return { seconds, action };
  }

  it("GIVEN a 12 s rebalance sync in flight WHEN a notice with 6 s left arrives THEN INTERRUPTED is written before the deadline", async () => {
    const { seconds, action } = await overlap(false);
    expect(seconds).toBeLessThan(action);
    const marker = sandbox.marker();
    expect(marker).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption" });
    expect(runtimeLog()).toMatch(/in-flight checkpoint sync \d+ stopped/);
  }, 30_000);

  it("GIVEN S3 calls that hang WHEN a notice with 6 s left arrives THEN INTERRUPTED is written in time and says what was not uploaded", async () => {
    const { seconds, action } = await overlap(true);
    expect(seconds).toBeLessThan(action);
    const marker = sandbox.marker();
    expect(marker.failed).toEqual(expect.arrayContaining(["checkpoints", "outputs", "logs"]));
    expect(marker.not_uploaded).toEqual(expect.arrayContaining(["outputs/", "logs/"]));
    expect(marker.not_uploaded.some((k) => k.startsWith("checkpoints/checkpoint-"))).toBe(true);
  }, 30_000);

  it("GIVEN an INTERRUPTED marker listing lost uploads WHEN the next instance starts the run THEN it logs what was lost", async () => {
    sandbox = await Sandbox.create();
    const dir = sandbox.s3Path(`runs/${RUN_ID}`);
    require("node:fs").mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "INTERRUPTED"), JSON.stringify({ status: "INTERRUPTED", reason: "spot_interruption", not_uploaded: ["checkpoints/checkpoint-7", "outputs/"] }));
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(runtimeLog()).toContain('the interrupted attempt could not upload (lost with its instance): "checkpoints/checkpoint-7","outputs/"');
  });
});

describe("a requested stop is never a FAILURE", () => {
  it("GIVEN SIGTERM and a slow final sync WHEN systemd SIGKILLs the unit at its stop timeout and runs post (timeout) THEN INTERRUPTED, reason kept, no terminate", async () => {
    sandbox = await Sandbox.create();
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(sandbox.dir, "never") });
    await sandbox.waitFor("a checkpoint", () => existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-1", "COMPLETE")));
    sandbox.rule("aws s3 sync */checkpoints s3://*", "*", "-", 30); // the final sync takes 30 s
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    await sandbox.waitFor("the final sync", () => sandbox.callsOf("aws", `s3 sync ${sandbox.runDir("checkpoints")}`).length > 0);
    expect(sandbox.killUnit(launcher)).toBeGreaterThan(0); // TimeoutStopSec: SIGKILL to the whole unit
    await launcher.done;
    const post = await sandbox.run("bin/gti-launcher", ["post"], { SERVICE_RESULT: "timeout" });
    expect(post.code, post.stderr).toBe(0);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "service_stopped" });
    expect(terminateCalls()).toEqual([]);
  }, 30_000);

  it("GIVEN a long checkpoint restore WHEN systemd stops the service THEN the stop is honoured at once: INTERRUPTED, no container", async () => {
    sandbox = await Sandbox.create();
    const s3 = sandbox.s3Path(`runs/${RUN_ID}/checkpoints/checkpoint-1`);
    require("node:fs").mkdirSync(s3, { recursive: true });
    writeFileSync(join(s3, "step"), "1");
    writeFileSync(sandbox.s3Path(`runs/${RUN_ID}/checkpoints/LATEST.json`), JSON.stringify({ checkpoint: "checkpoint-1", type: "dir" }));
    sandbox.putMarker("INTERRUPTED");
    sandbox.rule("aws s3 sync s3://*/checkpoints/checkpoint-1/ *", "*", "-", 60); // a 60 s download
    const launcher = sandbox.start("bin/gti-launcher", ["run"]);
    await sandbox.waitFor("the restore", () => sandbox.callsOf("aws", "s3 sync s3://").some((c) => c.args[2]?.includes("checkpoint-1")));
    const t0 = Date.now();
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    const result = await launcher.done;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(result.code).toBe(0);
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "service_stopped" });
  }, 30_000);
});

describe("the marker check", () => {
  it("GIVEN the run's prefix cannot be listed WHEN the launcher starts THEN FAILURE says why and auto shutdown is followed", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3api list-objects-v2 *", "*", 254, 0, "An error occurred (AccessDenied)");
    const result = await sandbox.run("bin/gti-launcher", ["run"]);
    expect(result.code).toBe(1);
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "marker_check_failed" });
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
    expect(terminateCalls()).toHaveLength(1);
  });
});
