/**
 * install.sh, the systemd units, the on-box helpers (training-status, training-stop), the production defaults and
 * the quality gates of runtime/ (shellcheck, strict mode, comment stripping). Its size: the compute module's bundle tests.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stripShell } from "../../modules/training-compute/user-data";
import { RUNTIME_TIMINGS } from "../../src/config/sections/compute";
import { bashSync, RUN_ID, RUNTIME_DIR, Sandbox, STUBS_DIR } from "../support/runtime/sandbox";

let sandbox: Sandbox;

/** The files the compute module bundles for the instance: everything under runtime/ except *.md. */
function runtimeFiles(): string[] {
  return Sandbox.files(RUNTIME_DIR).filter((f) => !f.endsWith(".md"));
}
const scripts = () => runtimeFiles().filter((f) => f.startsWith("bin/") || f.endsWith(".sh"));

/** `[Section] Key=value` pairs of a unit file (a key given twice keeps the last value). */
function unit(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = "";
  for (const line of readFileSync(join(RUNTIME_DIR, "systemd", name), "utf8").split("\n")) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header?.[1]) section = header[1];
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (kv?.[1] && kv[2] !== undefined) out[`${section}.${kv[1]}`] = kv[2];
  }
  return out;
}

describe("install.sh", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN a fresh instance WHEN install.sh runs twice THEN the units, helper links and enabled services are the same", async () => {
    sandbox = await Sandbox.create();
    for (let i = 0; i < 2; i++) {
      const result = await sandbox.run("install.sh");
      expect(result.code, result.stderr).toBe(0);
      for (const u of readdirSync(join(RUNTIME_DIR, "systemd"))) {
        expect(readFileSync(sandbox.path(`etc/systemd/system/${u}`), "utf8")).toBe(readFileSync(join(RUNTIME_DIR, "systemd", u), "utf8"));
      }
      for (const helper of ["training-status", "training-stop"]) {
        expect(readlinkSync(sandbox.path(`usr/local/bin/${helper}`))).toBe(join(RUNTIME_DIR, "bin", helper));
      }
    }
    const systemctl = sandbox.calls("systemctl").map((c) => c.args.join(" "));
    const once = [
      "daemon-reload",
      "enable gpu-training-bootstrap.service training.service gpu-training-spot-watcher.service",
      "start --no-block gpu-training-spot-watcher.service training.service",
    ];
    expect(systemctl).toEqual([...once, ...once]);
  });
});

describe("install.sh: the stop timeout", () => {
  afterEach(async () => sandbox.cleanup());

  it.each([
    ["30", "60", "110"],
    ["90", "60", "200"],
    ["20", "120", "160"],
  ])("GIVEN a %s s grace and a %s s final sync budget WHEN installed THEN TimeoutStopSec is %s (grace + max(grace, sync) + reserve + 10)", async (grace, sync, expected) => {
    sandbox = await Sandbox.create({ config: { GTI_SPOT_GRACE_SECONDS: grace, GTI_FINAL_SYNC_SECONDS: sync, GTI_MARKER_RESERVE_SECONDS: "10" } });
    const result = await sandbox.run("install.sh", [], { GTI_MARKER_RESERVE_SECONDS: "10", GTI_FINAL_SYNC_SECONDS: sync });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(sandbox.path("etc/systemd/system/training.service.d/timeouts.conf"), "utf8")).toBe(`[Service]\nTimeoutStopSec=${expected}\n`);
  });
});

