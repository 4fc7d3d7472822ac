/**
 * A throw-away machine for the on-instance runtime tests: a temp dir as GTI_ROOT, a directory standing in for S3, a
 * PATH of stubs (stubs/stub.sh) that record their calls and can be told to fail or be slow, a fake IMDS server, and
 * the config file the compute module would write. Scripts run for real (bash runtime/bin/...), asynchronously, so
 * the fake IMDS server (in this process) keeps answering. Fleet tests give each node its own sandbox (`peerOf`): its
 * own IMDS and disk, the first node's S3 and "AWS world" (the auto-scaling group and its instances, a JSON file the
 * `aws` stub reads and changes: see {@link AwsWorld}).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeImds, type FakeImdsOptions } from "./fake-imds";
import { environOf, killWhere } from "./processes";
import { DATA_BUCKET, ECR_URL, FAST_KNOBS, OUTPUTS_BUCKET, RUN_ID, RUNTIME_DIR, STUBBED_COMMANDS, STUBS_DIR } from "./sandbox-constants";
import { SandboxFiles } from "./sandbox-files";
import type { RunResult, Running } from "./sandbox-types";
import { realPython3, stubScript } from "./tools";

// The entry point of the sandbox: what moved out stays importable from here.
export { type AwsWorld, type FleetNode, fleetWorld } from "./aws-world";
export { DATA_BUCKET, ECR_URL, FAST_KNOBS, INSTANCE_ID, OUTPUTS_BUCKET, PROJECT_DIR, RUN_ID, RUNTIME_DIR, STUBBED_COMMANDS, STUBS_DIR } from "./sandbox-constants";
export type { Marker, RunResult, Running, StubCall } from "./sandbox-types";
export { bashSync, realPython3, stubScript } from "./tools";

export interface SandboxOptions {
  /** runtime.env values on top of the defaults (a value of `undefined` removes the key). */
  config?: Record<string, string | undefined>;
  imds?: FakeImdsOptions;
  /** Another node of the same fleet: this sandbox uses its S3 directory and its AWS world. */
  peerOf?: Sandbox;
}

export class Sandbox extends SandboxFiles {
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
    super();
    this.root = join(dir, "root");
    this.s3 = peer?.s3 ?? join(dir, "s3");
    this.worldFile = peer?.worldFile ?? join(dir, "aws-world.json");
    this.state = join(dir, "stub-state");
    this.bin = join(dir, "bin");
    for (const d of [this.root, this.bin, join(this.s3, OUTPUTS_BUCKET), join(this.s3, DATA_BUCKET), this.state]) {
      mkdirSync(d, { recursive: true });
    }
    for (const name of STUBBED_COMMANDS) writeFileSync(join(this.bin, name), stubScript(name), { mode: 0o755 });
    // The interpreter itself, not a version manager's shim: runtime/lib/progress.py (standard library only) runs on it.
    const python = realPython3();
    if (python !== undefined) symlinkSync(python, join(this.bin, "python3"));
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
      FAKE_AWS_ENDPOINT: this.imds.endpoint,
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


  /**
   * What systemd does at a unit's stop timeout: SIGKILL to every process of the unit's cgroup, here every process whose
   * environment holds the unit's GTI_TEST_UNIT (so also those in process groups of their own, e.g. under `timeout`).
   * The training container is not in the unit (docker runs it): the docker stub starts it with a clean environment.
   */
  killUnit(running: Running): number {
    const marker = `GTI_TEST_UNIT=${this.dir}:`;
    const own = (running.child.pid !== undefined && environOf(running.child.pid).find((e) => e.startsWith(marker))) || "";
    return killWhere((environ) => own !== "" && environ.includes(own));
  }

  /** Sends `signal` to every process of the unit named at {@link start} (also after its main process is gone). */
  signalUnit(unit: string, signal: NodeJS.Signals = "SIGKILL"): number {
    const own = `GTI_TEST_UNIT=${this.dir}:${unit}`;
    return killWhere((environ) => environ.includes(own), signal);
  }

  /**
   * The instance disappears: every process of this sandbox (units, their process groups, the container) is SIGKILLed,
   * again until none is left (a process may fork while the first pass runs).
   */
  killInstance(): number {
    let total = 0;
    for (let pass = 0; pass < 10; pass++) {
      const killed = killWhere((environ) => this.ownProcess(environ));
      if (killed === 0) break;
      total += killed;
    }
    return total;
  }

  /** Signals the (fake) training container's processes (0: only counts them); returns how many. */
  signalContainer(signal: NodeJS.Signals | 0): number {
    return killWhere((environ) => environ.includes(`HOME=${this.state}`), signal);
  }

  private ownProcess(environ: string[]): boolean {
    return environ.includes(`STUB_STATE=${this.state}`) || environ.includes(`HOME=${this.state}`) || environ.some((e) => e.startsWith(`GTI_TEST_UNIT=${this.dir}:`));
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
