/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): pure decisions, configuration, and the handler
 * against aws-sdk-client-mock (no network, no credentials): max-runtime runs, auto scaling group members, and the EC2
 * spot interruption / rebalance events.
 */
import { AutoScalingClient, TerminateInstanceInAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  EC2Client,
  type Instance,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createHandler, type HandlerOptions } from "../../../../modules/training-safety/runtime-guard/guard";
import { createLogger } from "../../../../modules/training-safety/runtime-guard/log";
import type { GuardSummary } from "../../../../modules/training-safety/runtime-guard/summary";

// The SDK warns once per process on Node < 22 (tests run on 20, the Lambda on 22): noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const ec2 = new EC2Client({ region: "eu-west-1" });
const sns = new SNSClient({ region: "eu-west-1" });
const autoScaling = new AutoScalingClient({ region: "eu-west-1" });
const ec2Mock = mockClient(ec2);
const snsMock = mockClient(sns);
const autoScalingMock = mockClient(autoScaling);

const NOW = new Date("2026-05-04T12:00:00.000Z");
const HOUR = 3_600_000;
const ENV = {
  PROJECT: "gti",
  ENVIRONMENT: "dev",
  TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:gti-dev-alerts",
  ACTION: "terminate",
  DRY_RUN: "false",
};

/** A running instance of env gti/dev launched `hoursAgo` ago, with `extraTags` (default: a 12 h limit). */
function instance(id: string, hoursAgo: number, extraTags: Record<string, string> = { MaxRuntimeHours: "12" }, type = "g5.xlarge"): Instance {
  return {
    InstanceId: id,
    InstanceType: type as Instance["InstanceType"],
    LaunchTime: new Date(NOW.getTime() - hoursAgo * HOUR),
    State: { Name: "running" },
    Tags: Object.entries({ Project: "gti", Environment: "dev", ...extraTags }).map(([Key, Value]) => ({ Key, Value })),
  };
}

function page(instances: Instance[], nextToken?: string): DescribeInstancesCommandOutput {
  return { $metadata: {}, Reservations: [{ Instances: instances }], ...(nextToken ? { NextToken: nextToken } : {}) };
}

/** EC2 lists `instances` (one page); terminate/stop succeed and report the new state. */
function ec2Lists(...instances: Instance[]): void {
  ec2Mock.on(DescribeInstancesCommand).resolves(page(instances));
}

interface Run {
  readonly summary: GuardSummary;
  readonly logs: Array<Record<string, unknown>>;
}

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

async function run(env: Record<string, string | undefined> = {}, extra: Partial<HandlerOptions> = {}, event: unknown = {}): Promise<Run> {
  const { handler, lines } = handlerWith(env, extra);
  const summary = await handler(event, { awsRequestId: "req-1" });
  return { summary, logs: lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function published(): { Subject?: string; Message?: string; TopicArn?: string } {
  const calls = snsMock.commandCalls(PublishCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input;
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

describe("auto scaling group members (fleet)", () => {
  const member = (id: string, hoursAgo: number): Instance => instance(id, hoursAgo, { MaxRuntimeHours: "12", "aws:autoscaling:groupName": "gti-dev-fleet" });

  it("GIVEN a fleet member over its limit WHEN the guard runs THEN it is terminated through its group with the desired capacity decremented", async () => {
    ec2Lists(member("i-member", 13));
    const { summary } = await run();
    expect(autoScalingMock.commandCalls(TerminateInstanceInAutoScalingGroupCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceId: "i-member", ShouldDecrementDesiredCapacity: true },
    ]);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(summary.instances[0]).toMatchObject({ outcome: "terminated", action: "terminate", autoScalingGroup: "gti-dev-fleet" });
    expect(published().Message).toContain("i-member (g5.xlarge): up 13.0 h, limit 12 h -> terminated via auto scaling group gti-dev-fleet (desired capacity decremented)");
  });

  it("GIVEN ACTION=stop WHEN a fleet member and a single instance are over their limits THEN the member is terminated through its group and the other stopped", async () => {
    ec2Lists(member("i-member", 13), instance("i-single", 13));
    const { summary } = await run({ ACTION: "stop" });
    expect(autoScalingMock.commandCalls(TerminateInstanceInAutoScalingGroupCommand)).toHaveLength(1);
    expect(ec2Mock.commandCalls(StopInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([["i-single"]]);
    expect(summary.instances.map((i) => [i.instanceId, i.outcome])).toEqual([
      ["i-member", "terminated"],
      ["i-single", "stopped"],
    ]);
    expect(published().Subject).toBe("[gti/dev] Runtime guard: 1 terminated, 1 stopped");
  });

  it("GIVEN DRY_RUN=true WHEN a fleet member is over its limit THEN nothing is called and it would be terminated through its group", async () => {
    ec2Lists(member("i-member", 13));
    const { summary } = await run({ DRY_RUN: "true" });
    expect(autoScalingMock.calls()).toHaveLength(0);
    expect(summary.instances[0]).toMatchObject({ outcome: "would-terminate", autoScalingGroup: "gti-dev-fleet" });
  });

  it("GIVEN the group refuses to terminate a member WHEN the guard runs THEN the failure is reported and the other member is still terminated", async () => {
    ec2Lists(member("i-refused", 20), member("i-ok", 20));
    autoScalingMock
      .on(TerminateInstanceInAutoScalingGroupCommand, { InstanceId: "i-refused" })
      .rejects(Object.assign(new Error("User is not authorized to perform: autoscaling:TerminateInstanceInAutoScalingGroup"), { name: "AccessDenied" }));
    const { summary } = await run();
    expect(summary.instances.map((i) => i.outcome)).toEqual(["failed", "terminated"]);
    expect(summary.instances[0]?.error).toMatchObject({ name: "AccessDenied" });
    expect(published().Message).toContain("-> terminate via auto scaling group gti-dev-fleet (desired capacity decremented) FAILED: AccessDenied");
  });
});
