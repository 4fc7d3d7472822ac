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
import { DEFAULT_MAX_RUNTIME_TAG, GuardConfigError, loadConfig } from "../../../../modules/training-safety/runtime-guard/config";
import { decide, type GuardInstance, parseMaxRuntimeHours } from "../../../../modules/training-safety/runtime-guard/decide";
import { runtimeGuardEnvironment } from "../../../../modules/training-safety/runtime-guard/deployment";
import { createHandler, GuardNotificationError, type HandlerOptions, instanceFilters } from "../../../../modules/training-safety/runtime-guard/guard";
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

function outcomeOf(summary: GuardSummary, id: string): string | undefined {
  return summary.instances.find((i) => i.instanceId === id)?.outcome;
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

describe("decide (pure)", () => {
  const guardInstance = (hoursAgo: number, tags: Record<string, string>): GuardInstance => ({
    instanceId: "i-1",
    instanceType: "g5.xlarge",
    state: "running",
    launchTime: new Date(NOW.getTime() - hoursAgo * HOUR),
    tags,
  });

  it("GIVEN uptime exactly equal to the limit WHEN decided THEN the instance is within its limit", () => {
    const [decision] = decide([guardInstance(12, { MaxRuntimeHours: "12" })], NOW, { maxRuntimeTag: "MaxRuntimeHours" });
    expect(decision).toMatchObject({ kind: "within-limit", uptimeHours: 12, limitHours: 12 });
  });

  it("GIVEN uptime one minute over a fractional limit WHEN decided THEN the instance is over its limit", () => {
    const [decision] = decide([guardInstance(1.5 + 1 / 60, { MaxRuntimeHours: "1.5" })], NOW, { maxRuntimeTag: "MaxRuntimeHours" });
    expect(decision).toMatchObject({ kind: "over-limit", limitHours: 1.5 });
  });

  it("GIVEN a custom tag key WHEN decided THEN only that key is read", () => {
    const decisions = decide([guardInstance(5, { MaxRuntimeHours: "1" })], NOW, { maxRuntimeTag: "GuardHours" });
    expect(decisions[0]?.kind).toBe("untagged");
  });

  it("GIVEN a launch time in the future (clock skew) WHEN decided THEN uptime is 0, not negative", () => {
    const [decision] = decide([guardInstance(-2, { MaxRuntimeHours: "1" })], NOW, { maxRuntimeTag: "MaxRuntimeHours" });
    expect(decision).toMatchObject({ kind: "within-limit", uptimeHours: 0 });
  });

  it.each([
    ["12", 12],
    ["1.5", 1.5],
    [" 6 ", 6],
    [".5", 0.5],
  ])("GIVEN the tag value %j WHEN parsed THEN it is %d hours", (text, hours) => {
    expect(parseMaxRuntimeHours(text)).toBe(hours);
  });

  it.each(["0", "0.0", "-1", "12h", "1e3", "0x10", "", " ", "Infinity", "NaN", "twelve"])(
    "GIVEN the tag value %j WHEN parsed THEN it is rejected",
    (text) => {
      expect(parseMaxRuntimeHours(text)).toBeUndefined();
    },
  );
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

describe("runtime guard handler (aws-sdk-client-mock)", () => {
  it("GIVEN an instance over its limit WHEN the guard runs THEN it is terminated with a single-instance call", async () => {
    ec2Lists(instance("i-old", 13));
    const { summary } = await run();
    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ["i-old"] }]);
    expect(summary.instances).toEqual([
      expect.objectContaining({ instanceId: "i-old", outcome: "terminated", action: "terminate", newState: "shutting-down", limitHours: 12, uptimeHours: 13 }),
    ]);
    expect(summary.counts).toMatchObject({ found: 1, overLimit: 1, acted: 1, failed: 0 });
  });

  it("GIVEN an instance under its limit WHEN the guard runs THEN it is kept and nothing is terminated or stopped", async () => {
    ec2Lists(instance("i-young", 3));
    const { summary } = await run();
    expect(outcomeOf(summary, "i-young")).toBe("within-limit");
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
  });

  it("GIVEN an instance without the limit tag WHEN the guard runs THEN it is reported as untagged and not touched", async () => {
    ec2Lists(instance("i-untagged", 500, {}));
    const { summary } = await run();
    expect(outcomeOf(summary, "i-untagged")).toBe("untagged");
    expect(summary.counts.untagged).toBe(1);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(published().Message).toMatch(/No MaxRuntimeHours tag, left running \(1\):\n {2}i-untagged \(g5\.xlarge\): up 500\.0 h/);
  });

  it("GIVEN an instance whose limit tag is not a positive number WHEN the guard runs THEN it is reported as invalid and not touched", async () => {
    ec2Lists(instance("i-bad", 500, { MaxRuntimeHours: "12h" }));
    const { summary } = await run();
    expect(summary.instances[0]).toMatchObject({ outcome: "invalid-tag", tagValue: "12h", limitHours: null });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(published().Message).toContain('i-bad (g5.xlarge): up 500.0 h, tag value "12h" is not a positive number of hours');
  });

  it("GIVEN instances over three DescribeInstances pages WHEN the guard runs THEN every page is read with this env's filters", async () => {
    const tokensSent: Array<string | undefined> = [];
    const pages = [page([instance("i-p1", 20)], "token-2"), page([instance("i-p2", 1)], "token-3"), page([instance("i-p3", 30)])];
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { NextToken?: string }) => {
      tokensSent.push(input.NextToken); // recorded now: the paginator reuses one input object
      return pages[tokensSent.length - 1];
    });
    const { summary } = await run();
    expect(tokensSent).toEqual([undefined, "token-2", "token-3"]);
    const filters = [
      { Name: "tag:Project", Values: ["gti"] },
      { Name: "tag:Environment", Values: ["dev"] },
      { Name: "instance-state-name", Values: ["pending", "running"] },
    ];
    for (const call of ec2Mock.commandCalls(DescribeInstancesCommand)) expect(call.args[0].input.Filters).toEqual(filters);
    expect(instanceFilters({ project: "gti", environment: "dev" })).toEqual(filters);
    expect(summary.instances.map((i) => [i.instanceId, i.outcome])).toEqual([
      ["i-p1", "terminated"],
      ["i-p2", "within-limit"],
      ["i-p3", "terminated"],
    ]);
  });

  it("GIVEN DRY_RUN=true WHEN an instance is over its limit THEN no terminate or stop is sent and it is reported as would-terminate", async () => {
    ec2Lists(instance("i-old", 13));
    const { summary } = await run({ DRY_RUN: "true" });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0);
    expect(summary).toMatchObject({ dryRun: true, counts: { wouldAct: 1, acted: 0 } });
    expect(outcomeOf(summary, "i-old")).toBe("would-terminate");
    expect(published().Subject).toBe("[gti/dev] Runtime guard DRY RUN: 1 would be terminated");
  });

  it("GIVEN an event with dryRun=true WHEN the guard runs with DRY_RUN=false THEN it only reports", async () => {
    ec2Lists(instance("i-old", 13));
    const { summary } = await run({}, {}, { dryRun: true });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(outcomeOf(summary, "i-old")).toBe("would-terminate");
  });

  it("GIVEN ACTION=stop WHEN an instance is over its limit THEN it is stopped, not terminated", async () => {
    ec2Lists(instance("i-old", 13));
    const { summary } = await run({ ACTION: "stop" });
    expect(ec2Mock.commandCalls(StopInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ["i-old"] }]);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(summary.instances[0]).toMatchObject({ outcome: "stopped", newState: "stopping" });
  });

  it("GIVEN the first of five terminates fails WHEN acting two at a time THEN the failure is reported and the other four are terminated", async () => {
    ec2Lists(...["i-1", "i-2", "i-3", "i-4", "i-5"].map((id) => instance(id, 20)));
    const denied = Object.assign(new Error("You are not authorized to perform this operation."), { name: "UnauthorizedOperation" });
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ["i-1"] }).rejects(denied);
    const { summary, logs } = await run({}, { concurrency: 2 });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(5);
    expect(summary.instances.map((i) => i.outcome)).toEqual(["failed", "terminated", "terminated", "terminated", "terminated"]);
    expect(summary.instances[0]?.error).toEqual({ name: "UnauthorizedOperation", message: "You are not authorized to perform this operation." });
    expect(summary.counts).toMatchObject({ acted: 4, failed: 1 });
    expect(logs).toContainEqual(expect.objectContaining({ level: "error", instanceId: "i-1", error: { name: "UnauthorizedOperation", message: expect.any(String) } }));
  });

  it("GIVEN seven instances over their limit WHEN acting three at a time THEN no more than three calls are in flight", async () => {
    ec2Lists(...Array.from({ length: 7 }, (_, i) => instance(`i-${i}`, 20)));
    let inFlight = 0;
    let peak = 0;
    ec2Mock.on(TerminateInstancesCommand).callsFake(async (input: { InstanceIds: string[] }) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return { TerminatingInstances: [{ InstanceId: input.InstanceIds[0], CurrentState: { Name: "shutting-down" } }] };
    });
    const { summary } = await run({}, { concurrency: 3 });
    expect(peak).toBe(3);
    expect(summary.counts.acted).toBe(7);
  });

  it("GIVEN a terminated instance WHEN the guard notifies THEN the SNS message names it with type, uptime, limit and result", async () => {
    ec2Lists(instance("i-old", 13.25, { MaxRuntimeHours: "12" }, "p3.2xlarge"), instance("i-young", 1));
    await run();
    const input = published();
    expect(input.TopicArn).toBe(ENV.TOPIC_ARN);
    expect(input.Subject).toBe("[gti/dev] Runtime guard: 1 terminated");
    expect(input.Message).toContain('Runtime guard for project "gti", environment "dev".');
    expect(input.Message).toContain("Over their max runtime, acted on (1):\n  i-old (p3.2xlarge): up 13.3 h, limit 12 h -> terminated (now shutting-down)");
    expect(input.Message).toContain("Within their limit, kept (1):\n  i-young (g5.xlarge): up 1.0 h, limit 12 h");
  });

  it("GIVEN a failed terminate WHEN the guard notifies THEN the message shows the AWS error", async () => {
    ec2Lists(instance("i-protected", 20));
    ec2Mock.on(TerminateInstancesCommand).rejects(Object.assign(new Error("The instance may not be terminated."), { name: "OperationNotPermitted" }));
    await run();
    const input = published();
    expect(input.Subject).toBe("[gti/dev] Runtime guard: 1 failed");
    expect(input.Message).toContain("FAILED to act on (1):\n  i-protected (g5.xlarge): up 20.0 h, limit 12 h -> terminate FAILED: OperationNotPermitted: The instance may not be terminated.");
  });

  it("GIVEN every instance within its limit WHEN the guard runs THEN nothing is published", async () => {
    ec2Lists(instance("i-a", 1), instance("i-b", 11.9));
    const { summary } = await run();
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    expect(summary.notification).toEqual({ status: "not-needed" });
  });

  it("GIVEN no instances WHEN the guard runs THEN nothing is published and the counts are zero", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const { summary } = await run();
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    expect(summary.counts).toEqual({ found: 0, withinLimit: 0, overLimit: 0, acted: 0, wouldAct: 0, failed: 0, untagged: 0, invalidTag: 0 });
  });

  it("GIVEN a very long project name WHEN the guard notifies THEN the subject is one ASCII line under 100 characters", async () => {
    const project = `gti-${"x".repeat(150)}-é`;
    ec2Mock.on(DescribeInstancesCommand).resolves(page([{ ...instance("i-old", 13), Tags: [{ Key: "Project", Value: project }, { Key: "Environment", Value: "dev" }, { Key: "MaxRuntimeHours", Value: "12" }] }]));
    await run({ PROJECT: project });
    const subject = published().Subject ?? "";
    expect(subject.length).toBeLessThanOrEqual(99);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it("GIVEN SNS publish fails WHEN the guard has terminated an instance THEN the handler rejects with the summary and the termination stands", async () => {
    ec2Lists(instance("i-old", 13));
    snsMock.on(PublishCommand).rejects(Object.assign(new Error("User is not authorized to perform SNS:Publish"), { name: "AuthorizationErrorException" }));
    const { handler, lines } = handlerWith();
    const error = await handler({}, { awsRequestId: "r" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardNotificationError);
    const summary = (error as GuardNotificationError).summary;
    expect(summary.notification).toMatchObject({ status: "failed", error: { name: "AuthorizationErrorException" } });
    expect(outcomeOf(summary, "i-old")).toBe("terminated");
    expect(lines.some((line) => line.includes('"message":"notification failed"'))).toBe(true);
  });

  it("GIVEN DescribeInstances fails WHEN the guard runs THEN the handler rejects with the AWS error and publishes nothing", async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error("Request limit exceeded."), { name: "RequestLimitExceeded" }));
    const { handler } = handlerWith();
    await expect(handler({}, { awsRequestId: "r" })).rejects.toMatchObject({ name: "RequestLimitExceeded" });
    expect(snsMock.calls()).toHaveLength(0);
  });

  it("GIVEN DescribeInstances returns an instance without this env's tags WHEN it is over a limit THEN it is never acted on", async () => {
    const foreign: Instance = { ...instance("i-foreign", 100), Tags: [{ Key: "Project", Value: "gti" }, { Key: "Environment", Value: "prod" }, { Key: "MaxRuntimeHours", Value: "1" }] };
    ec2Lists(foreign, instance("i-ours", 13));
    const { summary, logs } = await run();
    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([["i-ours"]]);
    expect(summary.instances.map((i) => i.instanceId)).toEqual(["i-ours"]);
    expect(logs).toContainEqual(expect.objectContaining({ level: "warn", instanceId: "i-foreign", reason: "tags do not match this env" }));
  });

  it("GIVEN a run WHEN it logs THEN every line is one JSON object with level, message and the request id, and decisions carry instanceId, action and dryRun", async () => {
    ec2Lists(instance("i-old", 13));
    const { logs } = await run();
    for (const entry of logs) expect(entry).toMatchObject({ level: expect.any(String), message: expect.any(String), requestId: "req-1" });
    expect(logs).toContainEqual(expect.objectContaining({ level: "info", message: "instance over its limit, terminated", instanceId: "i-old", action: "terminate", dryRun: false }));
  });

  it("GIVEN credentials in the environment WHEN the guard runs THEN they never appear in the logs", async () => {
    ec2Lists(instance("i-old", 13), instance("i-untagged", 2, {}));
    const { handler, lines } = handlerWith({ AWS_SECRET_ACCESS_KEY: "s3cr3t-key-value", AWS_SESSION_TOKEN: "s3ss10n-token-value" });
    await handler({ AWS_SESSION_TOKEN: "s3ss10n-token-value" }, { awsRequestId: "r" });
    expect(lines.join("\n")).not.toMatch(/s3cr3t|s3ss10n/);
  });
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

