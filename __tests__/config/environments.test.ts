import { describe, expect, it } from "vitest";
import { GtiError } from "../../src/errors";
import { inputWith, parse, realEnvironment, realEnvironments } from "../support/envs";
import { configErrorOf } from "../support/config/config-errors";

describe("the environments in envs/", () => {
  it("GIVEN the env files WHEN loaded THEN there are training, dev and prod, sorted by name", async () => {
    const envs = await realEnvironments();
    expect(envs.map((env) => env.name)).toEqual(["dev", "prod", "training"]);
  });

  it("GIVEN training WHEN loaded THEN it has the four-module design's defaults", async () => {
    const env = await realEnvironment("training");
    expect(env.compute).toMatchObject({
      instanceType: "g5.xlarge",
      useSpot: true,
      autoShutdown: true,
      maxRuntimeHours: 12,
      createInstance: false,
    });
  });

  it("GIVEN dev WHEN loaded THEN it has the fleet seed's dev settings (g4dn.xlarge, max 1, $0.30 cap)", async () => {
    const env = await realEnvironment("dev");
    expect(env.compute.spotMaxPrice).toBe("0.30");
    expect(env.fleet).toMatchObject({ enabled: true, instanceTypes: ["g4dn.xlarge"], maxInstances: 1, desiredInstances: 0 });
  });

  it("GIVEN prod WHEN loaded THEN it runs in its own region with bigger types in preference order, up to 8 nodes", async () => {
    const [prod, others] = [await realEnvironment("prod"), (await realEnvironments()).filter((e) => e.name !== "prod")];
    expect(others.map((e) => e.region)).not.toContain(prod.region);
    expect(prod.fleet).toMatchObject({ maxInstances: 8, instanceTypes: ["g4dn.2xlarge", "g4dn.4xlarge", "g5.2xlarge"] });
    expect(prod.compute.spotMaxPrice).toBe("1.00");
  });

  it("GIVEN a minimal input WHEN parsed THEN every section gets its documented defaults", () => {
    const env = parse({
      name: "training",
      region: "eu-west-1",
      repository: "github.com/acme/infra",
      state: { bucket: "acme-tfstate", region: "eu-west-1" },
    });
    expect(env.project).toBe("gpu-training-infra");
    expect(env.storage.lifecycle).toEqual({
      dataGlacierAfterDays: 90,
      outputsIntelligentTieringAfterDays: 30,
      outputsGlacierAfterDays: 180,
      noncurrentVersionExpirationDays: 30,
      abortIncompleteMultipartUploadDays: 7,
    });
    expect(env.registry).toMatchObject({ keepTaggedImages: 10, keepUntaggedImages: 3 });
    expect(env.compute).toMatchObject({ instanceType: "g5.xlarge", rootVolumeSizeGb: 200, trainingImageTag: "latest", spotMaxPrice: "" });
    expect(env.compute.spot).toEqual({ requestType: "one-time", interruptionBehavior: "terminate" });
    expect(env.safety.guard).toEqual({ schedule: "rate(1 hour)", action: "terminate", dryRun: false });
  });
});

describe("configuration error messages", () => {
  it("GIVEN a bad value WHEN parsed THEN one message names the env, file, field, value, rule and fix", () => {
    const error = configErrorOf(() => parse(inputWith({ compute: { instanceType: "t3.micro" } })));
    expect(error.message).toMatch(/^Invalid configuration for environment "training" \(envs\/training\.ts\), 1 problem:/);
    expect(error.message).toContain(
      'env "training", field compute.instanceType = "t3.micro": not an NVIDIA GPU instance type on x86_64 that this project launches',
    );
    expect(error.message).toMatch(/Fix: pick one such as "g5\.xlarge"/);
  });

  it("GIVEN several bad values WHEN parsed THEN every problem is listed at once", () => {
    const error = configErrorOf(() => parse(inputWith({ region: "mars-1", safety: { monthlyBudgetUsd: 0 } })));
    expect(error.problems.map((p) => p.field)).toEqual(["region", "safety.monthlyBudgetUsd"]);
  });

  it("GIVEN a bad value WHEN parsed THEN the error is a GtiError (printed without a stack trace by main.ts)", () => {
    expect(() => parse(inputWith({ region: "mars-1" }))).toThrow(GtiError);
  });

  it("GIVEN a missing required field WHEN parsed THEN the message says it is required and where to add it", () => {
    const input = inputWith({});
    delete input.region;
    const error = configErrorOf(() => parse(input));
    expect(error.problems[0]).toMatchObject({ field: "region", value: undefined, fix: "add region to envs/training.ts" });
    expect(error.message).toContain("region = (missing)");
  });
});
