/**
 * The bootstrap (runtime/bin/gti-bootstrap, gpu-training-bootstrap.service) run for real against stubs: NVMe
 * instance store, NVIDIA container runtime, ECR login and pull, data sync, CloudWatch agent, and its failures.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DATA_BUCKET, ECR_URL, INSTANCE_ID, RUN_ID, type RunResult, Sandbox, type SandboxOptions, stubScript } from "../support/runtime/sandbox";

const EBS_ROOT = "/dev/nvme0n1 Amazon Elastic Block Store";
const STORE_1 = "/dev/nvme1n1 Amazon EC2 NVMe Instance Storage";
const STORE_2 = "/dev/nvme2n1 Amazon EC2 NVMe Instance Storage";
const CW_CTL = "opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";
const NVME = "opt/dlami/nvme";

let sandbox: Sandbox;

/** A sandbox that looks like a fresh GPU instance: block devices, input data in S3, optionally the CloudWatch agent. */
async function instance(options: SandboxOptions & { devices?: string[]; agent?: boolean } = {}): Promise<Sandbox> {
  const s = await Sandbox.create(options);
  s.stubState("lsblk", `${(options.devices ?? [EBS_ROOT, STORE_1]).join("\n")}\n`);
  mkdirSync(join(s.s3, DATA_BUCKET, "data", "shards"), { recursive: true });
  writeFileSync(join(s.s3, DATA_BUCKET, "data", "train.jsonl"), '{"text": "hello"}\n');
  writeFileSync(join(s.s3, DATA_BUCKET, "data", "shards", "0.jsonl"), '{"text": "world"}\n');
  if (options.agent !== false) {
    s.write(CW_CTL, stubScript("amazon-cloudwatch-agent-ctl"), 0o755);
  }
  return s;
}

const bootstrap = (env: Record<string, string> = {}) => sandbox.run("bin/gti-bootstrap", [], env);
const callLines = (cmd: string) => sandbox.calls(cmd).map((c) => c.args.join(" "));