describe("EC2 spot interruption warnings and rebalance recommendations", () => {
  const SPOT = "EC2 Spot Instance Interruption Warning";
  const REBALANCE = "EC2 Instance Rebalance Recommendation";
  const event = (detailType: string, instanceId: string, extra: Record<string, string> = {}) => ({
    version: "0",
    id: "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": detailType,
    source: "aws.ec2",
    account: "123456789012",
    time: "2026-05-04T11:58:00Z",
    region: "eu-west-1",
    resources: [`arn:aws:ec2:eu-west-1:123456789012:instance/${instanceId}`],
    detail: { "instance-id": instanceId, ...extra },
  });
  const described = (...instances: Instance[]): void => {
    ec2Mock.on(DescribeInstancesCommand).resolves(page(instances));
  };

  it("GIVEN a spot warning for this env's instance WHEN handled THEN a readable alert names it, its run and what happens next", async () => {
    described({ ...instance("i-0abc123def4567890", 3, { MaxRuntimeHours: "12", RunId: "run-20260504-090000", Name: "gti-dev-gpu" }), Placement: { AvailabilityZone: "eu-west-1a" } });
    const { handler } = handlerWith();
    const result = await handler(event(SPOT, "i-0abc123def4567890", { "instance-action": "terminate" }), { awsRequestId: "r" });
    expect(result).toMatchObject({ kind: "spot-interruption-warning", instanceId: "i-0abc123def4567890", outcome: "notified", notification: { status: "published" } });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ["i-0abc123def4567890"] }]);
    const input = published();
    expect(input).toMatchObject({ TopicArn: ENV.TOPIC_ARN, Subject: "[gti/dev] Spot interruption warning: i-0abc123def4567890 (g5.xlarge)" });
    expect(input.Message).toMatch(/^\[gti\/dev\] Spot interruption warning: i-0abc123def4567890 \(g5\.xlarge\) will be terminated in about 2 minutes\./);
    expect(input.Message).toContain("Availability zone: eu-west-1a\n");
    expect(input.Message).toContain("Uptime: 3.0 h\n");
    expect(input.Message).toContain("Run id: run-20260504-090000\n");
    expect(input.Message).toContain("apply again with create_instance=true");
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it("GIVEN a rebalance recommendation for this env's fleet member WHEN handled THEN the alert says nothing is interrupted yet and names the group", async () => {
    described(instance("i-0fee1234", 2, { "aws:autoscaling:groupName": "gti-dev-fleet" }));
    const { handler } = handlerWith();
    const result = await handler(event(REBALANCE, "i-0fee1234"), { awsRequestId: "r" });
    expect(result).toMatchObject({ kind: "rebalance-recommendation", outcome: "notified" });
    const input = published();
    expect(input.Subject).toBe("[gti/dev] Rebalance recommendation: i-0fee1234 (g5.xlarge)");
    expect(input.Message).toContain("Nothing is interrupted yet");
    expect(input.Message).toContain("Auto scaling group: gti-dev-fleet\n");
  });

  it("GIVEN a spot warning for another environment's instance WHEN handled THEN nothing is published", async () => {
    described({ ...instance("i-0b0b0b01", 1), Tags: [{ Key: "Project", Value: "gti" }, { Key: "Environment", Value: "prod" }] });
    const { handler, lines } = handlerWith();
    const result = await handler(event(SPOT, "i-0b0b0b01", { "instance-action": "terminate" }), { awsRequestId: "r" });
    expect(result).toEqual({ kind: "spot-interruption-warning", instanceId: "i-0b0b0b01", outcome: "other-environment", notification: { status: "not-needed" } });
    expect(snsMock.calls()).toHaveLength(0);
    expect(lines.join("\n")).toContain("another environment's instance, dropped");
  });

  it("GIVEN a spot warning for an instance EC2 no longer knows WHEN handled THEN it is dropped without an error", async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error("The instance ID 'i-0gone123' does not exist"), { name: "InvalidInstanceID.NotFound" }));
    const { handler } = handlerWith();
    const result = await handler(event(SPOT, "i-0a0e1234", { "instance-action": "terminate" }), { awsRequestId: "r" });
    expect(result).toMatchObject({ outcome: "instance-not-found", notification: { status: "not-needed" } });
    expect(snsMock.calls()).toHaveLength(0);
  });

  it("GIVEN DescribeInstances is throttled WHEN a spot warning is handled THEN the invocation fails (Errors alarm) and nothing is published", async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "RequestLimitExceeded" }));
    const { handler } = handlerWith();
    await expect(handler(event(SPOT, "i-0abc1234"), { awsRequestId: "r" })).rejects.toMatchObject({ name: "RequestLimitExceeded" });
    expect(snsMock.calls()).toHaveLength(0);
  });

  it("GIVEN publishing fails WHEN this env's spot warning is handled THEN the invocation fails with InstanceEventNotificationError", async () => {
    described(instance("i-0abc1234", 1));
    snsMock.on(PublishCommand).rejects(Object.assign(new Error("KMS denied"), { name: "KMSAccessDenied" }));
    const { handler } = handlerWith();
    await expect(handler(event(SPOT, "i-0abc1234"), { awsRequestId: "r" })).rejects.toMatchObject({
      name: "InstanceEventNotificationError",
      message: expect.stringContaining("KMSAccessDenied: KMS denied"),
    });
  });

  it("GIVEN a spot warning without an instance id WHEN handled THEN the invocation fails instead of running the guard", async () => {
    const { handler } = handlerWith();
    const malformed = { ...event(SPOT, "i-0abc1234"), detail: {} };
    await expect(handler(malformed, { awsRequestId: "r" })).rejects.toThrow(/EC2 Spot Instance Interruption Warning event without a valid detail\.instance-id \(null\)/);
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it("GIVEN the schedule's event WHEN handled THEN the max-runtime guard runs (not the instance-event path)", async () => {
    ec2Lists(instance("i-old", 13));
    const { summary } = await run({}, {}, { "detail-type": "Scheduled Event", source: "aws.events", detail: {} });
    expect(summary.counts.acted).toBe(1);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual(instanceFilters({ project: "gti", environment: "dev" }));
  });
});
