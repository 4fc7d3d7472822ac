/**
 * Acceptance scenario 5: the runtime guard Lambda exactly as deployed (the zip in the synthesized dev stack's assets,
 * its handler, its environment variables from the synthesized JSON) run against the local AWS API's EC2, Auto
 * Scaling and SNS, with instances seeded to cover every case: over the limit (terminated, or stopped), fleet members
 * (terminated through their group, desired capacity lowered), another env, another project, untagged, under the
 * limit, more instances than one DescribeInstances page, and a dry run that changes nothing. Own server.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  type Instance,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { GuardSummary } from "../../modules/training-safety/runtime-guard/summary";
import type { SynthesizedStack } from "../support/synth";
import { type AwsEmulator, startEmulator } from "../support/aws-emulator";
import { autoScalingGroup, type EmulatorClients, emulatorClients, tagsOf } from "../support/acceptance/clients";
import { type DeployedFunction, deployedFunction, invoke } from "../support/acceptance/lambda-runner";
import { type ScratchProject, synthesizeProject } from "../support/acceptance/local-stacks";
import { timedScenario } from "../support/acceptance/report";

const emulatorDetection = inject("awsEmulator");
const reportDir = inject("acceptanceReportDir");

const PROJECT = "gpu-training-infra";
const ENV = "dev";
/** A Deep Learning AMI moto ships (scripts/local-aws.py maps the DLAMI parameters to it). */
const IMAGE = "ami-dca37ea5";
/** 0.36 s: any instance tagged with it is over its limit a moment after launch. */
const OVER = "0.0001";
/** 1000 hours: never reached in a test. */
const UNDER = "1000";
/** More instances of this env than one DescribeInstances page (the guard asks for 100 per page). */
const PAGE_FILLERS = 101;
const FLEET_GROUP = `${PROJECT}-${ENV}-fleet`;

/** The event EventBridge's hourly schedule sends. */
const SCHEDULED_EVENT = {
  version: "0",
  id: "acceptance-schedule",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: new Date().toISOString(),
  region: "us-east-1",
  resources: [`arn:aws:events:us-east-1:123456789012:rule/${PROJECT}-${ENV}-guard-schedule`],
  detail: {},
};

