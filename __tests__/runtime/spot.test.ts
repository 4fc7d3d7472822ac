/**
 * The spot watcher (runtime/bin/gti-spot-watcher) against the fake IMDSv2 server, with the launcher running a fake
 * training container: interruption notices, rebalance recommendations and the token flow.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FAST_KNOBS, RUN_ID, type Running, Sandbox } from "../support/runtime/sandbox";

const POLL_S = Number(FAST_KNOBS.GTI_SPOT_POLL_SECONDS);
const GRACE_S = 1; // GTI_SPOT_GRACE_SECONDS of the sandbox config
/** What the final syncs and the marker may take here, on a loaded 2-core CI machine (AWS leaves ~85 s of 120 s). */
const SYNC_BUDGET_S = 5;

let sandbox: Sandbox;
let release = "";

/** The launcher running a container that trains until released, and the watcher. */
async function trainingWithWatcher(env: Record<string, string> = {}, imdsEnv: Record<string, string> = {}) {
  sandbox = await Sandbox.create();
  release = join(sandbox.dir, "release");
  const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release, ...env });
  const watcher = sandbox.start("bin/gti-spot-watcher", [], imdsEnv);
  await sandbox.waitFor("two checkpoints", () => existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-2")));
  return { launcher, watcher };
}

async function interrupt(): Promise<number> {
  const t0 = Date.now();
  sandbox.imds.spotNotice("terminate", 120);
  await sandbox.waitFor("the INTERRUPTED marker", () => sandbox.s3Exists(`runs/${RUN_ID}/INTERRUPTED`));
  return (Date.now() - t0) / 1000;
}

const syncsOfCheckpoints = () => sandbox.callsOf("aws", `s3 sync ${sandbox.runDir("checkpoints")}`);

