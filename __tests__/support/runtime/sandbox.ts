/**
 * A throw-away machine for the on-instance runtime tests: a temp dir as GTI_ROOT, a directory standing in for S3, a
 * PATH of stubs (stubs/stub.sh) that record their calls and can be told to fail or be slow, a fake IMDS server, and
 * the config file the compute module would write. Scripts run for real (bash runtime/bin/...), asynchronously, so
 * the fake IMDS server (in this process) keeps answering. Fleet tests give each node its own sandbox (`peerOf`): its
 * own IMDS and disk, the first node's S3 and "AWS world" (the auto-scaling group and its instances, a JSON file the
 * `aws` stub reads and changes: see {@link AwsWorld}).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { FakeImds, type FakeImdsOptions } from "./fake-imds";

export const PROJECT_DIR = join(__dirname, "..", "..", "..");
export const RUNTIME_DIR = join(PROJECT_DIR, "runtime");
export const STUBS_DIR = join(__dirname, "stubs");
/** Commands the runtime expects from the machine; each gets a recording stub on PATH. */
export const STUBBED_COMMANDS = [
  "aws", "docker", "nvidia-smi", "systemctl", "mdadm", "mkfs.ext4", "mount", "mountpoint", "lsblk", "blkid", "dpkg", "nvidia-ctk",
  "iptables",
] as const;

export const OUTPUTS_BUCKET = "outputs-bucket";
export const DATA_BUCKET = "data-bucket";
export const RUN_ID = "run-test-1";
export const INSTANCE_ID = "i-0123456789abcdef0";
export const ECR_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gpu-training-infra-training-training";

/** Fast timings for tests; every one of them has a production default asserted separately. */
export const FAST_KNOBS: Record<string, string> = {
  GTI_SPOT_POLL_SECONDS: "0.1",
  GTI_CHECKPOINT_INTERVAL_SECONDS: "3600",
  GTI_S3_RETRIES: "3",
  GTI_S3_BACKOFF_SECONDS: "0.05",
  GTI_NVME_WAIT_SECONDS: "0",
  GTI_STOP_WAIT_SECONDS: "20",
  GTI_FLEET_POLL_SECONDS: "0.1",
  GTI_DEADLINE_MARGIN_SECONDS: "1",
  GTI_MARKER_RESERVE_SECONDS: "1",
  GTI_FINAL_SYNC_SECONDS: "5",
  FAKE_STEP_SECONDS: "0.05",
};

export interface StubCall {
  t: number;
  cmd: string;
  args: string[];
  env: { AWS_REGION: string };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  done: Promise<RunResult>;
}

export interface SandboxOptions {
  /** runtime.env values on top of the defaults (a value of `undefined` removes the key). */
  config?: Record<string, string | undefined>;
  imds?: FakeImdsOptions;
  /** Another node of the same fleet: this sandbox uses its S3 directory and its AWS world. */
  peerOf?: Sandbox;
}

/** One instance of a fleet, for {@link fleetWorld}. */
export interface FleetNode {
  id: string;
  ip: string;
  /** EC2 LaunchTime, e.g. "2025-01-01T10:00:00+00:00". */
  launched: string;
  /** Its lifecycle state in the group ("InService", "Pending:Wait", ...); null: not a member of the group. */
  state?: string | null;
  /** EC2 state name. @default "running" */
  ec2State?: string;
}

/** What the `aws` stub knows about EC2 Auto Scaling and EC2 (API shapes; stubs/fake-aws.cjs). */
export interface AwsWorld {
  groups: {
    AutoScalingGroupName: string;
    DesiredCapacity: number;
    LifecycleHooks: string[];
    Instances: { InstanceId: string; LifecycleState: string }[];
  }[];
  instances: {
    InstanceId: string;
    PrivateIpAddress: string;
    LaunchTime: string;
    State: { Name: string };
    Tags: { Key: string; Value: string }[];
  }[];
}

/** A group `asg` (termination hook `<asg>-drain`) of desired capacity `desired` with these instances. */
export function fleetWorld(asg: string, desired: number, nodes: FleetNode[]): AwsWorld {
  return {
    groups: [
      {
        AutoScalingGroupName: asg,
        DesiredCapacity: desired,
        LifecycleHooks: [`${asg}-drain`],
        Instances: nodes.filter((n) => n.state !== null).map((n) => ({ InstanceId: n.id, LifecycleState: n.state ?? "InService" })),
      },
    ],
    instances: nodes.map((n) => ({
      InstanceId: n.id,
      PrivateIpAddress: n.ip,
      LaunchTime: n.launched,
      State: { Name: n.ec2State ?? "running" },
      Tags: n.state === null ? [] : [{ Key: "aws:autoscaling:groupName", Value: asg }],
    })),
  };
}

