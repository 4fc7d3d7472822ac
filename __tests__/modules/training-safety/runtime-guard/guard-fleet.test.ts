/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): pure decisions, configuration, and the handler
 * against aws-sdk-client-mock (no network, no credentials): max-runtime runs, auto scaling group members, and the EC2
 * spot interruption / rebalance events.
 */
import { TerminateInstanceInAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import {
  type Instance,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { beforeEach, describe, expect, it } from "vitest";
import {
  autoScalingMock,
  ec2Lists,
  ec2Mock,
  instance,
  published,
  resetGuardMocks,
  run,
} from "../../../support/safety/guard-handler";

beforeEach(resetGuardMocks);

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
