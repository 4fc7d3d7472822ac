/**
 * The sandbox's files, read and steered from the test: the stub calls and failure rules, files under GTI_ROOT, the
 * container's environment, the AWS world file, the fake S3 and the run's markers. {@link Sandbox} extends it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { AwsWorld } from "./aws-world";
import { OUTPUTS_BUCKET, RUN_ID } from "./sandbox-constants";
import type { Marker, StubCall } from "./sandbox-types";

export abstract class SandboxFiles {
  /** GTI_ROOT. */
  abstract readonly root: string;
  /** The directory standing in for S3 (one directory per bucket). */
  abstract readonly s3: string;
  /** The stubs' state directory (STUB_STATE). */
  abstract readonly state: string;
  /** The AWS world file (shared by the nodes of a fleet). */
  abstract readonly worldFile: string;

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
      for (const file of SandboxFiles.files(local)) {
        if (file.startsWith("tmp")) continue;
        const key = `runs/${runId}/${kind}/${file}`;
        if (!this.s3Exists(key) || !readFileSync(join(local, file)).equals(readFileSync(this.s3Path(key)))) lost.push(key);
      }
    }
    return lost;
  }
}