export interface Marker {
  status: string;
  run_id: string;
  run_id_source: string;
  reason: string;
  exit_code: number | null;
  instance_id: string;
  instance_type: string;
  lifecycle: string;
  mode: string;
  image: string;
  started_at: string;
  ended_at: string;
  resumed_from: string;
  transfers: { what: string; attempts: number; ok: boolean }[];
  failed: string[];
  /** What the failed uploads left on the instance only (checkpoints/<name>, outputs/, logs/). */
  not_uploaded: string[];
  last_log_lines: string[];
}

export class Sandbox {
  readonly root: string;
  readonly s3: string;
  readonly state: string;
  readonly bin: string;
  /** The AWS world file (shared by the nodes of a fleet). */
  readonly worldFile: string;
  private readonly children = new Set<ChildProcess>();
  private units = 0;

  private constructor(
    readonly dir: string,
    readonly imds: FakeImds,
    peer?: Sandbox,
  ) {
    this.root = join(dir, "root");
    this.s3 = peer?.s3 ?? join(dir, "s3");
    this.worldFile = peer?.worldFile ?? join(dir, "aws-world.json");
    this.state = join(dir, "stub-state");
    this.bin = join(dir, "bin");
    for (const d of [this.root, this.bin, join(this.s3, OUTPUTS_BUCKET), join(this.s3, DATA_BUCKET), this.state]) {
      mkdirSync(d, { recursive: true });
    }
    for (const name of STUBBED_COMMANDS) {
      writeFileSync(join(this.bin, name), `#!/usr/bin/env bash\nSTUB_NAME=${name} exec bash '${join(STUBS_DIR, "stub.sh")}' "$@"\n`, {
        mode: 0o755,
      });
    }
  }

  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    const imds = await FakeImds.start(options.imds);
    const sandbox = new Sandbox(mkdtempSync(join(tmpdir(), "gti-runtime-")), imds, options.peerOf);
    sandbox.writeConfig(options.config ?? {});
    return sandbox;
  }

  /** The config file as the compute module writes it: KEY='value' lines. */
  writeConfig(overrides: Record<string, string | undefined>): void {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const values: Record<string, string | undefined> = {
      GTI_PROJECT: "gpu-training-infra",
      GTI_ENVIRONMENT: "test",
      AWS_REGION: "us-east-1",
      GTI_DATA_BUCKET: DATA_BUCKET,
      GTI_DATA_PREFIX: "data/",
      GTI_OUTPUTS_BUCKET: OUTPUTS_BUCKET,
      GTI_ECR_REPOSITORY_URL: ECR_URL,
      GTI_IMAGE_TAG: "abc1234",
      GTI_RUN_ID: RUN_ID,
      GTI_AUTO_SHUTDOWN: "true",
      GTI_CHECKPOINT_INTERVAL_MINUTES: "15",
      GTI_SPOT_GRACE_SECONDS: "1",
      GTI_CHECKPOINT_SETTLE_SECONDS: "0",
      GTI_HF_TOKEN_SECRET_ARN: "",
      GTI_LOG_GROUP: "/gpu-training/test",
      GTI_METRICS_NAMESPACE: "GpuTraining/test",
      GTI_MODE: "single",
      GTI_CONTAINER_USER: `${uid}:${gid}`,
      ...overrides,
    };
    const lines = Object.entries(values)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}='${String(v).replace(/'/g, `'\\''`)}'`);
    this.write("etc/gpu-training/runtime.env", `${lines.join("\n")}\n`);
  }

  /** The environment a runtime script runs with: stubs first on PATH, test endpoints and fast knobs. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: this.dir,
      GTI_ROOT: this.root,
      GTI_IMDS_ENDPOINT: this.imds.endpoint,
      GTI_AWS_CLI: join(this.bin, "aws"),
      GTI_CW_AGENT_URL: `${this.imds.endpoint}/downloads/amazon-cloudwatch-agent.deb`,
      STUB_STATE: this.state,
      FAKE_S3: this.s3,
      FAKE_AWS_WORLD: this.worldFile,
      FAKE_TRAINER: join(STUBS_DIR, "fake-trainer.sh"),
      ...FAST_KNOBS,
      ...extra,
    };
  }

  /**
   * Starts runtime/<script> (e.g. "bin/gti-launcher") in its own process group, as a systemd unit would: every process
   * it starts carries `GTI_TEST_UNIT=<unit>` (a stand-in for the unit's cgroup; see {@link killUnit}).
   */
  start(script: string, args: string[] = [], env: Record<string, string> = {}, unit = `${script}-${++this.units}`): Running {
    const started = Date.now();
    const child = spawn("bash", [join(RUNTIME_DIR, script), ...args], {
      env: { ...this.env(env), GTI_TEST_UNIT: `${this.dir}:${unit}` },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<RunResult>((resolve) => {
      child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
    });
    return { child, done };
  }

  /** Runs runtime/<script> to completion (killed after timeoutMs). */
  async run(script: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
    const running = this.start(script, args, env);
    const timer = setTimeout(() => this.killGroup(running.child), timeoutMs);
    const result = await running.done;
    clearTimeout(timer);
    return result;
  }

  /** Polls until `check` returns a truthy value (or throws after timeoutMs). */
  async waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every stub call so far, optionally of one command. */
  calls(cmd?: string): StubCall[] {
    const file = join(this.state, "calls.jsonl");
    if (!existsSync(file)) return [];
    const all = readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as StubCall);
    return cmd ? all.filter((c) => c.cmd === cmd) : all;
  }

  /** Calls of `cmd` whose joined args start with `prefix` (e.g. calls("aws", "ec2 terminate-instances")). */
  callsOf(cmd: string, prefix: string): StubCall[] {
    return this.calls(cmd).filter((c) => c.args.join(" ").startsWith(prefix));
  }

  /**
   * Makes the next `times` calls matching `glob` (on "cmd args...") fail with `exitCode` (or "-" for only the delay),
   * after `delaySeconds`. `times` "*" = always. `window` ([from, until] epoch ms): only calls starting then, and the
   * delay "@end" lasts until the window's end (a call that hangs).
   */
  rule(glob: string, times: number | "*", exitCode: number | "-", delaySeconds: number | "@end" = 0, message = "simulated failure", window?: readonly [number, number]): void {
    const file = join(this.state, "rules");
    const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
    writeFileSync(file, `${previous}${glob}\t${times}\t${exitCode}\t${delaySeconds}\t${message}${window ? `\t${window[0]}-${window[1]}` : ""}\n`);
  }

  /** Writes a file under GTI_ROOT (path relative to it). */
  write(path: string, content: string, mode?: number): string {
    const full = join(this.root, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, content, mode === undefined ? undefined : { mode });
    return full;
  }

  /** The environment the (fake) training container got, as the docker stub recorded it (HF_TOKEN as its SHA-256). */
  containerEnv(name = "gti-training"): Record<string, string> {
    return Object.fromEntries(
      readFileSync(join(this.state, "docker", `${name}.env`), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  }

  /** Replaces the AWS world (auto-scaling groups and instances) the `aws` stub answers from. */
  setWorld(world: AwsWorld): void {
    writeFileSync(this.worldFile, JSON.stringify(world, null, 2));
  }

  /** The AWS world as the stubs left it (e.g. after terminate-instance-in-auto-scaling-group). */
  world(): AwsWorld {
    return JSON.parse(readFileSync(this.worldFile, "utf8")) as AwsWorld;
  }

  /** A stub-state file that steers the stubs (e.g. "lsblk", "secret", "docker-runtimes"). */
  stubState(name: string, content: string): void {
    writeFileSync(join(this.state, name), content);
  }

  path(path: string): string {
    return join(this.root, path);
  }

  /** Local (NVMe) directory of the run: checkpoints or outputs. */
  runDir(kind: "checkpoints" | "outputs", runId = RUN_ID): string {
    return this.path(`opt/dlami/nvme/training/runs/${runId}/${kind}`);
  }

  /** Path of an object in the fake S3. */
  s3Path(key: string, bucket = OUTPUTS_BUCKET): string {
    return join(this.s3, bucket, key);
  }

  s3Exists(key: string, bucket = OUTPUTS_BUCKET): boolean {
    return existsSync(this.s3Path(key, bucket));
  }

  s3Read(key: string, bucket = OUTPUTS_BUCKET): string {
    return readFileSync(this.s3Path(key, bucket), "utf8");
  }

  /** The markers present for a run (SUCCESS, FAILURE, INTERRUPTED). */
  markers(runId = RUN_ID): string[] {
    return ["SUCCESS", "FAILURE", "INTERRUPTED"].filter((m) => this.s3Exists(`runs/${runId}/${m}`));
  }

  /** The run's one marker, parsed; fails unless exactly one exists. */
  marker(runId = RUN_ID): Marker {
    const present = this.markers(runId);
    if (present.length !== 1) throw new Error(`expected exactly one marker, found [${present.join(", ")}]`);
    return JSON.parse(this.s3Read(`runs/${runId}/${present[0]}`)) as Marker;
  }

  /** Writes a marker as a previous attempt would have. */
  putMarker(kind: string, runId = RUN_ID): void {
    const full = this.s3Path(`runs/${runId}/${kind}`);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, JSON.stringify({ status: kind, run_id: runId }));
  }

  /** Relative paths of all files under a directory, sorted (empty if it does not exist). */
  static files(dir: string): string[] {
    if (!existsSync(dir)) return [];
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const entry of readdirSync(d)) {
        const full = join(d, entry);
        if (statSync(full).isDirectory()) walk(full);
        else out.push(relative(dir, full));
      }
    };
    walk(dir);
    return out.sort();
  }

  /**
   * "Nothing lost": every local checkpoint (except in-progress tmp* entries) and output file is in S3 with the same
   * content. Returns the differences (empty when nothing was lost).
   */
  lostFiles(runId = RUN_ID): string[] {
    const lost: string[] = [];
    for (const kind of ["checkpoints", "outputs"] as const) {
      const local = this.runDir(kind, runId);
      for (const file of Sandbox.files(local)) {
        if (file.startsWith("tmp")) continue;
        const key = `runs/${runId}/${kind}/${file}`;
        if (!this.s3Exists(key) || !readFileSync(join(local, file)).equals(readFileSync(this.s3Path(key)))) lost.push(key);
      }
    }
    return lost;
  }

  /**
   * What systemd does at a unit's stop timeout: SIGKILL to every process of the unit's cgroup, here every process whose
   * environment holds the unit's GTI_TEST_UNIT (so also those in process groups of their own, e.g. under `timeout`).
   * The training container is not in the unit (docker runs it): the docker stub starts it with a clean environment.
   */
  killUnit(running: Running): number {
    const marker = `GTI_TEST_UNIT=${this.dir}:`;
    const own = (running.child.pid !== undefined && Sandbox.environOf(running.child.pid).find((e) => e.startsWith(marker))) || "";
    return Sandbox.killWhere((environ) => own !== "" && environ.includes(own));
  }

  /** Sends `signal` to every process of the unit named at {@link start} (also after its main process is gone). */
  signalUnit(unit: string, signal: NodeJS.Signals = "SIGKILL"): number {
    const own = `GTI_TEST_UNIT=${this.dir}:${unit}`;
    return Sandbox.killWhere((environ) => environ.includes(own), signal);
  }

  /**
   * The instance disappears: every process of this sandbox (units, their process groups, the container) is SIGKILLed,
   * again until none is left (a process may fork while the first pass runs).
   */
  killInstance(): number {
    let total = 0;
    for (let pass = 0; pass < 10; pass++) {
      const killed = Sandbox.killWhere((environ) => this.ownProcess(environ));
      if (killed === 0) break;
      total += killed;
    }
    return total;
  }

  /** Signals the (fake) training container's processes (0: only counts them); returns how many. */
  signalContainer(signal: NodeJS.Signals | 0): number {
    return Sandbox.killWhere((environ) => environ.includes(`HOME=${this.state}`), signal);
  }

  private ownProcess(environ: string[]): boolean {
    return environ.includes(`STUB_STATE=${this.state}`) || environ.includes(`HOME=${this.state}`) || environ.some((e) => e.startsWith(`GTI_TEST_UNIT=${this.dir}:`));
  }

  /** The NUL-separated environment of a process ([] when it is gone or not ours). */
  private static environOf(pid: number): string[] {
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
    } catch {
      return [];
    }
  }

  /** Signals (SIGKILL) every process whose environment matches; returns how many. */
  private static killWhere(match: (environ: string[]) => boolean, signal: NodeJS.Signals | 0 = "SIGKILL"): number {
    let killed = 0;
    for (const entry of readdirSync("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      if (!match(Sandbox.environOf(pid))) continue;
      try {
        process.kill(pid, signal);
        killed++;
      } catch {
        // gone meanwhile
      }
    }
    return killed;
  }

  private killGroup(child: ChildProcess): void {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /** Stops what this sandbox started (its own process groups only), the fake IMDS, and removes the temp dir. */
  async cleanup(): Promise<void> {
    for (const child of this.children) {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // the group is gone
        }
      }
    }
    // And what left those groups (process groups of their own: early syncs, `timeout`, the fake container).
    this.killInstance();
    await this.imds.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