describe("bootstrap: a fresh instance with one NVMe device, run twice", () => {
  let first: RunResult;
  let second: RunResult;
  let callsAfterFirst: number;
  beforeAll(async () => {
    sandbox = await instance();
    first = await bootstrap();
    callsAfterFirst = sandbox.calls().length;
    second = await bootstrap();
  });
  afterAll(async () => sandbox.cleanup());

  it("GIVEN an unformatted instance store WHEN bootstrapping THEN it is formatted, mounted at /opt/dlami/nvme and linked", () => {
    expect(first.code, first.stderr).toBe(0);
    expect(callLines("mkfs.ext4")).toEqual(["-q -F -m 0 -E nodiscard -L gti-nvme /dev/nvme1n1"]);
    expect(callLines("mount")).toEqual([`-o noatime /dev/nvme1n1 ${sandbox.path(NVME)}`]);
    expect(readlinkSync(sandbox.path("home/ubuntu/nvme"))).toBe(sandbox.path(NVME));
    expect(callLines("mdadm")).toEqual([]);
  });

  it("GIVEN ECR WHEN bootstrapping THEN it logs in with the password on stdin and pulls the configured image", () => {
    expect(callLines("docker")).toContain("login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com");
    expect(readFileSync(join(sandbox.state, "docker-login-stdin"), "utf8")).toBe("stub-ecr-password\n");
    expect(callLines("docker").join("\n")).not.toContain("stub-ecr-password");
    expect(callLines("docker")).toContain(`pull ${ECR_URL}:abc1234`);
  });

  it("GIVEN the NVIDIA runtime WHEN bootstrapping THEN the driver and the GPU inside the image are checked", () => {
    expect(callLines("nvidia-smi")).toContain("-L");
    expect(callLines("docker")).toContain(`run --rm --gpus all --entrypoint nvidia-smi ${ECR_URL}:abc1234 -L`);
    expect(callLines("nvidia-ctk")).toEqual([]);
  });

  it("GIVEN inputs under s3://<data bucket>/data/ WHEN bootstrapping THEN they are on the NVMe data directory", () => {
    expect(readFileSync(sandbox.path(`${NVME}/training/data/train.jsonl`), "utf8")).toBe('{"text": "hello"}\n');
    expect(readFileSync(sandbox.path(`${NVME}/training/data/shards/0.jsonl`), "utf8")).toBe('{"text": "world"}\n');
    expect(callLines("aws")).toContain(`s3 sync s3://${DATA_BUCKET}/data/ ${sandbox.path(`${NVME}/training/data`)}/ --only-show-errors`);
  });

  it("GIVEN the CloudWatch agent WHEN bootstrapping THEN it ships the three logs, the progress metrics log and the GPU, CPU, memory and disk metrics", () => {
    const file = sandbox.path("opt/aws/amazon-cloudwatch-agent/etc/gpu-training.json");
    expect(callLines("amazon-cloudwatch-agent-ctl")).toContain(`-a fetch-config -m ec2 -s -c file:${file}`);
    const config = JSON.parse(readFileSync(file, "utf8"));
    expect(config.metrics.namespace).toBe("GpuTraining/test");
    expect(config.metrics.append_dimensions).toEqual({ InstanceId: "${aws:InstanceId}", AutoScalingGroupName: "${aws:AutoScalingGroupName}" });
    expect(config.metrics.aggregation_dimensions).toEqual([["InstanceId"], []]);
    expect(config.metrics.metrics_collected.nvidia_gpu.measurement).toEqual([
      "utilization_gpu", "memory_used", "memory_total", "temperature_gpu", "power_draw",
    ]);
    expect(config.metrics.metrics_collected.cpu.measurement).toEqual(["usage_active"]);
    expect(config.metrics.metrics_collected.mem.measurement).toEqual(["used_percent"]);
    expect(config.metrics.metrics_collected.disk).toEqual({ measurement: ["used_percent"], resources: ["/", sandbox.path(NVME)] });
    expect(config.logs.logs_collected.files.collect_list).toEqual([
      { file_path: sandbox.path("var/log/training-setup.log"), log_group_name: "/gpu-training/test", log_stream_name: "{instance_id}/setup" },
      { file_path: sandbox.path("var/log/training.log"), log_group_name: "/gpu-training/test", log_stream_name: "{instance_id}/training" },
      { file_path: sandbox.path("var/log/training-runtime.log"), log_group_name: "/gpu-training/test", log_stream_name: "{instance_id}/runtime" },
      // The training progress metrics (EMF lines: the agent sends them as such, CloudWatch extracts the metrics)
      { file_path: sandbox.path("var/log/training-metrics.log"), log_group_name: "/gpu-training/test", log_stream_name: "{instance_id}/metrics" },
    ]);
  });

  it("GIVEN a bootstrap WHEN it runs THEN every step is logged to /var/log/training-setup.log", () => {
    const log = readFileSync(sandbox.path("var/log/training-setup.log"), "utf8");
    expect(log).toMatch(/step run[\s\S]*step mode[\s\S]*step nvme[\s\S]*step gpu[\s\S]*step image[\s\S]*step data[\s\S]*bootstrap complete/);
    const steps = log.split("\n").filter((line) => line.includes(": step "));
    expect(steps).toHaveLength(12); // six steps, two bootstraps
    for (const line of steps) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ bootstrap\[\d+\]: step \w+$/);
  });

  it("GIVEN a bootstrapped instance WHEN the bootstrap runs again THEN it succeeds without formatting or mounting again", () => {
    expect(second.code, second.stderr).toBe(0);
    const again = sandbox.calls().slice(callsAfterFirst);
    expect(again.filter((c) => ["mkfs.ext4", "mount", "mdadm"].includes(c.cmd))).toEqual([]);
    expect(readlinkSync(sandbox.path("home/ubuntu/nvme"))).toBe(sandbox.path(NVME));
    expect(sandbox.markers()).toEqual([]);
  });
});

describe("bootstrap: storage variants", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN two instance store devices WHEN bootstrapping THEN they become one RAID-0 array, formatted and mounted", async () => {
    sandbox = await instance({ devices: [EBS_ROOT, STORE_1, STORE_2] });
    expect((await bootstrap()).code).toBe(0);
    const md = sandbox.path("dev/md/gti-nvme");
    expect(callLines("mdadm")).toEqual([
      `--assemble ${md} /dev/nvme1n1 /dev/nvme2n1`,
      `--create ${md} --level=0 --raid-devices=2 --run /dev/nvme1n1 /dev/nvme2n1`,
    ]);
    expect(callLines("mkfs.ext4")).toEqual([`-q -F -m 0 -E nodiscard -L gti-nvme ${md}`]);
    expect(callLines("mount")).toEqual([`-o noatime ${md} ${sandbox.path(NVME)}`]);
  });

  it("GIVEN the AMI already mounted the instance store WHEN bootstrapping THEN it is used as it is", async () => {
    sandbox = await instance();
    sandbox.stubState("mounts", `${sandbox.path(NVME)}\n`);
    expect((await bootstrap()).code).toBe(0);
    expect([...callLines("mkfs.ext4"), ...callLines("mount"), ...callLines("mdadm")]).toEqual([]);
    expect(existsSync(sandbox.path(`${NVME}/training/data/train.jsonl`))).toBe(true);
  });

  it("GIVEN no instance store WHEN bootstrapping THEN it warns and uses a directory on the root volume", async () => {
    sandbox = await instance({ devices: [EBS_ROOT] });
    const result = await bootstrap();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("WARNING: no NVMe instance store");
    expect(existsSync(sandbox.path(`${NVME}/training/data/train.jsonl`))).toBe(true);
  });
});