describe("systemd units", () => {
  it("GIVEN training.service WHEN the container exits THEN systemd does not restart it (the exit code is the result)", () => {
    expect(unit("training.service")["Service.Restart"]).toBe("no");
  });

  it("GIVEN training.service WHEN stopped THEN only the launcher gets SIGTERM and has time for the grace and the final sync", () => {
    const u = unit("training.service");
    expect(u["Service.KillMode"]).toBe("mixed");
    expect(Number(u["Service.TimeoutStopSec"])).toBeGreaterThanOrEqual(30 + 60);
    expect(Number(u["Service.TimeoutStopSec"])).toBeLessThan(120);
    expect(u["Service.ExecStopPost"]).toBe("/opt/gpu-training/bin/gti-launcher post");
  });

  it("GIVEN the units WHEN ordered THEN training waits for the bootstrap and docker, and stops before docker at shutdown", () => {
    const u = unit("training.service");
    expect(u["Unit.Requires"]).toContain("gpu-training-bootstrap.service");
    expect(u["Unit.After"]).toEqual(expect.stringContaining("gpu-training-bootstrap.service"));
    expect(u["Unit.After"]).toEqual(expect.stringContaining("docker.service"));
    expect(unit("gpu-training-spot-watcher.service")["Unit.After"]).toContain("docker.service");
    expect(unit("gpu-training-bootstrap.service")["Service.Type"]).toBe("oneshot");
  });

  it("GIVEN the unit files WHEN systemd-analyze verify reads them THEN systemd reports nothing", () => {
    if (spawnSync("systemd-analyze", ["--version"]).error) {
      console.log("SKIPPED systemd-analyze test: systemd-analyze is not installed");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "gti-units-"));
    try {
      const units = readdirSync(join(RUNTIME_DIR, "systemd"));
      for (const u of units) {
        const text = readFileSync(join(RUNTIME_DIR, "systemd", u), "utf8").replaceAll("/opt/gpu-training/", `${RUNTIME_DIR}/`);
        writeFileSync(join(dir, u), text);
      }
      writeFileSync(join(dir, "docker.service"), "[Service]\nExecStart=/bin/true\n"); // docker is on the AMI, not here
      const result = spawnSync("systemd-analyze", ["verify", ...units.map((u) => join(dir, u))], { encoding: "utf8", cwd: dir });
      expect(result.stdout + result.stderr).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GIVEN every unit WHEN installed THEN it starts on every boot and runs a script that exists under runtime/bin", () => {
    for (const name of readdirSync(join(RUNTIME_DIR, "systemd"))) {
      const u = unit(name);
      expect(u["Install.WantedBy"], name).toBe("multi-user.target");
      const [program] = (u["Service.ExecStart"] ?? "").split(" ");
      expect(program, name).toMatch(/^\/opt\/gpu-training\/bin\//);
      expect(existsSync(join(RUNTIME_DIR, (program ?? "").replace("/opt/gpu-training/", ""))), name).toBe(true);
    }
    expect(unit("gpu-training-spot-watcher.service")["Service.Restart"]).toBe("on-failure");
  });
});

describe("training-status and training-stop", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN a finished run WHEN training-status runs THEN it shows the state, run id, last checkpoint and GPU use", async () => {
    sandbox = await Sandbox.create();
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "2", GTI_CHECKPOINT_INTERVAL_SECONDS: "3600" });
    const status = await sandbox.run("bin/training-status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^state: +ended: SUCCESS/m);
    expect(status.stdout).toMatch(new RegExp(`^run id: +${RUN_ID} \\(from config\\)$`, "m"));
    expect(status.stdout).toMatch(/^last checkpoint: +checkpoint-2 \(complete in S3 at \d{4}-\d\d-\d\dT[\d:]+Z\)$/m);
    expect(status.stdout).toContain("0, NVIDIA A10G, 97 %, 20123 MiB, 23028 MiB, 61");
  });

  it("GIVEN a running container WHEN training-status runs THEN the state is training", async () => {
    sandbox = await Sandbox.create();
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: release });
    await sandbox.waitFor("the container", () => existsSync(join(sandbox.state, "docker", "gti-training.pid")));
    const status = await sandbox.run("bin/training-status");
    expect(status.stdout).toMatch(/^state: +training$/m);
    execFileSync("touch", [release]);
    await launcher.done;
  });

  it("GIVEN a running run WHEN training-stop runs THEN it is checkpointed, INTERRUPTED (manual_stop) and the instance stays up", async () => {
    sandbox = await Sandbox.create();
    const launcher = sandbox.start("bin/gti-launcher", ["run"], { FAKE_RELEASE_FILE: join(sandbox.dir, "never") });
    await sandbox.waitFor("the container", () => existsSync(join(sandbox.state, "docker", "gti-training.pid")));
    const stop = await sandbox.run("bin/training-stop");
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`run ${RUN_ID} stopped: INTERRUPTED marker written`);
    expect(stop.stdout).toContain("sudo systemctl start training");
    expect((await launcher.done).code).toBe(0);
    expect(sandbox.callsOf("docker", "stop --time 1 gti-training")).toHaveLength(1);
    expect(sandbox.marker()).toMatchObject({ status: "INTERRUPTED", reason: "manual_stop", exit_code: 143 });
    expect(sandbox.callsOf("aws", "ec2 terminate-instances")).toEqual([]);
    expect(sandbox.lostFiles()).toEqual([]);
  });

  it("GIVEN nothing is running WHEN training-stop runs THEN it says so and fails", async () => {
    sandbox = await Sandbox.create();
    const stop = await sandbox.run("bin/training-stop");
    expect(stop.code).toBe(1);
    expect(stop.stdout).toContain("no training attempt is running here");
  });
});

