/**
 * Regressions the chaos soak found (runtime/README.md, "Chaos soak"): each defect as the smallest scenario that shows
 * it, run for real against the sandbox. Each test names the soak seed that found it.
 */
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
