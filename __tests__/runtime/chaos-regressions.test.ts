/**
 * Regressions the chaos soak found (runtime/README.md, "Chaos soak"): each defect as the smallest scenario that shows
 * it, run for real against the sandbox. Each test names the soak seed that found it.
 */
import { existsSync, readFileSync } from "node:fs";
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
});
