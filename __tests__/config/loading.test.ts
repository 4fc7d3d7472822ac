import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadEnvironments } from "../../src/config/load";
import { INSTANCE_TAGS } from "../../modules/training-compute";
import { FLEET_TAGS } from "../../modules/training-fleet";
import { MAX_ENV_TAGS, MODULE_TAG_KEYS } from "../../src/config/schema";
import { configWith } from "../support/envs";

describe("loading environments from a directory", () => {
  function withEnvDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "gti-envs-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
  }

  const valid = (name: string) =>
    `export default { name: "${name}", region: "us-east-1", repository: "r", state: { bucket: "some-state", region: "us-east-1" } };\n`;

  it("GIVEN a new file WHEN loaded THEN it is an environment (adding an env is adding one file)", async () => {
    await withEnvDir({ "a.ts": valid("a"), "b.ts": valid("b"), "_shared.ts": "export const x = 1;\n" }, async (dir) => {
      expect((await loadEnvironments(dir)).map((env) => env.name)).toEqual(["a", "b"]);
    });
  });

  it("GIVEN a file without a default export WHEN loaded THEN the error says how to export the environment", async () => {
    await withEnvDir({ "a.ts": "export const config = {};\n" }, async (dir) => {
      await expect(loadEnvironments(dir)).rejects.toThrow(/has no default export, so it defines no environment\n\s+Fix: end it with `export default defineEnvironment/);
    });
  });

  it("GIVEN an empty directory WHEN loaded THEN the error says to add an environment", async () => {
    await withEnvDir({}, async (dir) => {
      await expect(loadEnvironments(dir)).rejects.toThrow(/No environments found/);
    });
  });
});

describe("tags AWS accepts", () => {
  it("GIVEN the tag keys the modules set WHEN compared with the schema THEN each is reserved", () => {
    expect([...MODULE_TAG_KEYS].sort()).toEqual(["Name", ...Object.values(INSTANCE_TAGS), ...Object.values(FLEET_TAGS)].sort());
  });

  it("GIVEN exactly the maximum number of tags WHEN parsed THEN they are accepted", () => {
    const tags = Object.fromEntries(Array.from({ length: MAX_ENV_TAGS }, (_, i) => [`t${i}`, "v"]));
    expect(Object.keys(configWith({ tags }).tags)).toHaveLength(41);
  });

  it("GIVEN keys and values with every allowed character WHEN parsed THEN they are accepted", () => {
    const tags = { "team:ml.research_a+b=c-d@e": "Équipe ML / 研究 2026: a+b=c-d@e_f.g" };
    expect(configWith({ tags }).tags).toEqual(tags);
  });
});

describe("safety settings that are accepted", () => {
  it("GIVEN on-demand instances WHEN the guard and the idle alarm stop instead of terminating THEN the config is accepted", () => {
    const env = configWith({ compute: { useSpot: false }, safety: { guard: { action: "stop" }, idleGpu: { action: "stop" } } });
    expect([env.safety.guard.action, env.safety.idleGpu.action]).toEqual(["stop", "stop"]);
  });

  it("GIVEN a key ARN in the env's region and a reserved concurrency WHEN parsed THEN both are kept", () => {
    const kmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const env = configWith({ safety: { kmsKeyArn, guard: { reservedConcurrency: 2 } } });
    expect(env.safety).toMatchObject({ kmsKeyArn, guard: { reservedConcurrency: 2 } });
  });
});
