/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): pure decisions, configuration, and the handler
 * against aws-sdk-client-mock (no network, no credentials): max-runtime runs, auto scaling group members, and the EC2
 * spot interruption / rebalance events.
 */
import {
  DescribeInstancesCommand,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { beforeEach, describe, expect, it } from "vitest";
import { instanceFilters } from "../../../../modules/training-safety/runtime-guard/guard";
import {
  ENV,
  ec2Lists,
  ec2Mock,
  handlerWith,
  instance,
  page,
  published,
  resetGuardMocks,
  run,
  snsMock,
} from "../../../support/safety/guard-handler";

beforeEach(resetGuardMocks);

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
