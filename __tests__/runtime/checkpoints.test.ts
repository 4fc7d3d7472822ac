/**
 * Checkpoint sync, the completeness contract (LATEST.json) and resuming a run on a replacement instance, with the
 * real runtime scripts against stubs.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RUN_ID, RUNTIME_DIR, Sandbox } from "../support/runtime/sandbox";

let sandbox: Sandbox;
afterEach(async () => sandbox?.cleanup());

const latest = () => JSON.parse(sandbox.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`)) as { checkpoint: string; type: string };

/** A local checkpoint directory, optionally `ageSeconds` old (every file and the directory). */
function localCheckpoint(name: string, ageSeconds = 0): string {
  const dir = join(sandbox.runDir("checkpoints"), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "weights.bin"), `weights of ${name}`);
  writeFileSync(join(dir, "step"), name.replace(/\D+/g, ""));
  const t = new Date(Date.now() - ageSeconds * 1000);
  for (const p of [join(dir, "weights.bin"), join(dir, "step"), dir]) utimesSync(p, t, t);
  return dir;
}

/** Runs `script` in bash as a runtime script would (lib/common.sh, init, the run resolved), in the sandbox. */
function withRuntime(script: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const bash = `set -euo pipefail; . "$0/lib/common.sh"; init "$RUNTIME_LOG"; resolve_run; ${script}`;
    const child = spawn("bash", ["-c", bash, RUNTIME_DIR], { env: sandbox.env(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

/** Puts checkpoints and a LATEST.json pointer in S3 as an earlier, interrupted attempt would have left them. */
function interruptedRunInS3(checkpoints: number[], pointer: number): void {
  for (const step of checkpoints) {
    const dir = sandbox.s3Path(`runs/${RUN_ID}/checkpoints/checkpoint-${step}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "step"), String(step));
    writeFileSync(join(dir, "weights.bin"), `weights ${step}`);
  }
  writeFileSync(
    sandbox.s3Path(`runs/${RUN_ID}/checkpoints/LATEST.json`),
    JSON.stringify({ run_id: RUN_ID, checkpoint: `checkpoint-${pointer}`, type: "dir" }),
  );
  sandbox.putMarker("INTERRUPTED");
}

describe("checkpoint completeness (LATEST.json)", () => {
  it("GIVEN a checkpoint that changes while the sync runs WHEN the sync ends THEN LATEST.json points at the older, stable one", async () => {
    sandbox = await Sandbox.create();
    localCheckpoint("checkpoint-1", 120);
    const writing = localCheckpoint("checkpoint-2");
    sandbox.rule("aws s3 sync */checkpoints s3://*", 1, "-", 2); // a slow upload: the file changes while it runs
    const sync = sandbox.run("bin/gti-launcher", ["sync"]);
    await sandbox.waitFor("the checkpoint upload to start", () => sandbox.callsOf("aws", "s3 sync").some((c) => c.args.some((a) => a.endsWith("/checkpoints"))));
    writeFileSync(join(writing, "optimizer.pt"), "still being written");
    expect((await sync).code).toBe(0);
    expect(latest().checkpoint).toBe("checkpoint-1");
    await sandbox.run("bin/gti-launcher", ["sync"]); // nothing changes any more: now it is complete
    expect(latest().checkpoint).toBe("checkpoint-2");
  });

  it("GIVEN a directory checkpoint indexed and uploaded WHEN the trainer rotates it away before LATEST.json is written THEN LATEST.json still says directory (soak seed 2656632927)", async () => {
    // A restore reads the type: "file" for a directory made the next attempt fail (checkpoint_restore_failed).
    sandbox = await Sandbox.create();
    localCheckpoint("checkpoint-4");
    const result = await withRuntime(
      `line=$(ckpt_index | tail -n 1); s3x checkpoints sync "$CKPT/checkpoint-4" "$S3RUN/checkpoints/checkpoint-4/"; rm -rf "$CKPT/checkpoint-4"; promote "$line"`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(latest()).toMatchObject({ checkpoint: "checkpoint-4", type: "dir" });
  });

  it("GIVEN a file checkpoint indexed and uploaded WHEN it is rotated away before LATEST.json is written THEN LATEST.json says file", async () => {
    sandbox = await Sandbox.create();
    mkdirSync(sandbox.runDir("checkpoints"), { recursive: true });
    writeFileSync(join(sandbox.runDir("checkpoints"), "model-4.pt"), "weights");
    const result = await withRuntime(
      `line=$(ckpt_index | tail -n 1); s3x checkpoints cp "$CKPT/model-4.pt" "$S3RUN/checkpoints/model-4.pt"; rm -f "$CKPT/model-4.pt"; promote "$line"`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(latest()).toMatchObject({ checkpoint: "model-4.pt", type: "file" });
  });

  it("GIVEN a settle time WHEN a periodic sync runs THEN a just-written checkpoint is uploaded but not yet LATEST", async () => {
    sandbox = await Sandbox.create({ config: { GTI_CHECKPOINT_SETTLE_SECONDS: "60" } });
    localCheckpoint("checkpoint-1", 300);
    localCheckpoint("checkpoint-2", 5);
    await sandbox.run("bin/gti-launcher", ["sync"]);
    expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/checkpoint-2/weights.bin`)).toBe(true);
    expect(latest().checkpoint).toBe("checkpoint-1");
  });

  it("GIVEN an in-progress tmp* entry WHEN syncing THEN it is neither uploaded nor chosen", async () => {
    sandbox = await Sandbox.create();
    localCheckpoint("checkpoint-1", 60);
    localCheckpoint("tmp-checkpoint-2");
    await sandbox.run("bin/gti-launcher", ["sync"]);
    expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/tmp-checkpoint-2/weights.bin`)).toBe(false);
    expect(latest().checkpoint).toBe("checkpoint-1");
  });

  it("GIVEN the checkpoint upload fails WHEN syncing THEN LATEST.json is not written", async () => {
    sandbox = await Sandbox.create();
    localCheckpoint("checkpoint-1", 60);
    sandbox.rule("aws s3 sync */checkpoints s3://*", "*", 1);
    expect((await sandbox.run("bin/gti-launcher", ["sync"])).code).not.toBe(0);
    expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/LATEST.json`)).toBe(false);
  });

  it("GIVEN a short interval WHEN training runs THEN checkpoints reach S3 during training, before the container exits", async () => {
    sandbox = await Sandbox.create();
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release, GTI_CHECKPOINT_INTERVAL_SECONDS: "0.3" });
    await sandbox.waitFor("LATEST.json during training", () => sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/LATEST.json`));
    expect(sandbox.markers()).toEqual([]);
    writeFileSync(release, "");
    expect((await launcher.done).code).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(sandbox.lostFiles()).toEqual([]);
  });
});

describe("resume", () => {
  it("GIVEN an INTERRUPTED run WHEN a replacement instance starts it THEN RESUME_FROM is the checkpoint LATEST.json names", async () => {
    sandbox = await Sandbox.create({ imds: { instanceId: "i-0replacement000000" } });
    interruptedRunInS3([1, 2, 3], 2); // checkpoint-3 was uploaded but never recorded complete
    const result = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "4" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/resuming from \S+\/checkpoint-2 at step 2/);
    expect(sandbox.calls("docker").find((c) => c.args[0] === "run")?.args).toContain("RESUME_FROM=/checkpoints/checkpoint-2");
    expect(existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-3", "step"))).toBe(true); // written again, not downloaded
    expect(sandbox.callsOf("aws", `s3 sync s3://outputs-bucket/runs/${RUN_ID}/checkpoints/checkpoint-2/`)).toHaveLength(1);
    expect(sandbox.callsOf("aws", `s3 sync s3://outputs-bucket/runs/${RUN_ID}/checkpoints/checkpoint-3`)).toEqual([]);
  });

  it("GIVEN a resumed run WHEN it succeeds THEN SUCCESS replaces INTERRUPTED (exactly one marker) and records the resume", async () => {
    sandbox = await Sandbox.create();
    interruptedRunInS3([1, 2], 2);
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "3" });
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(sandbox.marker().resumed_from).toBe("/checkpoints/checkpoint-2");
    expect(latest().checkpoint).toBe("checkpoint-3");
  });

  it("GIVEN a spot-interrupted attempt WHEN the run restarts on a fresh instance THEN it continues where it stopped, losing nothing", async () => {
    sandbox = await Sandbox.create();
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release });
    const watcher = sandbox.start("bin/gti-spot-watcher");
    await sandbox.waitFor("a checkpoint", () => existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-2")));
    sandbox.imds.spotNotice();
    await Promise.all([launcher.done, watcher.done]);
    const saved = latest().checkpoint;
    // A replacement instance: new instance id, empty disks, same run id and bucket.
    rmSync(sandbox.root, { recursive: true });
    sandbox.writeConfig({});
    sandbox.imds.set("meta-data/spot/instance-action", undefined);
    sandbox.imds.set("meta-data/instance-id", "i-0second00000000000");
    const resumed = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: String(Number(saved.split("-")[1]) + 2) });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`/checkpoints/${saved} at step ${saved.split("-")[1]}`);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    const attempts = sandbox.s3Read(`runs/${RUN_ID}/outputs/attempts.log`).trim().split("\n");
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toBe("start step=0 resume=");
    expect(attempts[1]).toMatch(new RegExp(`^start step=${saved.split("-")[1]} resume=\\S+/checkpoints/${saved}$`));
    expect(sandbox.s3Exists(`runs/${RUN_ID}/logs/i-0123456789abcdef0/training.log`)).toBe(true);
    expect(sandbox.s3Exists(`runs/${RUN_ID}/logs/i-0second00000000000/training.log`)).toBe(true);
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN LATEST.json cannot be downloaded WHEN the run starts THEN it fails with FAILURE instead of starting from scratch", async () => {
    sandbox = await Sandbox.create();
    interruptedRunInS3([1], 1);
    sandbox.rule("aws s3 sync s3://*/checkpoints/checkpoint-1/ *", "*", 1, 0, "download failed");
    await sandbox.run("bin/gti-launcher", ["run"]);
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "checkpoint_restore_failed", failed: ["resume"] });
  });
});
