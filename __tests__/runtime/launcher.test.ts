/**
 * The training launcher (runtime/bin/gti-launcher, training.service) run for real against stubs: a whole attempt,
 * from restoring a checkpoint to the marker and the self-termination.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { INSTANCE_ID, RUN_ID, type RunResult, Sandbox } from "../support/runtime/sandbox";

let sandbox: Sandbox;

const terminateCalls = () => sandbox.callsOf("aws", "ec2 terminate-instances");
const containerEnv = (): Record<string, string> => sandbox.containerEnv();

describe("gti-launcher: a normal run", () => {
  let result: RunResult;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
    result = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "3" });
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN a fresh run WHEN training exits 0 THEN checkpoints, outputs and logs are in S3 and the marker is SUCCESS", () => {
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    for (const step of [1, 2, 3]) expect(sandbox.s3Exists(`runs/${RUN_ID}/checkpoints/checkpoint-${step}/weights.bin`)).toBe(true);
    expect(sandbox.s3Read(`runs/${RUN_ID}/outputs/model.bin`)).toBe("model after 3 steps\n");
    expect(sandbox.s3Read(`runs/${RUN_ID}/logs/${INSTANCE_ID}/training.log`)).toContain("training finished at step 3");
    expect(sandbox.s3Read(`runs/${RUN_ID}/logs/${INSTANCE_ID}/training-runtime.log`)).toContain("marker SUCCESS written");
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN a successful run WHEN it ends THEN the SUCCESS marker JSON describes the attempt", () => {
    const marker = sandbox.marker();
    expect(marker).toMatchObject({
      status: "SUCCESS",
      run_id: RUN_ID,
      run_id_source: "config",
      reason: "completed",
      exit_code: 0,
      instance_id: INSTANCE_ID,
      instance_type: "g5.xlarge",
      lifecycle: "spot",
      mode: "single",
      image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/gpu-training-infra-training-training:abc1234",
      resumed_from: "",
      failed: [],
    });
    expect(marker.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(marker.ended_at)).toBeGreaterThanOrEqual(Date.parse(marker.started_at));
    expect(marker.last_log_lines.at(-1)).toBe("training finished at step 3");
    expect(marker.transfers.map((s) => s.what)).toEqual(expect.arrayContaining(["checkpoints", "LATEST.json", "outputs", "logs"]));
    expect(marker.transfers.every((s) => s.ok)).toBe(true);
  });

  it("GIVEN a successful run WHEN it ends THEN LATEST.json points at the newest complete checkpoint", () => {
    const latest = JSON.parse(sandbox.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`)) as Record<string, string>;
    expect(latest).toMatchObject({ run_id: RUN_ID, checkpoint: "checkpoint-3", type: "dir", instance_id: INSTANCE_ID });
  });

  it("GIVEN a run WHEN it writes its marker THEN the only delete is of INTERRUPTED (the one the storage grant allows)", () => {
    expect(sandbox.callsOf("aws", "s3 rm").map((c) => c.args)).toEqual([["s3", "rm", `s3://outputs-bucket/runs/${RUN_ID}/INTERRUPTED`]]);
  });

  it("GIVEN auto shutdown on WHEN the run succeeded THEN the instance terminates itself, and only itself", () => {
    expect(terminateCalls().map((c) => c.args)).toEqual([["ec2", "terminate-instances", "--instance-ids", INSTANCE_ID]]);
    expect(terminateCalls()[0]?.env.AWS_REGION).toBe("us-east-1");
  });

  it("GIVEN a run WHEN the container starts THEN it gets the environment contract, GPUs and the NVMe mounts", () => {
    const run = sandbox.callsOf("docker", "run --name gti-training")[0]?.args ?? [];
    expect(run).toEqual(expect.arrayContaining(["--gpus", "all", "--rm", `${sandbox.path("opt/dlami/nvme/training/data")}:/data:ro`]));
    expect(run).toEqual(expect.arrayContaining([`${sandbox.runDir("checkpoints")}:/checkpoints`, `${sandbox.runDir("outputs")}:/outputs`]));
    expect(run.at(-1)).toBe("123456789012.dkr.ecr.us-east-1.amazonaws.com/gpu-training-infra-training-training:abc1234");
    expect(containerEnv()).toMatchObject({ DATA_DIR: "/data", CHECKPOINT_DIR: "/checkpoints", OUTPUT_DIR: "/outputs", RUN_ID, RESUME_FROM: "" });
    expect(containerEnv().HF_TOKEN_SHA256).toBeUndefined();
  });
});

describe("gti-launcher: auto shutdown off", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN auto shutdown off WHEN the run succeeded THEN nothing is terminated and the instance stays up", async () => {
    sandbox = await Sandbox.create({ config: { GTI_AUTO_SHUTDOWN: "false" } });
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(terminateCalls()).toEqual([]);
    expect(sandbox.callsOf("systemctl", "poweroff")).toEqual([]);
  });
});

describe("gti-launcher: a failing run", () => {
  let result: RunResult;
  beforeAll(async () => {
    sandbox = await Sandbox.create();
    result = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "2", FAKE_EXIT: "3" });
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN training exits 3 WHEN the run ends THEN the marker is FAILURE with exit code 3 and the last log lines", () => {
    expect(result.code).toBe(1);
    const marker = sandbox.marker();
    expect(marker).toMatchObject({ status: "FAILURE", exit_code: 3, reason: "training_failed", failed: [] });
    expect(marker.last_log_lines).toContain("training finished at step 2");
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN a failed run and auto shutdown on WHEN it ends THEN the instance terminates itself (no restart loop)", () => {
    expect(terminateCalls()).toHaveLength(1);
    expect(sandbox.callsOf("docker", "run --name gti-training")).toHaveLength(1);
  });
});

describe("gti-launcher: sync failures and restarts", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN the outputs sync fails twice WHEN the run ends THEN it is retried and the marker records 3 attempts", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 sync */outputs s3://*", 2, 1, 0, "upload failed: connection reset");
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    const marker = sandbox.marker();
    expect(marker.status).toBe("SUCCESS");
    expect(marker.transfers).toContainEqual({ what: "outputs", attempts: 3, ok: true });
    expect(sandbox.callsOf("aws", "s3 sync " + sandbox.runDir("outputs"))).toHaveLength(3);
    expect(sandbox.lostFiles()).toEqual([]);
    expect(terminateCalls()).toHaveLength(1);
  });

  it("GIVEN the outputs sync keeps failing WHEN the run ends THEN FAILURE says what failed and the instance is kept", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("aws s3 sync */outputs s3://*", "*", 1, 0, "upload failed: access denied");
    const result = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code).toBe(1);
    const marker = sandbox.marker();
    expect(marker).toMatchObject({ status: "FAILURE", reason: "sync_failed", exit_code: 0, failed: ["outputs"] });
    expect(marker.transfers).toContainEqual({ what: "outputs", attempts: 3, ok: false });
    expect(terminateCalls()).toEqual([]);
    expect(existsSync(join(sandbox.runDir("outputs"), "model.bin"))).toBe(true);
  });

  it("GIVEN the run already has a SUCCESS marker WHEN the launcher starts THEN it does not train again and shuts down", async () => {
    sandbox = await Sandbox.create();
    sandbox.putMarker("SUCCESS");
    const result = await sandbox.run("bin/gti-launcher", ["run"]);
    expect(result.code).toBe(0);
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
    expect(terminateCalls()).toHaveLength(1);
  });

  it("GIVEN the launcher crashed mid-run WHEN systemd runs ExecStopPost THEN the container is stopped and FAILURE written", async () => {
    sandbox = await Sandbox.create();
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release });
    await sandbox.waitFor("a checkpoint", () => existsSync(join(sandbox.runDir("checkpoints"), "checkpoint-1")));
    process.kill(launcher.child.pid ?? 0, "SIGKILL");
    await launcher.done;
    const post = await sandbox.run("bin/gti-launcher", ["post"], { SERVICE_RESULT: "signal" });
    expect(post.code, post.stderr).toBe(1);
    expect(sandbox.callsOf("docker", "stop --time 1 gti-training")).toHaveLength(1);
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "launcher_signal" });
    expect(sandbox.lostFiles()).toEqual([]);
    writeFileSync(release, "");
  });
});

