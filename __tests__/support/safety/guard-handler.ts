/** The runtime guard's handler wired to aws-sdk-client-mock clients, and the instances it lists (__tests__/modules/training-safety/runtime-guard/). */
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
import { expect } from "vitest";
import { createHandler, type HandlerOptions } from "../../../modules/training-safety/runtime-guard/guard";
import { createLogger } from "../../../modules/training-safety/runtime-guard/log";
import type { GuardSummary } from "../../../modules/training-safety/runtime-guard/summary";

export const ec2 = new EC2Client({ region: "eu-west-1" });
export const sns = new SNSClient({ region: "eu-west-1" });
export const autoScaling = new AutoScalingClient({ region: "eu-west-1" });
export const ec2Mock = mockClient(ec2);
export const snsMock = mockClient(sns);
export const autoScalingMock = mockClient(autoScaling);

export const NOW = new Date("2026-05-04T12:00:00.000Z");
export const HOUR = 3_600_000;
export const ENV = {
  PROJECT: "gti",
  ENVIRONMENT: "dev",
  TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:gti-dev-alerts",
  ACTION: "terminate",
  DRY_RUN: "false",
};

/** A running instance of env gti/dev launched `hoursAgo` ago, with `extraTags` (default: a 12 h limit). */
export function instance(id: string, hoursAgo: number, extraTags: Record<string, string> = { MaxRuntimeHours: "12" }, type = "g5.xlarge"): Instance {
  return {
    InstanceId: id,
    InstanceType: type as Instance["InstanceType"],
    LaunchTime: new Date(NOW.getTime() - hoursAgo * HOUR),
    State: { Name: "running" },
    Tags: Object.entries({ Project: "gti", Environment: "dev", ...extraTags }).map(([Key, Value]) => ({ Key, Value })),
  };
}

export function page(instances: Instance[], nextToken?: string): DescribeInstancesCommandOutput {
  return { $metadata: {}, Reservations: [{ Instances: instances }], ...(nextToken ? { NextToken: nextToken } : {}) };
}

/** EC2 lists `instances` (one page); terminate/stop succeed and report the new state. */
export function ec2Lists(...instances: Instance[]): void {
  ec2Mock.on(DescribeInstancesCommand).resolves(page(instances));
}

export interface Run {
  readonly summary: GuardSummary;
  readonly logs: Array<Record<string, unknown>>;
}

export function handlerWith(env: Record<string, string | undefined> = {}, extra: Partial<HandlerOptions> = {}) {
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

export async function run(env: Record<string, string | undefined> = {}, extra: Partial<HandlerOptions> = {}, event: unknown = {}): Promise<Run> {
  const { handler, lines } = handlerWith(env, extra);
  const summary = await handler(event, { awsRequestId: "req-1" });
  return { summary, logs: lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export function published(): { Subject?: string; Message?: string; TopicArn?: string } {
  const calls = snsMock.commandCalls(PublishCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input;
}

export function outcomeOf(summary: GuardSummary, id: string): string | undefined {
  return summary.instances.find((i) => i.instanceId === id)?.outcome;
}

/** Resets the mocks and makes terminate, stop, publish and the group's terminate succeed (call in beforeEach). */
export function resetGuardMocks(): void {
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
}
