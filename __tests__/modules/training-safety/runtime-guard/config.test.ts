/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): pure decisions, configuration, and the handler
 * against aws-sdk-client-mock (no network, no credentials): max-runtime runs, auto scaling group members, and the EC2
 * spot interruption / rebalance events.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MAX_RUNTIME_TAG, GuardConfigError, loadConfig } from "../../../../modules/training-safety/runtime-guard/config";
import { runtimeGuardEnvironment } from "../../../../modules/training-safety/runtime-guard/deployment";
import {
  ENV,
  ec2Mock,
  handlerWith,
  resetGuardMocks,
  snsMock,
} from "../../../support/safety/guard-handler";

beforeEach(resetGuardMocks);

describe("configuration (environment variables)", () => {
  it("GIVEN the required variables WHEN loaded THEN MAX_RUNTIME_TAG defaults to MaxRuntimeHours", () => {
    expect(loadConfig(ENV)).toEqual({
      project: "gti",
      environment: "dev",
      topicArn: ENV.TOPIC_ARN,
      action: "terminate",
      dryRun: false,
      maxRuntimeTag: DEFAULT_MAX_RUNTIME_TAG,
    });
  });

  it("GIVEN ACTION=reboot WHEN the handler is invoked THEN it rejects with a GuardConfigError naming ACTION and the value", async () => {
    const { handler } = handlerWith({ ACTION: "reboot" });
    const error = await handler({}, { awsRequestId: "r" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardConfigError);
    expect((error as Error).message).toContain('ACTION = "reboot": must be "terminate" or "stop"');
  });

  it("GIVEN TOPIC_ARN missing WHEN the handler is invoked THEN it rejects saying TOPIC_ARN is missing and calls no AWS API", async () => {
    const { handler } = handlerWith({ TOPIC_ARN: undefined });
    await expect(handler({}, { awsRequestId: "r" })).rejects.toThrow(/TOPIC_ARN is missing: required/);
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(snsMock.calls()).toHaveLength(0);
  });

  it("GIVEN a bad configuration WHEN the handler is created (cold start) THEN the problems are logged at once", () => {
    const { lines } = handlerWith({ ACTION: "reboot" });
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: "error", message: "invalid configuration", error: expect.stringContaining("ACTION") }),
    ]);
  });

  it("GIVEN several bad variables WHEN loaded THEN every problem is listed in one error", () => {
    let error: GuardConfigError | undefined;
    try {
      loadConfig({ PROJECT: "gti", ACTION: "stop", DRY_RUN: "maybe", TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:t.fifo" });
    } catch (e) {
      error = e as GuardConfigError;
    }
    expect(error?.problems.map((p) => p.variable)).toEqual(["ENVIRONMENT", "TOPIC_ARN", "DRY_RUN"]);
  });

  it("GIVEN a wildcard in PROJECT WHEN loaded THEN it is rejected (EC2 would match other projects' instances)", () => {
    expect(() => loadConfig({ ...ENV, PROJECT: "*" })).toThrow(/PROJECT = "\*": must not contain \*, \? or \\/);
  });

  it("GIVEN a MAX_RUNTIME_TAG in the aws: namespace WHEN loaded THEN it is rejected", () => {
    expect(() => loadConfig({ ...ENV, MAX_RUNTIME_TAG: "aws:limit" })).toThrow(/MAX_RUNTIME_TAG = "aws:limit"/);
  });

  it("GIVEN the deployment helper's variables WHEN loaded by the function THEN they are valid and round-trip", () => {
    const env = runtimeGuardEnvironment({ project: "gti", environment: "dev", topicArn: ENV.TOPIC_ARN, action: "stop", dryRun: true });
    expect(loadConfig(env)).toMatchObject({ action: "stop", dryRun: true, maxRuntimeTag: "MaxRuntimeHours" });
  });
});