describe("spot watcher: interruption notice while training", () => {
  let procs: { launcher: Running; watcher: Running };
  let elapsed: number;
  beforeAll(async () => {
    procs = await trainingWithWatcher({ FAKE_CKPT_EVERY: "2" });
    elapsed = await interrupt();
    await Promise.all([procs.launcher.done, procs.watcher.done]);
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN training runs WHEN a spot notice appears THEN SIGTERM, final sync and INTERRUPTED fit the scaled window", () => {
    // Production: 5 s poll + 30 s grace + the syncs, inside the 120 s notice. Here: 0.1 s poll + 1 s grace.
    expect(elapsed).toBeLessThan(POLL_S + GRACE_S + SYNC_BUDGET_S);
    expect(sandbox.callsOf("docker", "stop --time 1 gti-training")).toHaveLength(1);
    const marker = sandbox.marker();
    expect(marker).toMatchObject({ status: "INTERRUPTED", reason: "spot_interruption", exit_code: 143 });
    expect(marker.last_log_lines.join("\n")).toMatch(/SIGTERM: emergency checkpoint at step \d+/);
  });

  it("GIVEN a spot notice WHEN handled THEN the emergency checkpoint is in S3 and LATEST.json points at it", () => {
    const emergency = /emergency checkpoint at step (\d+)/.exec(readFileSync(sandbox.path("var/log/training.log"), "utf8"))?.[1];
    const latest = JSON.parse(sandbox.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`)) as { checkpoint: string };
    expect(latest.checkpoint).toBe(`checkpoint-${emergency}`);
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN a spot notice WHEN handled THEN the launcher and the watcher exit 0 and nothing terminates the instance", async () => {
    expect((await procs.launcher.done).code).toBe(0);
    expect((await procs.watcher.done).code).toBe(0);
    expect(sandbox.callsOf("aws", "ec2 terminate-instances")).toEqual([]);
    expect(sandbox.callsOf("aws", "s3 rm")).toEqual([]);
    expect(sandbox.markers()).toEqual(["INTERRUPTED"]);
  });
});

describe("spot watcher: interruption notice, harder cases", () => {
  let procs: { launcher: Running; watcher: Running };
  afterEach(async () => {
    if (release && existsSync(sandbox.dir)) writeFileSync(release, "");
    release = "";
    await sandbox.cleanup();
  });

  it("GIVEN a container that ignores SIGTERM WHEN a spot notice appears THEN it is killed after the grace, still in time", async () => {
    procs = await trainingWithWatcher({ FAKE_IGNORE_TERM: "1" });
    const elapsed = await interrupt();
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_S);
    expect(elapsed).toBeLessThan(POLL_S + GRACE_S + SYNC_BUDGET_S);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", exit_code: 137 });
    expect(readFileSync(join(sandbox.state, "docker", "killed"), "utf8")).toContain("gti-training");
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN the final checkpoint sync fails twice WHEN a spot notice is handled THEN it is retried and the marker says so", async () => {
    procs = await trainingWithWatcher();
    sandbox.rule("aws s3 sync */checkpoints s3://*", 2, 1, 0, "upload failed: slow down");
    const elapsed = await interrupt();
    expect(elapsed).toBeLessThan(POLL_S + GRACE_S + SYNC_BUDGET_S);
    const marker = sandbox.marker();
    expect(marker.transfers).toContainEqual({ what: "checkpoints", attempts: 3, ok: true });
    expect(marker.failed).toEqual([]);
    await procs.launcher.done;
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN S3 keeps failing WHEN a spot notice is handled THEN retries stop before the instance action and the marker lists the failure", async () => {
    procs = await trainingWithWatcher({ GTI_S3_RETRIES: "1000" }, { GTI_S3_RETRIES: "1000" });
    sandbox.rule("aws s3 sync */outputs s3://*", "*", 1, 0, "upload failed: network unreachable");
    const t0 = Date.now();
    sandbox.imds.spotNotice("terminate", 6); // deadline for retries: the action time - 5 s
    await sandbox.waitFor("the INTERRUPTED marker", () => sandbox.s3Exists(`runs/${RUN_ID}/INTERRUPTED`), 15_000);
    expect(Date.now() - t0).toBeLessThan(6000);
    const marker = sandbox.marker();
    expect(marker.failed).toEqual(["outputs"]);
    expect(marker.transfers.find((s) => s.what === "outputs")?.attempts).toBeLessThan(1000);
  });

  it("GIVEN no attempt has started WHEN a spot notice appears THEN no marker is written and the launcher does not start", async () => {
    sandbox = await Sandbox.create();
    const watcher = sandbox.start("bin/gti-spot-watcher");
    sandbox.imds.spotNotice();
    expect((await watcher.done).code).toBe(0);
    const launcher = await sandbox.run("bin/gti-launcher", ["run"]);
    expect(launcher.code).toBe(0);
    expect(launcher.stderr).toContain("a spot interruption is pending: not starting");
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
    expect(sandbox.markers()).toEqual([]);
  });
});

describe("spot watcher: rebalance recommendation", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN training runs WHEN a rebalance recommendation appears THEN checkpoints are synced early, once, and training goes on", async () => {
    const { launcher } = await trainingWithWatcher();
    expect(syncsOfCheckpoints()).toHaveLength(0);
    sandbox.imds.rebalance();
    await sandbox.waitFor("LATEST.json", () => sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/LATEST.json`));
    expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/checkpoint-2/weights.bin`)).toBe(true);
    // The recommendation stays up while the watcher polls it several more times.
    const polled = () => sandbox.imds.requests.filter((r) => r.path.endsWith("/recommendations/rebalance")).length;
    const before = polled();
    await sandbox.waitFor("five more polls of the recommendation", () => polled() >= before + 5);
    expect(syncsOfCheckpoints()).toHaveLength(1);
    expect(sandbox.markers()).toEqual([]);
    expect(sandbox.callsOf("docker", "stop")).toEqual([]);
    writeFileSync(release, "");
    expect((await launcher.done).code).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
  });
});

describe("spot watcher: IMDSv2 token flow", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN a short token TTL WHEN polling THEN the token is renewed before it expires and no request is refused", async () => {
    sandbox = await Sandbox.create();
    const watcher = sandbox.start("bin/gti-spot-watcher", [], { GTI_IMDS_TOKEN_TTL: "2" });
    await new Promise((r) => setTimeout(r, 2200)); // longer than the TTL
    sandbox.imds.spotNotice();
    await watcher.done;
    expect(sandbox.imds.tokensIssued).toBeGreaterThanOrEqual(2);
    expect(sandbox.imds.rejected).toEqual([]);
    const gets = sandbox.imds.requests.filter((r) => r.method === "GET");
    expect(gets.length).toBeGreaterThan(10);
  });

  it("GIVEN the default TTL WHEN the watcher polls many times THEN one token serves every request (cached for the boot)", async () => {
    sandbox = await Sandbox.create();
    const watcher = sandbox.start("bin/gti-spot-watcher");
    await sandbox.waitFor("ten polls", () => sandbox.imds.requests.filter((r) => r.method === "GET").length > 10);
    sandbox.imds.spotNotice();
    await watcher.done;
    expect(sandbox.imds.tokensIssued).toBe(1);
    expect(sandbox.imds.rejected).toEqual([]);
  });

  it("GIVEN the token is revoked mid-run WHEN the next poll gets 401 THEN a new token is fetched and the notice still seen", async () => {
    sandbox = await Sandbox.create();
    const watcher = sandbox.start("bin/gti-spot-watcher");
    await sandbox.waitFor("a first poll", () => sandbox.imds.requests.some((r) => r.method === "GET"));
    sandbox.imds.revokeTokens();
    await sandbox.waitFor("a refused request", () => sandbox.imds.rejected.length > 0);
    sandbox.imds.spotNotice();
    expect((await watcher.done).stderr).toContain("SPOT INTERRUPTION notice");
    expect(sandbox.imds.tokensIssued).toBeGreaterThanOrEqual(2);
  });

  it("GIVEN the fake IMDS WHEN a request carries no token THEN it is refused with 401 (the flow the runtime must follow)", async () => {
    sandbox = await Sandbox.create();
    const res = await fetch(`${sandbox.imds.endpoint}/latest/meta-data/instance-id`);
    expect(res.status).toBe(401);
  });
});
