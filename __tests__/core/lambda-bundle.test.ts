/**
 * The synth-time Lambda bundler (src/lambda-bundle.ts), on the real runtime guard and on tiny temp entries. Every
 * build goes to a temp cache directory, so the project's own cache is never touched.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, inflateRawSync } from "node:zlib";
import { App, AssetType, TerraformAsset, TerraformStack } from "cdktf";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildLambdaBundle, type LambdaBundle, LambdaBundleError, PROJECT_ROOT, zipOneFile } from "../../src/lambda-bundle";
import { RUNTIME_GUARD, runtimeGuardBuild } from "../../modules/training-safety/runtime-guard/deployment";
import type { GuardHandler } from "../../modules/training-safety/runtime-guard/guard";

const work = mkdtempSync(join(tmpdir(), "gti-lambda-bundle-"));
/** The runtime guard, built cold twice into separate caches (each ~0.5-1 s). */
let guard: LambdaBundle;
let guardAgain: LambdaBundle;

beforeAll(() => {
  guard = buildLambdaBundle({ entry: RUNTIME_GUARD.entry, name: RUNTIME_GUARD.name, cacheDir: join(work, "cache-a") });
  // The second build runs from another current directory: the output must not depend on where synth is started.
  const cwd = process.cwd();
  process.chdir(work);
  try {
    guardAgain = buildLambdaBundle({ entry: RUNTIME_GUARD.entry, name: RUNTIME_GUARD.name, cacheDir: join(work, "cache-b"), force: true });
  } finally {
    process.chdir(cwd);
  }
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Writes a small entry file in its own temp directory and returns its path. */
function entryFile(source: string, fileName = "handler.ts"): string {
  const dir = mkdtempSync(join(work, "entry-"));
  const file = join(dir, fileName);
  writeFileSync(file, source);
  return file;
}

/** Reads a zip through its central directory (independently of the writer): entry names, modes and inflated data. */
function readZip(zip: Buffer): Array<{ name: string; mode: number; data: Buffer }> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = [];
  for (let n = 0; n < count; n += 1) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = method === 8 ? inflateRawSync(zip.subarray(dataStart, dataStart + size)) : zip.subarray(dataStart, dataStart + size);
    expect(crc32(data)).toBe(crc);
    entries.push({ name, mode, data });
    at += 46 + nameLength + skip;
  }
  return entries;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but none was thrown");
}

