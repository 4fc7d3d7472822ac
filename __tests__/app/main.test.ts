/** main.ts run the way `npm run synth` runs it: a real process writing cdktf.out, or failing readably. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthCommand } from "../support/synth-command";

const PROJECT = join(__dirname, "..", "..");
const SYNTH = synthCommand();
const temp = mkdtempSync(join(tmpdir(), "gti-main-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function runMain(env: Record<string, string>) {
  return spawnSync(SYNTH.command, SYNTH.args, {
    cwd: PROJECT,
    encoding: "utf8",
    env: { ...process.env, ...SYNTH.env, ...env },
    timeout: 60_000,
  });
}

/** The issue-17 budget for the synth of every stack: peak resident set size of the node process. */
const SYNTH_RSS_BUDGET_MIB = 140;

describe("main.ts", () => {
  // One synth of the shipped env files (on a fresh clone the first one compiles every file and builds the guard's
  // bundle, filling the caches every later synth reads).
  const outdir = join(temp, "out");
  let result: ReturnType<typeof runMain>;
  beforeAll(() => {
    result = runMain({ CDKTF_OUTDIR: outdir });
  });

  it("GIVEN the env files WHEN run THEN every stack is written to <outdir>/stacks/<stack>/cdk.tf.json, and listed", () => {
    expect(result.status, result.stderr).toBe(0);
    for (const stack of ["bootstrap", "dev", "prod", "training"]) {
      expect(existsSync(join(outdir, "stacks", stack, "cdk.tf.json")), stack).toBe(true);
      expect(result.stdout).toContain(`  ${stack.padEnd("bootstrap".length)}  ${join(outdir, "stacks", stack, "cdk.tf.json")}`);
    }
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as { stacks: Record<string, unknown> };
    expect(Object.keys(manifest.stacks).sort()).toEqual(["bootstrap", "dev", "prod", "training"]);
    // The shipped examples' placeholders: one warning each, attributed to envs/_shared.ts (every env spreads it).
    expect(result.stderr).toMatch(/^ {2}envs\/_shared\.ts:\d+:\d+ {2}state\.bucket = "gpu-training-infra-tfstate-123456789012" \(envs dev, prod, training\)/m);
    expect(result.stderr).toMatch(/^ {2}envs\/_shared\.ts:\d+:\d+ {2}repository = "github\.com\/example-org\/gpu-training-infra"/m);
    expect(result.stderr.match(/state\.bucket = /g)).toHaveLength(1);
  });

  it(`GIVEN the caches a synth fills WHEN every stack is synthesized again THEN the process peaks under ${SYNTH_RSS_BUDGET_MIB} MiB resident`, () => {
    // package.json's synth caps V8's young generation (--max-semi-space-size): without it the peak was ~141 MiB. The
    // preload is what `npm run bench` measures with: the process's own VmHWM (its ru_maxrss would report this test
    // worker's size, which Linux carries across the fork + exec). A fresh clone's first synth compiles: more, once.
    const rssFile = join(temp, "rss");
    writeFileSync(rssFile, "");
    const preload = `--require ${join(PROJECT, "scripts", "bench-rss.cjs")}`;
    const warm = runMain({ CDKTF_OUTDIR: join(temp, "out-rss"), GTI_BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} ${preload}`.trim() });
    expect(warm.status, warm.stderr).toBe(0);
    const peaks = readFileSync(rssFile, "utf8").split("\n").filter(Boolean).map((kib) => Number(kib) / 1024);
    expect(peaks).toHaveLength(1);
    expect(peaks[0]).toBeLessThanOrEqual(SYNTH_RSS_BUDGET_MIB);
  });

  it("GIVEN cdktf.json WHEN `cdktf synth` runs the app THEN it is the command `npm run synth` runs (same flags, same hook)", () => {
    const app = (JSON.parse(readFileSync(join(PROJECT, "cdktf.json"), "utf8")) as { app: string }).app;
    expect(["node", ...SYNTH.args].join(" ")).toBe(app);
  });

  it("GIVEN a machine without terraform WHEN run THEN every stack still synthesizes (no synth-time binary check)", () => {
    // Only node on PATH: cdktf's own DataResource would run `terraform version` per terraform_data and fail here.
    const bin = join(temp, "node-only-bin");
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, "node"))) symlinkSync(process.execPath, join(bin, "node"));
    const outdir = join(temp, "out-no-terraform");
    const result = runMain({ CDKTF_OUTDIR: outdir, PATH: bin, TERRAFORM_BIN: "" });
    expect(result.status, result.stderr).toBe(0);
    expect(existsSync(join(outdir, "stacks", "prod", "cdk.tf.json"))).toBe(true);
  });

  it("GIVEN the cdktf CLI WHEN `cdktf synth` runs (as `cdktf deploy` does first) THEN it synthesizes every stack", () => {
    const outdir = join(temp, "cli-out");
    const result = spawnSync(join(PROJECT, "node_modules", ".bin", "cdktf"), ["synth", "--output", outdir], {
      cwd: PROJECT,
      encoding: "utf8",
      env: { ...process.env, CHECKPOINT_DISABLE: "1", CI: "1" },
      timeout: 120_000,
    });
    expect(result.status, result.stderr || result.stdout).toBe(0);
    for (const stack of ["bootstrap", "dev", "prod", "training"]) {
      expect(existsSync(join(outdir, "stacks", stack, "cdk.tf.json")), stack).toBe(true);
    }
  }, 120_000);

  it("GIVEN a bad env file WHEN run THEN it exits 1 with the readable message and no stack trace", () => {
    const envs = join(temp, "bad-envs");
    mkdirSync(envs);
    writeFileSync(
      join(envs, "dev.ts"),
      `export default { name: "dev", region: "us-east-1", repository: "r", state: { bucket: "s-tfstate", region: "us-east-1" }, compute: { instanceType: "t3.micro" } };\n`,
    );
    const result = runMain({ GTI_ENVS_DIR: envs, CDKTF_OUTDIR: join(temp, "bad-out") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('bad-envs/dev.ts:1:133  compute.instanceType = "t3.micro": not an NVIDIA GPU instance type');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("GIVEN a broken env WHEN `cdktf deploy` runs the app THEN the problems are printed once, unprefixed, and nothing deploys", () => {
    const envs = join(temp, "cli-bad-envs");
    mkdirSync(envs);
    writeFileSync(join(envs, "_shared.ts"), 'export const shared = { repository: "r", state: { bucket: "s-tfstate", region: "us-east-1" } };\n');
    writeFileSync(join(envs, "dev.ts"), 'import { shared } from "./_shared";\nexport default { ...shared, name: "dev", region: "us-east-1", compute: { instanceType: "g5.3xlarge" } };\n');
    writeFileSync(join(envs, "training.ts"), 'import { shared } from "./_shared";\nexport default { ...shared, name: "training", region: "mars-1" };\n');
    // `deploy` synthesizes first; the app stops it there (no terraform runs, nothing needs credentials).
    const result = spawnSync(join(PROJECT, "node_modules", ".bin", "cdktf"), ["deploy", "training", "--output", join(temp, "cli-bad-out")], {
      cwd: PROJECT,
      encoding: "utf8",
      env: { ...process.env, CHECKPOINT_DISABLE: "1", CI: "1", GTI_ENVS_DIR: envs },
      timeout: 120_000,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status).toBe(1);
    // Both envs' problems, each exactly once, never behind cdktf's "[ERROR] default -" prefix.
    expect(output.match(/cli-bad-envs\/dev\.ts:2:\d+ {2}compute\.instanceType = "g5\.3xlarge"/g)).toHaveLength(1);
    expect(output.match(/cli-bad-envs\/training\.ts:2:\d+ {2}region = "mars-1"/g)).toHaveLength(1);
    expect(output).not.toMatch(/\[ERROR\] default - .*(Invalid configuration|compute\.instanceType)/);
    expect(output).toContain("synth stopped on purpose");
    expect(output).not.toMatch(/^\s+at /m);
  }, 120_000);
});
