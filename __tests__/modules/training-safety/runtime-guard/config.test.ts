/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): pure decisions, configuration, and the handler
 * against aws-sdk-client-mock (no network, no credentials): max-runtime runs, auto scaling group members, and the EC2
 * spot interruption / rebalance events.
 */
import { AutoScalingClient, TerminateInstanceInAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { EC2Client, StopInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MAX_RUNTIME_TAG, GuardConfigError, loadConfig } from "../../../../modules/training-safety/runtime-guard/config";
import { runtimeGuardEnvironment } from "../../../../modules/training-safety/runtime-guard/deployment";
import { createHandler, type HandlerOptions } from "../../../../modules/training-safety/runtime-guard/guard";
import { createLogger } from "../../../../modules/training-safety/runtime-guard/log";

// The SDK warns once per process on Node < 22 (tests run on 20, the Lambda on 22): noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const ec2 = new EC2Client({ region: "eu-west-1" });
const sns = new SNSClient({ region: "eu-west-1" });
const autoScaling = new AutoScalingClient({ region: "eu-west-1" });
const ec2Mock = mockClient(ec2);
const snsMock = mockClient(sns);
const autoScalingMock = mockClient(autoScaling);

const NOW = new Date("2026-05-04T12:00:00.000Z");
const ENV = {
  PROJECT: "gti",
  ENVIRONMENT: "dev",
  TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:gti-dev-alerts",
  ACTION: "terminate",
  DRY_RUN: "false",
};

function handlerWith(env: Record<string, string | undefined> = {}, extra: Partial<HandlerOptions> = {}) {
  const lines: string[] = [];
  const handler = createHandler({
    env: { ...ENV, ...env },
    ec2,
    sns,
    autoScaling,
    now: () => NOW,
    logger: createLogger((line) => lines.push(line)),
    ...extra,
  });
  return { handler, lines };
}

beforeEach(() => {
  ec2Mock.reset();
  snsMock.reset();
  autoScalingMock.reset();
  autoScalingMock.on(TerminateInstanceInAutoScalingGroupCommand).resolves({ Activity: { ActivityId: "act-1", AutoScalingGroupName: "gti-dev-fleet", Cause: "", StartTime: NOW, StatusCode: "InProgress" } });
  ec2Mock.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
    TerminatingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId, PreviousState: { Name: "running" }, CurrentState: { Name: "shutting-down" } })),
  }));
  ec2Mock.on(StopInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
    StoppingInstances: input.InstanceIds.map((InstanceId) => ({ InstanceId, PreviousState: { Name: "running" }, CurrentState: { Name: "stopping" } })),
  }));
  snsMock.on(PublishCommand).resolves({ MessageId: "msg-1" });
});

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