describe("buildLambdaBundle on the runtime guard", () => {
  it("GIVEN the runtime guard entry WHEN bundled THEN the returned directory holds exactly index.js", () => {
    expect(guard.cached).toBe(false);
    expect(readdirSync(guard.dir)).toEqual(["index.js"]);
    expect(guard.bytes).toBeGreaterThan(100_000);
  });

  it("GIVEN the bundle WHEN read THEN the AWS SDK is inlined, not required from the Lambda runtime", () => {
    expect(guard.externals.filter((path) => !path.startsWith("node:"))).toEqual([]);
    expect(guard.externals).toContain("node:https");
    expect(readFileSync(guard.file, "utf8").includes("var DescribeInstancesCommand")).toBe(true);
  });

  it("GIVEN a second cold build into another cache from another current directory WHEN compared THEN the bytes are identical", () => {
    expect(guardAgain.cached).toBe(false);
    expect(readFileSync(guardAgain.file).equals(readFileSync(guard.file))).toBe(true);
  });

  it("GIVEN a build WHEN index.js is written THEN its mtime is pinned to 2000-01-01 (cdktf's zip records mtimes)", () => {
    expect(statSync(guard.file).mtime.toISOString()).toBe("2000-01-01T00:00:00.000Z");
  });

  it("GIVEN the bundle WHEN read THEN it contains no absolute path of the build machine", () => {
    const code = readFileSync(guard.file, "utf8");
    expect(code.includes(PROJECT_ROOT)).toBe(false);
    expect(code.includes(work)).toBe(false);
  });

  it("GIVEN a cached build WHEN bundled again THEN the cache is reused with the same bytes", () => {
    const again = buildLambdaBundle({ entry: RUNTIME_GUARD.entry, name: RUNTIME_GUARD.name, cacheDir: join(work, "cache-a") });
    expect(again).toMatchObject({ cached: true, dir: guard.dir, sha256: guard.sha256 });
  });

  it("GIVEN the deployment helper WHEN asked for the build THEN it returns the same directory and zip as buildLambdaBundle", () => {
    const build = runtimeGuardBuild({ cacheDir: join(work, "cache-a") });
    expect([build.dir, build.zip, build.zipSha256]).toEqual([guard.dir, guard.zip, guard.zipSha256]);
  });

  it("GIVEN the bundled file WHEN required and invoked with stubbed clients THEN the real handler terminates, publishes and logs JSON lines", async () => {
    const env = {
      PROJECT: "gti",
      ENVIRONMENT: "dev",
      TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:alerts",
      ACTION: "terminate",
      DRY_RUN: "false",
      AWS_REGION: "eu-west-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
    type Sender = { send: (command: { constructor: { name: string }; input: Record<string, unknown> }) => Promise<unknown> };
    let bundle: { handler: GuardHandler; clients: { ec2: Sender; sns: Sender } };
    try {
      // Node's own require: the file as Lambda loads it, not through vitest's transform. Config is read at load.
      bundle = createRequire(__filename)(guard.file) as typeof bundle;
    } finally {
      vi.unstubAllEnvs();
    }
    const sent: string[] = [];
    const launched = new Date(Date.now() - 20 * 3_600_000);
    bundle.clients.ec2.send = async (command) => {
      sent.push(`${command.constructor.name} ${JSON.stringify(command.input.InstanceIds ?? command.input.Filters)}`);
      if (command.constructor.name.startsWith("DescribeInstancesCommand")) {
        const tags = [{ Key: "Project", Value: "gti" }, { Key: "Environment", Value: "dev" }, { Key: "MaxRuntimeHours", Value: "12" }];
        return { Reservations: [{ Instances: [{ InstanceId: "i-old", InstanceType: "g5.xlarge", LaunchTime: launched, State: { Name: "running" }, Tags: tags }] }] };
      }
      return { TerminatingInstances: [{ InstanceId: "i-old", CurrentState: { Name: "shutting-down" } }] };
    };
    bundle.clients.sns.send = async (command) => {
      sent.push(`${command.constructor.name} ${String(command.input.Subject)}`);
      return { MessageId: "m-1" };
    };
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      return true;
    });
    let summary;
    try {
      summary = await bundle.handler({}, { awsRequestId: "req-bundle" });
    } finally {
      write.mockRestore();
    }
    expect(summary.counts).toMatchObject({ found: 1, acted: 1 });
    expect(sent).toEqual([
      expect.stringMatching(/^DescribeInstancesCommand\d* .*"tag:Project"/),
      'TerminateInstancesCommand ["i-old"]',
      "PublishCommand [gti/dev] Runtime guard: 1 terminated",
    ]);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(String), message: expect.any(String), requestId: "req-bundle" });
  });

  it("GIVEN a build WHEN its zip is read THEN it holds exactly index.js (mode 0644) with the same bytes", () => {
    const entries = readZip(readFileSync(guard.zip));
    expect(entries.map((e) => [e.name, e.mode.toString(8)])).toEqual([["index.js", "100644"]]);
    expect(entries[0]?.data.equals(readFileSync(guard.file))).toBe(true);
  });

  it("GIVEN two cold builds WHEN their zips are compared THEN they are byte-identical", () => {
    expect(guardAgain.zipSha256).toBe(guard.zipSha256);
    expect(readFileSync(guardAgain.zip).equals(readFileSync(guard.zip))).toBe(true);
  });

  it("GIVEN two machines in different time zones WHEN they zip the same bytes THEN the zips are identical and dated 2000-01-01 00:00", () => {
    const data = Buffer.from("exports.handler = async () => 1;\n");
    const mtime = new Date(Date.UTC(2000, 0, 1));
    const zipIn = (tz: string): Buffer => {
      vi.stubEnv("TZ", tz); // Node re-reads TZ for Date's local-time getters
      try {
        return zipOneFile("index.js", data, mtime);
      } finally {
        vi.unstubAllEnvs();
      }
    };
    const [utc, kiritimati, honolulu] = [zipIn("UTC"), zipIn("Pacific/Kiritimati"), zipIn("Pacific/Honolulu")];
    expect(kiritimati.equals(utc)).toBe(true);
    expect(honolulu.equals(utc)).toBe(true);
    // MS-DOS time and date of the local header: 00:00:00, 2000-01-01 ((2000 - 1980) << 9 | 1 << 5 | 1).
    expect([utc.readUInt16LE(10), utc.readUInt16LE(12)]).toEqual([0, (20 << 9) | (1 << 5) | 1]);
    expect(readZip(utc)).toEqual([{ name: "index.js", mode: 0o100644, data }]);
  });

  it("GIVEN the zip as a FILE TerraformAsset WHEN synthesized THEN it is copied unchanged into the stack's assets", () => {
    const outdir = join(work, "out-file");
    const app = new App({ outdir, stackTraces: false });
    const asset = new TerraformAsset(new TerraformStack(app, "guard"), "code", { path: runtimeGuardBuild({ cacheDir: join(work, "cache-a") }).zip, type: AssetType.FILE });
    app.synth();
    expect(asset.path).toMatch(/^assets\/code\/[0-9A-F]+\/runtime-guard\.zip$/);
    expect(readFileSync(join(outdir, "stacks", "guard", asset.path)).equals(readFileSync(guard.zip))).toBe(true);
  });

  it("GIVEN the bundle directory as an ARCHIVE TerraformAsset WHEN synthesized THEN cdktf writes a zip of index.js at the asset path", () => {
    const outdir = join(work, "out-archive");
    const app = new App({ outdir, stackTraces: false });
    const asset = new TerraformAsset(new TerraformStack(app, "guard"), "code", { path: guard.dir, type: AssetType.ARCHIVE });
    app.synth();
    expect(asset.path).toMatch(/^assets\/code\/[0-9A-F]+\/archive\.zip$/);
    const entries = readZip(readFileSync(join(outdir, "stacks", "guard", asset.path)));
    expect(entries.map((e) => e.name)).toEqual(["index.js"]);
    expect(entries[0]?.data.equals(readFileSync(guard.file))).toBe(true);
  });
});