describe.skipIf(!emulatorDetection.available)(
  emulatorDetection.available ? "acceptance: runtime guard Lambda against the local AWS API" : `acceptance: runtime guard Lambda (SKIPPED: ${emulatorDetection.reason})`,
  () => {
    let emulator: AwsEmulator;
    let project: ScratchProject;
    let aws: EmulatorClients;
    let guard: DeployedFunction;
    let environment: Record<string, string>;

    beforeAll(async () => {
      [emulator, project] = await Promise.all([startEmulator(), synthesizeProject()]);
      aws = emulatorClients(emulator);
      const dev = project.stackDir(ENV);
      const json = JSON.parse(readFileSync(join(dev, "cdk.tf.json"), "utf8")) as SynthesizedStack;
      guard = deployedFunction(dev, json, "safety_guard");
      const topic = await aws.sns.send(new CreateTopicCommand({ Name: `${PROJECT}-${ENV}-alerts` }));
      // The only Terraform reference among the variables: the topic's ARN, known once the topic exists.
      environment = { ...guard.environment, TOPIC_ARN: topic.TopicArn ?? "" };
    });

    afterAll(async () => {
      guard?.cleanup();
      await emulator?.stop();
      project?.cleanup();
    });

    /** Launches `count` instances, one reservation each (moto pages DescribeInstances by reservation). */
    async function launch(tags: Record<string, string>, count = 1): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(10, count - i) }, () =>
            aws.ec2.send(
              new RunInstancesCommand({
                ImageId: IMAGE,
                InstanceType: "g5.xlarge",
                MinCount: 1,
                MaxCount: 1,
                TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
              }),
            ),
          ),
        );
        ids.push(...batch.flatMap((r) => r.Instances?.map((inst) => inst.InstanceId ?? "") ?? []));
      }
      return ids;
    }

    async function states(): Promise<Map<string, string>> {
      const found = new Map<string, string>();
      let token: string | undefined;
      do {
        const page = await aws.ec2.send(new DescribeInstancesCommand({ NextToken: token }));
        for (const inst of page.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) found.set(inst.InstanceId ?? "", inst.State?.Name ?? "");
        token = page.NextToken;
      } while (token);
      return found;
    }

    it("5 runtime guard: GIVEN this env's instances over and under their limit, fleet members, other envs and projects, untagged ones and more than a page WHEN the deployed guard runs (dry run, then for real, then with ACTION=stop) THEN exactly the over-limit ones of this env are acted on", async () => {
      await timedScenario(reportDir, "5 runtime guard Lambda", async () => {
        const ours = { Project: PROJECT, Environment: ENV };
        const [overLimit] = await launch({ ...ours, MaxRuntimeHours: OVER });
        const [underLimit] = await launch({ ...ours, MaxRuntimeHours: UNDER });
        const [untagged] = await launch(ours);
        const [otherEnv] = await launch({ Project: PROJECT, Environment: "prod", MaxRuntimeHours: OVER });
        const [otherProject] = await launch({ Project: "someone-else", Environment: ENV, MaxRuntimeHours: OVER });
        const fillers = await launch({ ...ours, MaxRuntimeHours: UNDER }, PAGE_FILLERS);
        const subnets = await aws.ec2.send(new DescribeSubnetsCommand({}));
        const template = await aws.ec2.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: FLEET_GROUP,
            LaunchTemplateData: {
              ImageId: IMAGE,
              InstanceType: "g5.xlarge",
              TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries({ ...ours, MaxRuntimeHours: OVER }).map(([Key, Value]) => ({ Key, Value })) }],
            },
          }),
        );
        await aws.autoScaling.send(
          new CreateAutoScalingGroupCommand({
            AutoScalingGroupName: FLEET_GROUP,
            LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate?.LaunchTemplateId, Version: "$Latest" },
            MinSize: 0,
            MaxSize: 4,
            DesiredCapacity: 2,
            VPCZoneIdentifier: subnets.Subnets?.[0]?.SubnetId,
          }),
        );
        const members = ((await autoScalingGroup(aws.autoScaling, FLEET_GROUP)).Instances ?? []).map((i) => i.InstanceId ?? "");
        expect(members).toHaveLength(2);
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // the OVER limit is 0.36 s
        const actedOn = [overLimit, ...members];
        const leftAlone = [underLimit, untagged, otherEnv, otherProject, ...fillers];

        // Dry run (the documented manual invocation): everything reported, nothing touched.
        const before = await states();
        const dry = await invoke<GuardSummary>(guard, emulator, environment, { dryRun: true });
        expect(dry.error).toBeUndefined();
        expect(dry.result?.dryRun).toBe(true);
        expect(dry.result?.counts).toMatchObject({ found: 3 + 2 + PAGE_FILLERS, overLimit: 3, wouldAct: 3, acted: 0, untagged: 1, withinLimit: 1 + PAGE_FILLERS });
        expect(outcomes(dry.result, actedOn)).toEqual(["would-terminate", "would-terminate", "would-terminate"]);
        expect(await states(), "a dry run changes no instance").toEqual(before);
        expect((await autoScalingGroup(aws.autoScaling, FLEET_GROUP)).DesiredCapacity, "a dry run leaves the group alone").toBe(2);
        const found = dry.logs.find((l): l is { message: string; pages: number; count: number } => (l as { message?: string }).message === "instances found");
        expect(found?.pages, "the instances came in more than one DescribeInstances page").toBeGreaterThanOrEqual(2);

        // The hourly run, for real.
        const run = await invoke<GuardSummary>(guard, emulator, environment, SCHEDULED_EVENT);
        expect(run.error).toBeUndefined();
        expect(run.result).toMatchObject({ dryRun: false, action: "terminate", notification: { status: "published" } });
        expect(run.result?.counts).toMatchObject({ overLimit: 3, acted: 3, failed: 0, untagged: 1 });
        const byId = new Map(run.result?.instances.map((r) => [r.instanceId, r]));
        expect(byId.get(overLimit ?? "")).toMatchObject({ outcome: "terminated", action: "terminate" });
        expect(byId.get(overLimit ?? "")?.autoScalingGroup).toBeUndefined();
        for (const member of members) expect(byId.get(member)).toMatchObject({ outcome: "terminated", autoScalingGroup: FLEET_GROUP });
        const after = await states();
        for (const id of actedOn) expect(after.get(id ?? ""), `${id} acted on`).toMatch(/^(shutting-down|terminated)$/);
        for (const id of leftAlone) expect(after.get(id ?? ""), `${id} left alone`).toBe("running");
        const group = await autoScalingGroup(aws.autoScaling, FLEET_GROUP);
        expect(group.DesiredCapacity, "the group's desired capacity is lowered with each member, so none is replaced").toBe(0);
        expect(group.Instances ?? []).toEqual([]);

        // ACTION=stop: a plain instance over its limit is stopped, not terminated.
        const [toStop] = await launch({ ...ours, MaxRuntimeHours: OVER });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const stop = await invoke<GuardSummary>(guard, emulator, { ...environment, ACTION: "stop" }, SCHEDULED_EVENT);
        expect(stop.error).toBeUndefined();
        expect(stop.result?.counts).toMatchObject({ acted: 1, overLimit: 1 });
        expect(outcomes(stop.result, [toStop])).toEqual(["stopped"]);
        const final = await states();
        expect(final.get(toStop ?? "")).toMatch(/^(stopping|stopped)$/);
        for (const id of leftAlone) expect(final.get(id ?? ""), `${id} left alone`).toBe("running");
        expect(tagsOf((await describe1(toStop ?? "")) ?? {})).toMatchObject(ours);
      });
    });

    async function describe1(id: string): Promise<Instance | undefined> {
      const page = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      return page.Reservations?.[0]?.Instances?.[0];
    }
  },
);

/** The outcome the summary gives each of `ids` (in that order). */
function outcomes(summary: GuardSummary | undefined, ids: readonly (string | undefined)[]): (string | undefined)[] {
  const byId = new Map(summary?.instances.map((r) => [r.instanceId, r.outcome]));
  return ids.map((id) => byId.get(id ?? ""));
}

