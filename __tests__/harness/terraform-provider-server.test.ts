/**
 * The one shared provider process of a test run (support/terraform-provider-server.ts), with stand-in provider binaries
 * (shell scripts that behave like `terraform-provider-aws -debug`): it is found in an unpacked mirror only, started,
 * reattachable, stopped, and never outlives the process that started it. That terraform really reattaches to the real
 * provider is proven by every mocked `terraform test` (stacks/terraform.test.ts), which runs through it.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROVIDER_PLATFORM, mirroredProviderBinary, startSharedProvider } from "../support/terraform-provider-server";

const root = mkdtempSync(join(tmpdir(), "gti-provider-server-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A stand-in provider: prints what the provider SDK's debug mode prints (with its own pid), then serves forever. */
function fakeProvider(name: string, body?: string): string {
  const file = join(root, name);
  const script = body ?? [
    '[ "$1" = -debug ] || { echo "expected -debug, got $*" >&2; exit 2; }',
    'echo "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:"',
    'echo ""',
    `printf "\\tTF_REATTACH_PROVIDERS='{\\"registry.terraform.io/hashicorp/aws\\":{\\"Protocol\\":\\"grpc\\",\\"Pid\\":%s}}'\\n" "$$"`,
    "exec sleep 300",
  ].join("\n");
  writeFileSync(file, `#!/bin/sh\n${body === undefined ? script : body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if (!alive(pid)) return true;
  }
  return false;
}

describe("mirroredProviderBinary", () => {
  const platform = PROVIDER_PLATFORM;

  it("GIVEN an unpacked mirror holding the version WHEN looked up THEN it is the provider binary in it", () => {
    const dir = join(root, "mirror", "registry.terraform.io", "hashicorp", "aws", "5.100.0", platform);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "terraform-provider-aws_v5.100.0_x5"), "");
    expect(mirroredProviderBinary(join(root, "mirror"), "5.100.0")).toBe(join(dir, "terraform-provider-aws_v5.100.0_x5"));
  });

  it("GIVEN no mirror, another version, or a packed (.zip) mirror WHEN looked up THEN there is none (terraform starts its own)", () => {
    const packed = join(root, "packed", "registry.terraform.io", "hashicorp", "aws");
    mkdirSync(packed, { recursive: true });
    writeFileSync(join(packed, `terraform-provider-aws_5.100.0_${platform}.zip`), "");
    expect(mirroredProviderBinary(undefined, "5.100.0")).toBeUndefined();
    expect(mirroredProviderBinary(join(root, "mirror"), "5.99.0")).toBeUndefined();
    expect(mirroredProviderBinary(join(root, "packed"), "5.100.0")).toBeUndefined();
  });
});

describe("startSharedProvider", () => {
  it("GIVEN a provider in debug mode WHEN started THEN it hands back its reattach value and pid, and stop() ends it", async () => {
    const provider = await startSharedProvider(fakeProvider("ok.sh"));
    expect(JSON.parse(provider.reattach)).toEqual({ "registry.terraform.io/hashicorp/aws": { Protocol: "grpc", Pid: provider.pid } });
    expect(alive(provider.pid)).toBe(true);

    await provider.stop();

    expect(await gone(provider.pid)).toBe(true);
  });

  it("GIVEN the process that started the provider dies without stopping it WHEN its pipe closes THEN the provider is killed too", async () => {
    const child = spawn(process.execPath, ["-r", join(__dirname, "..", "..", "scripts", "ts-hook.cjs"), "-e", [
      `const { startSharedProvider } = require(${JSON.stringify(join(__dirname, "..", "support", "terraform-provider-server.ts"))});`,
      `startSharedProvider(${JSON.stringify(fakeProvider("orphan.sh"))}).then((p) => { console.log(p.pid); process.exit(0); });`,
    ].join("\n")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.once("exit", resolve));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);

    expect(await gone(pid)).toBe(true);
  });

  it("GIVEN a provider that exits at once WHEN started THEN it fails with what the provider printed", async () => {
    await expect(startSharedProvider(fakeProvider("crash.sh", 'echo "Error: plugin failed to start: no space left" >&2; exit 3'))).rejects.toThrow(
      /exited \(code 3\) before it could be reattached[\s\S]*no space left/,
    );
  });

  it("GIVEN a provider that never prints its reattach line WHEN the time runs out THEN it fails saying so and the provider is killed", async () => {
    const pidFile = join(root, "silent.pid");
    const binary = fakeProvider("silent.sh", `echo $$ > ${pidFile}; echo "Initializing..."; exec sleep 300`);

    await expect(startSharedProvider(binary, 1_000)).rejects.toThrow(/printed no TF_REATTACH_PROVIDERS line within 1 s[\s\S]*Initializing/);

    const { readFileSync } = await import("node:fs");
    expect(await gone(Number(readFileSync(pidFile, "utf8")))).toBe(true);
  });
});