describe("bootstrap: GPU runtime, agent installation and the run id", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN docker without the NVIDIA runtime WHEN bootstrapping THEN nvidia-ctk configures it and docker restarts", async () => {
    sandbox = await instance();
    sandbox.stubState("docker-runtimes", '{"io.containerd.runc.v2":{},"runc":{}}\n');
    expect((await bootstrap()).code).toBe(0);
    expect(callLines("nvidia-ctk")).toEqual(["runtime configure --runtime=docker"]);
    expect(callLines("systemctl")).toContain("restart docker");
  });

  it("GIVEN no CloudWatch agent on the AMI WHEN bootstrapping THEN its package is downloaded, installed and configured", async () => {
    sandbox = await instance({ agent: false });
    sandbox.imds.serveFile("/downloads/amazon-cloudwatch-agent.deb", "fake deb");
    sandbox.stubState("dpkg-creates", sandbox.path(CW_CTL));
    expect((await bootstrap()).code).toBe(0);
    expect(callLines("dpkg")).toContain(`-i -E ${sandbox.path("run/gpu-training/cwagent.deb")}`);
    expect(callLines("amazon-cloudwatch-agent-ctl")[0]).toMatch(/^-a fetch-config -m ec2 -s -c file:/);
  });

  it("GIVEN the agent package cannot be downloaded WHEN bootstrapping THEN it warns and the bootstrap still succeeds", async () => {
    sandbox = await instance({ agent: false });
    const result = await bootstrap();
    expect(result.code).toBe(0);
    expect(readFileSync(sandbox.path("var/log/training-setup.log"), "utf8")).toContain("WARNING: no CloudWatch agent: no metrics or CloudWatch logs");
    expect(callLines("docker")).toContain(`pull ${ECR_URL}:abc1234`);
  });

  it("GIVEN no GTI_RUN_ID WHEN bootstrapping THEN the run id comes from the RunId instance tag", async () => {
    sandbox = await instance({ config: { GTI_RUN_ID: "" }, imds: { tags: { RunId: "run-from-tag-7" } } });
    expect((await bootstrap()).code).toBe(0);
    expect(readFileSync(sandbox.path("var/lib/gpu-training/run-id"), "utf8")).toBe("run-from-tag-7 tag\n");
  });

  it("GIVEN neither GTI_RUN_ID nor a RunId tag WHEN bootstrapping THEN a run id is generated (not the instance id) and kept", async () => {
    sandbox = await instance({ config: { GTI_RUN_ID: "" } });
    expect((await bootstrap()).code).toBe(0);
    const generated = readFileSync(sandbox.path("var/lib/gpu-training/run-id"), "utf8");
    expect(generated).toMatch(/^run-\d{8}-\d{6}-[0-9a-f]{6} generated\n$/);
    expect(generated).not.toContain(INSTANCE_ID);
    await bootstrap();
    expect(readFileSync(sandbox.path("var/lib/gpu-training/run-id"), "utf8")).toBe(generated);
  });
});

describe("bootstrap: failures", () => {
  afterEach(async () => sandbox.cleanup());

  it("GIVEN the image cannot be pulled WHEN bootstrapping THEN it retries, writes FAILURE saying so and terminates", async () => {
    sandbox = await instance();
    sandbox.rule("docker pull *", "*", 1, 0, "manifest unknown");
    const result = await bootstrap();
    expect(result.code).not.toBe(0);
    const marker = sandbox.marker();
    expect(marker).toMatchObject({ status: "FAILURE", reason: "bootstrap_failed:image", exit_code: null, failed: ["image-pull"] });
    expect(marker.transfers).toContainEqual({ what: "image-pull", attempts: 3, ok: false });
    expect(marker.last_log_lines.join("\n")).toContain("bootstrap FAILED at step image");
    expect(sandbox.s3Exists(`runs/${RUN_ID}/logs/${INSTANCE_ID}/training-setup.log`)).toBe(true);
    expect(sandbox.callsOf("aws", "ec2 terminate-instances")).toHaveLength(1);
  });

  it("GIVEN an unsupported GTI_MODE WHEN bootstrapping THEN FAILURE names the mode step", async () => {
    sandbox = await instance({ config: { GTI_MODE: "cluster" } });
    expect((await bootstrap()).code).not.toBe(0);
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "bootstrap_failed:mode", mode: "cluster" });
  });

  it("GIVEN the run already succeeded WHEN a new instance bootstraps THEN it skips the pull and the data sync", async () => {
    sandbox = await instance();
    sandbox.putMarker("SUCCESS");
    expect((await bootstrap()).code).toBe(0);
    expect(callLines("docker")).toEqual([]);
    expect(callLines("aws").filter((c) => c.startsWith("s3 sync"))).toEqual([]);
    expect(sandbox.markers()).toEqual(["SUCCESS"]);
  });

  it("GIVEN no config file WHEN bootstrapping THEN it fails, saying which file is missing", async () => {
    sandbox = await instance();
    const result = await bootstrap({ GTI_CONFIG_FILE: join(sandbox.dir, "missing.env") });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`config file ${join(sandbox.dir, "missing.env")} is missing`);
  });
});