describe("gti-launcher: stopping", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN a running attempt WHEN systemd stops training.service (SIGTERM) THEN the run is checkpointed and INTERRUPTED", async () => {
    sandbox = await Sandbox.create();
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(sandbox.dir, "never"), FAKE_CKPT_EVERY: "1000" });
    await sandbox.waitFor("the container", () => sandbox.callsOf("docker", "run --name").length > 0);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(launcher.child.pid ?? 0, "SIGTERM");
    const result = await launcher.done;
    expect(result.code).toBe(0);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "service_stopped", exit_code: 143 });
    expect(sandbox.s3Read(`runs/${RUN_ID}/checkpoints/LATEST.json`)).toMatch(/"checkpoint":"checkpoint-\d+"/);
    expect(terminateCalls()).toEqual([]);
    expect(sandbox.lostFiles()).toEqual([]);
  });
});

describe("gti-launcher: Hugging Face token", () => {
  const TOKEN = "hf_TestTokenThatMustNeverTouchTheDisk42";
  const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gpu-training-infra-test-hf-token-AbCdEf";
  afterEach(async () => sandbox.cleanup());

  /** Every file the run could have written: the instance's disk, "S3", the stubs' records (not the fake secret). */
  function filesContaining(needle: string): string[] {
    const hits: string[] = [];
    for (const dir of [sandbox.root, sandbox.s3, sandbox.state]) {
      for (const file of Sandbox.files(dir)) {
        if (dir === sandbox.state && file === "secret") continue;
        if (readFileSync(join(dir, file)).includes(needle)) hits.push(join(dir, file));
      }
    }
    return hits;
  }

  it("GIVEN a token in Secrets Manager WHEN the container runs THEN it gets HF_TOKEN and the token is on no disk or command line", async () => {
    sandbox = await Sandbox.create({ config: { GTI_HF_TOKEN_SECRET_ARN: SECRET_ARN } });
    sandbox.stubState("secret", TOKEN);
    const result = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code, result.stderr).toBe(0);
    expect(containerEnv().HF_TOKEN_SHA256).toBe(createHash("sha256").update(TOKEN).digest("hex"));
    expect(sandbox.callsOf("docker", "run --name")[0]?.args).toContain("HF_TOKEN"); // by name: the value comes from the environment
    expect(sandbox.callsOf("aws", "secretsmanager get-secret-value")[0]?.args).toContain(SECRET_ARN);
    expect(filesContaining(TOKEN)).toEqual([]);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  it("GIVEN the token secret has no value yet WHEN the run starts THEN it runs without HF_TOKEN and logs a warning", async () => {
    sandbox = await Sandbox.create({ config: { GTI_HF_TOKEN_SECRET_ARN: SECRET_ARN } });
    const result = await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(result.code).toBe(0);
    expect(readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8")).toContain(
      "WARNING: the HF token secret has no value: no HF_TOKEN",
    );
    expect(containerEnv().HF_TOKEN_SHA256).toBeUndefined();
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
  });

  it("GIVEN a key/value secret {\"HF_TOKEN\": ...} WHEN the run starts THEN the container gets the token value", async () => {
    sandbox = await Sandbox.create({ config: { GTI_HF_TOKEN_SECRET_ARN: SECRET_ARN } });
    sandbox.stubState("secret", JSON.stringify({ HF_TOKEN: TOKEN }));
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    expect(containerEnv().HF_TOKEN_SHA256).toBe(createHash("sha256").update(TOKEN).digest("hex"));
  });
});
