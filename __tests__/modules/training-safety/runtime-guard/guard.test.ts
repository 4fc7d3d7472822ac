/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): pure decisions, configuration, and the handler
 * against aws-sdk-client-mock (no network, no credentials): max-runtime runs, auto scaling group members, and the EC2
 * spot interruption / rebalance events.
 */
import {
  DescribeInstancesCommand,
  type Instance,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { beforeEach, describe, expect, it } from "vitest";
import { GuardNotificationError, instanceFilters } from "../../../../modules/training-safety/runtime-guard/guard";
import {
  ENV,
  ec2Lists,
  ec2Mock,
  handlerWith,
  instance,
  outcomeOf,
  page,
  published,
  resetGuardMocks,
  run,
  snsMock,
} from "../../../support/safety/guard-handler";

beforeEach(resetGuardMocks);

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