describe("production defaults", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN no test knobs and a minimal config WHEN the settings are printed THEN they are the production defaults", async () => {
    sandbox = await Sandbox.create({
      config: {
        GTI_SPOT_GRACE_SECONDS: undefined,
        GTI_CHECKPOINT_SETTLE_SECONDS: undefined,
        GTI_CHECKPOINT_INTERVAL_MINUTES: undefined,
        GTI_MODE: undefined,
        GTI_AUTO_SHUTDOWN: undefined,
        GTI_DATA_PREFIX: undefined,
        GTI_CONTAINER_USER: undefined,
      },
    });
    const result = bashSync([join(RUNTIME_DIR, "bin", "training-status"), "--settings"], { env: { PATH: process.env.PATH, GTI_ROOT: sandbox.root } });
    expect(result.status, result.stderr).toBe(0);
    expect(Object.fromEntries(result.stdout.trim().split("\n").map((l) => l.split(/=(.*)/s).slice(0, 2)))).toMatchObject({
      GTI_IMDS_ENDPOINT: "http://169.254.169.254",
      GTI_AWS_CLI: "aws",
      GTI_MODE: "single",
      GTI_NVME_MOUNT: "/opt/dlami/nvme",
      GTI_AUTO_SHUTDOWN: "true",
      GTI_SPOT_POLL_SECONDS: String(RUNTIME_TIMINGS.spotPollSeconds),
      GTI_SPOT_GRACE_SECONDS: "30",
      GTI_CHECKPOINT_INTERVAL_MINUTES: "15",
      GTI_CHECKPOINT_INTERVAL_SECONDS: "900",
      GTI_CHECKPOINT_SETTLE_SECONDS: "60",
      GTI_S3_RETRIES: "5",
      GTI_S3_BACKOFF_SECONDS: "2",
      GTI_IMDS_TOKEN_TTL: "21600",
      GTI_IMDS_TIMEOUT: "2",
      GTI_IMDS_RETRIES: "3",
      GTI_NVME_WAIT_SECONDS: "15",
      GTI_STOP_WAIT_SECONDS: "150",
      GTI_MARKER_LOG_LINES: "20",
      GTI_CONTAINER_USER: "1000:1000",
      GTI_DATA_PREFIX: "data/",
      GTI_FLEET_MASTER_PORT: "29500",
      GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "600",
      GTI_FLEET_POLL_SECONDS: "10",
      GTI_FLEET_REJOINS: "5",
      // What the config's drain rule (minimumDrainSeconds) assumes of the runtime:
      GTI_DEADLINE_MARGIN_SECONDS: String(RUNTIME_TIMINGS.deadlineMarginSeconds),
      GTI_MARKER_RESERVE_SECONDS: String(RUNTIME_TIMINGS.markerReserveSeconds),
      GTI_FINAL_SYNC_SECONDS: String(RUNTIME_TIMINGS.finalSyncSeconds),
      GTI_CREDENTIALS_REFRESH_SECONDS: "900",
      GTI_CREDENTIALS_DURATION_SECONDS: "3600",
      GTI_LOG_GROUP: "/gpu-training/test",
      GTI_METRICS_NAMESPACE: "GpuTraining/test",
      IMAGE: "123456789012.dkr.ecr.us-east-1.amazonaws.com/gpu-training-infra-training-training:abc1234",
    });
  });
});

describe("quality of runtime/", () => {
  it("GIVEN every runtime script and test stub WHEN shellcheck -x runs THEN it reports nothing", () => {
    const check = spawnSync("shellcheck", ["--version"]);
    if (check.error) {
      console.log("SKIPPED shellcheck test: shellcheck is not installed (apt-get install shellcheck)");
      return;
    }
    const files = [...scripts().map((f) => join(RUNTIME_DIR, f)), join(STUBS_DIR, "stub.sh"), join(STUBS_DIR, "fake-trainer.sh"), join(STUBS_DIR, "fake-progress-trainer.sh")];
    const result = spawnSync("shellcheck", ["-x", ...files], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("GIVEN every runtime script WHEN read THEN it runs bash in strict mode (set -euo pipefail)", () => {
    for (const f of scripts().filter((s) => !s.startsWith("lib/"))) {
      const text = readFileSync(join(RUNTIME_DIR, f), "utf8");
      expect(text.startsWith("#!/usr/bin/env bash\n"), f).toBe(true);
      expect(text, f).toMatch(/^set -euo pipefail$/m);
    }
  });

  it("GIVEN the sourced libraries lib/*.sh WHEN read THEN they declare bash for shellcheck and run nothing on their own", () => {
    const libs = scripts().filter((s) => s.startsWith("lib/"));
    expect(libs).toEqual(expect.arrayContaining(["lib/common.sh", "lib/fleet.sh"]));
    for (const f of libs) {
      const text = readFileSync(join(RUNTIME_DIR, f), "utf8");
      expect(text, f).toMatch(/^# shellcheck shell=bash\b/);
      expect(text.startsWith("#!"), f).toBe(false);
    }
  });

  it("GIVEN every runtime script WHEN installed without comments and indentation THEN bash parses it into the same code", () => {
    // `declare -f` prints a function as bash parsed it (no comments, its own layout): each script's whole text as the
    // body of a function must print identically before and after stripShell.
    const printed = (text: string): string => {
      const result = bashSync(["-c", 'eval "gti_script() {\n$1\n}" && declare -f gti_script', "bash", text]);
      expect(result.stderr).toBe("");
      return result.stdout;
    };
    for (const f of scripts()) {
      const original = readFileSync(join(RUNTIME_DIR, f), "utf8");
      const installed = stripShell(original);
      expect(installed.length, f).toBeLessThan(original.length);
      expect(printed(installed), f).toBe(printed(original));
    }
  });
});
