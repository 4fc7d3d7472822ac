/**
 * runtime/fetch-runtime.sh, the user data's one command, run for real against the sandbox: it fetches the runtime
 * bundle (rendered by the compute module from runtime/) from the fake S3, checks its SHA-256, unpacks it under
 * /opt/gpu-training and runs the unpacked install.sh; it retries, and gives up (powering off) on a missing or
 * different bundle.
 */
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeBundle, installedContent, readRuntimeFiles, renderRuntimeBundle } from "../../modules/training-compute/user-data";
import { OUTPUTS_BUCKET, RUNTIME_DIR, Sandbox } from "../support/runtime/sandbox";

let sandbox: Sandbox;
let bundle: RuntimeBundle;
const FAST = { GTI_FETCH_BACKOFF_SECONDS: "0", GTI_FETCH_ATTEMPTS: "3" };

beforeAll(() => {
  bundle = renderRuntimeBundle(readRuntimeFiles());
});
afterEach(async () => sandbox.cleanup());

/** Puts the bundle where Terraform uploads it; returns its S3 URI. */
function upload(text = bundle.text, key = bundle.key): string {
  const path = sandbox.s3Path(key);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return `s3://${OUTPUTS_BUCKET}/${key}`;
}

describe("fetch-runtime.sh", () => {
  it("GIVEN the bundle in S3 WHEN the user data's command runs THEN the runtime is unpacked under /opt/gpu-training and installed", async () => {
    sandbox = await Sandbox.create();
    const result = await sandbox.run("fetch-runtime.sh", [upload(), bundle.sha256], FAST);
    expect(result.code, result.stderr).toBe(0);
    for (const file of readRuntimeFiles()) {
      const installed = readFileSync(sandbox.path(`opt/gpu-training/${file.path}`));
      expect(installed.equals(installedContent(file.path, readFileSync(`${RUNTIME_DIR}/${file.path}`))), file.path).toBe(true);
    }
    // install.sh ran from the unpacked copy: its links point there, and the units are enabled.
    expect(readlinkSync(sandbox.path("usr/local/bin/training-status"))).toBe(sandbox.path("opt/gpu-training/bin/training-status"));
    expect(sandbox.callsOf("systemctl", "enable").map((c) => c.args.join(" "))).toEqual([
      "enable gpu-training-bootstrap.service training.service gpu-training-spot-watcher.service",
    ]);
    expect(sandbox.callsOf("aws", "s3 cp").map((c) => c.args.slice(0, 3).concat(c.args.slice(-2)))).toEqual([
      ["s3", "cp", `s3://${OUTPUTS_BUCKET}/${bundle.key}`, "--region", "us-east-1"],
    ]);
    expect(readFileSync(sandbox.path("var/log/training-setup.log"), "utf8")).toContain(`runtime ${bundle.sha256} installed`);
  });

  it("GIVEN S3 fails twice WHEN fetching THEN it retries and installs on the third attempt", async () => {
    sandbox = await Sandbox.create();
    const uri = upload();
    sandbox.rule("aws s3 cp s3://*/runtime/*", 2, 1, 0, "Unable to locate credentials");
    const result = await sandbox.run("fetch-runtime.sh", [uri, bundle.sha256], FAST);
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.callsOf("aws", "s3 cp")).toHaveLength(3);
    expect(sandbox.callsOf("systemctl", "enable")).toHaveLength(1);
  });

  it("GIVEN an object whose SHA-256 is not the user data's WHEN fetching THEN nothing is installed, the instance powers off, the log says why", async () => {
    sandbox = await Sandbox.create();
    const uri = upload(`${bundle.text}echo tampered\n`);
    const result = await sandbox.run("fetch-runtime.sh", [uri, bundle.sha256], FAST);
    expect(result.code).toBe(1);
    expect(sandbox.callsOf("aws", "s3 cp")).toHaveLength(3);
    expect(() => readFileSync(sandbox.path("opt/gpu-training/install.sh"))).toThrow();
    expect(sandbox.callsOf("systemctl", "enable")).toEqual([]);
    expect(sandbox.callsOf("systemctl", "poweroff")).toHaveLength(1);
    expect(result.stderr).toContain(`ERROR: no runtime with SHA-256 ${bundle.sha256} at ${uri} after 3 attempts`);
  });

  it("GIVEN a missing bundle and auto shutdown off WHEN fetching THEN it gives up without powering off", async () => {
    sandbox = await Sandbox.create({ config: { GTI_AUTO_SHUTDOWN: "false" } });
    const result = await sandbox.run("fetch-runtime.sh", [`s3://${OUTPUTS_BUCKET}/${bundle.key}`, bundle.sha256], FAST);
    expect(result.code).toBe(1);
    expect(sandbox.callsOf("systemctl", "poweroff")).toEqual([]);
  });
});