describe("buildLambdaBundle cache and errors (small entries)", () => {
  it("GIVEN a cached build WHEN the entry's source changes THEN it is rebuilt with the change", () => {
    const entry = entryFile('export const handler = async () => "first-version";\n');
    const cacheDir = join(work, "cache-change");
    const first = buildLambdaBundle({ entry, name: "small", cacheDir });
    writeFileSync(entry, 'export const handler = async () => "second-version";\n');
    const second = buildLambdaBundle({ entry, name: "small", cacheDir });
    expect(second.cached).toBe(false);
    expect(second.sha256).not.toBe(first.sha256);
    expect(readFileSync(second.file, "utf8")).toContain("second-version");
  });

  it("GIVEN a cached build WHEN an input is touched without changing its content THEN the cache is still used", () => {
    const entry = entryFile("export const handler = async () => 1;\n");
    const cacheDir = join(work, "cache-touch");
    buildLambdaBundle({ entry, name: "small", cacheDir });
    utimesSync(entry, new Date(), new Date(Date.now() + 60_000));
    expect(buildLambdaBundle({ entry, name: "small", cacheDir }).cached).toBe(true);
  });

  it("GIVEN a cached build WHEN its zip was deleted THEN the next call rebuilds both", () => {
    const entry = entryFile("export const handler = async () => 2;\n");
    const cacheDir = join(work, "cache-zip");
    const first = buildLambdaBundle({ entry, name: "small", cacheDir });
    rmSync(first.zip);
    const again = buildLambdaBundle({ entry, name: "small", cacheDir });
    expect(again.cached).toBe(false);
    expect(readFileSync(again.zip).equals(zipOneFile("index.js", readFileSync(again.file), new Date(Date.UTC(2000, 0, 1))))).toBe(true);
  });

  it("GIVEN an imported file that changes WHEN bundled again THEN it is rebuilt (every input is tracked, not just the entry)", () => {
    const entry = entryFile('import { value } from "./dep";\nexport const handler = async () => value;\n');
    const dep = join(entry, "..", "dep.ts");
    writeFileSync(dep, 'export const value = "dep-one";\n');
    const cacheDir = join(work, "cache-dep");
    buildLambdaBundle({ entry, name: "small", cacheDir });
    writeFileSync(dep, 'export const value = "dep-two";\n');
    const again = buildLambdaBundle({ entry, name: "small", cacheDir });
    expect(again.cached).toBe(false);
    expect(readFileSync(again.file, "utf8")).toContain("dep-two");
  });

  it("GIVEN an entry with a syntax error WHEN bundled THEN a LambdaBundleError names the file, line and column and shows the line", () => {
    const entry = entryFile('export const handler = async () => {\n  const x y = 1;\n  return x;\n};\n', "broken.ts");
    const error = errorOf(() => buildLambdaBundle({ entry, name: "broken", cacheDir: join(work, "cache-broken") }));
    expect(error).toBeInstanceOf(LambdaBundleError);
    expect(error.message).toContain(`Could not bundle Lambda "broken" from ${entry}`);
    expect(error.message).toMatch(new RegExp(`${entry.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:11: Expected ";" but found "y"`));
    expect(error.message).toContain("const x y = 1;");
  });

  it("GIVEN an entry that imports a missing module WHEN bundled THEN the error names the import", () => {
    const entry = entryFile('import { nope } from "./missing";\nexport const handler = async () => nope;\n');
    const error = errorOf(() => buildLambdaBundle({ entry, name: "missing", cacheDir: join(work, "cache-missing") }));
    expect(error.message).toContain('Could not resolve "./missing"');
  });

  it.each([
    [{ entry: "relative/handler.ts", name: "ok" }, /is not an absolute path/],
    [{ entry: "/nonexistent/handler.ts", name: "ok" }, /entry file \/nonexistent\/handler\.ts does not exist/],
    [{ entry: "/nonexistent/handler.ts", name: "Bad_Name" }, /bundle name "Bad_Name" is invalid/],
  ])("GIVEN bad options %j WHEN bundled THEN a clear LambdaBundleError", (options, message) => {
    const error = errorOf(() => buildLambdaBundle({ ...options, cacheDir: join(work, "cache-bad") }));
    expect(error).toBeInstanceOf(LambdaBundleError);
    expect(error.message).toMatch(message);
  });
});
