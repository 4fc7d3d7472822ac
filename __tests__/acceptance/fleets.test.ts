/**
 * Acceptance scenario 4: the dev and prod stacks (spot fleets) applied with the real AWS provider against the local
 * AWS API, with defaults (fleet at 0) and with one node, each apply followed by a plan that must report no changes.
 * Own server; the bootstrap stack is applied first because the env stacks keep their state in its bucket.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { TerraformToolchain } from "../support/terraform";
import { type AwsEmulator, startEmulator } from "../support/aws-emulator";
import { autoScalingGroup, emulatorClients, liveInstances, tagsOf } from "../support/acceptance/clients";
import { expectNoChanges, LocalStack, type ScratchProject, synthesizeProject } from "../support/acceptance/local-stacks";
import { timedScenario } from "../support/acceptance/report";

const terraform = inject("terraform");
const emulatorDetection = inject("awsEmulator");
const reportDir = inject("acceptanceReportDir");
const reasons = [terraform, emulatorDetection].flatMap((d) => (d.available ? [] : [d.reason]));

const PROJECT = "gpu-training-infra";
const FLEET_ENVS = ["dev", "prod"] as const;

describe.skipIf(reasons.length > 0)(
  reasons.length ? `acceptance: dev and prod fleets (SKIPPED: ${reasons.join("; ")})` : "acceptance: dev and prod fleets against the local AWS API",
  () => {
    const toolchain = (terraform as { toolchain: TerraformToolchain }).toolchain;
    let emulator: AwsEmulator;
    let project: ScratchProject;

    beforeAll(async () => {
      [emulator, project] = await Promise.all([startEmulator(), synthesizeProject()]);
      // The env stacks' S3 backend needs the state bucket (scenario 1 checks this apply; here it is only set-up).
      const bootstrap = new LocalStack("bootstrap", project.stackDir("bootstrap"), toolchain, emulator.endpoint);
      await bootstrap.init();
      await bootstrap.apply();
    }, 600_000);

    afterAll(async () => {
      await emulator?.stop();
      project?.cleanup();
    });

    /** One fleet env: defaults (no node), then one node; every apply followed by an empty plan. */
    async function fleetScenario(env: (typeof FLEET_ENVS)[number]): Promise<void> {
      const stack = new LocalStack(env, project.stackDir(env), toolchain, emulator.endpoint);
      const aws = emulatorClients(emulator, stack.region);
      const groupName = `${PROJECT}-${env}-fleet`;
      const ours = { Project: PROJECT, Environment: env };
      await stack.init();
      await stack.apply();
      expectNoChanges(await stack.plan(), `the first ${env} apply`);
      const idle = await autoScalingGroup(aws.autoScaling, groupName);
      expect(idle).toMatchObject({ MinSize: 0, DesiredCapacity: 0 });
      expect(idle.MixedInstancesPolicy?.LaunchTemplate?.Overrides?.length, "the group keeps its mixed instances policy").toBeGreaterThan(0);
      expect(await liveInstances(aws.ec2, ours), `${env}: nothing runs at rest`).toEqual([]);

      // Scaling up must plan only what really changes (the group, and in multi-node mode the run id and the template
      // carrying it), never the guard's permission on the group (its ARN is built from the group's name).
      const one = { desired_instances: 1 };
      const scaleUp = await stack.plan(one);
      const changed = scaleUp.changes.map((c) => c.address);
      expect(changed, scaleUp.description).toContain("aws_autoscaling_group.fleet");
      expect(changed.filter((a) => a.includes("terminate_fleet_members")), scaleUp.description).toEqual([]);

      await stack.apply(one);
      expectNoChanges(await stack.plan(one), `${env} desired_instances=1`);
      const busy = await autoScalingGroup(aws.autoScaling, groupName);
      expect(busy.DesiredCapacity).toBe(1);
      expect(busy.Instances ?? []).toHaveLength(1);
      const members = await liveInstances(aws.ec2, ours);
      expect(members.map((m) => m.InstanceId), `${env}: exactly the group's member runs`).toEqual(busy.Instances?.map((i) => i.InstanceId));
      // What the runtime guard and the nodes rely on: the launch template's tags, and the group's own tag.
      expect(tagsOf(members[0] ?? {})).toMatchObject({
        ...ours,
        "aws:autoscaling:groupName": groupName,
        MaxRuntimeHours: String((stack.json.variable?.max_runtime_hours as { default: number }).default),
      });
    }

    it("4 fleets: GIVEN dev and prod WHEN applied with defaults, then with desired_instances=1 THEN no node, then one member of the group, each plan after with no changes", async () => {
      await timedScenario(reportDir, "4 dev + prod fleets", async () => {
        // Independent stacks on one server: applied at the same time (the time is mostly the provider waiting).
        const results = await Promise.allSettled(FLEET_ENVS.map((env) => fleetScenario(env)));
        const failures = results.flatMap((r, i) => (r.status === "rejected" ? [`${FLEET_ENVS[i]}: ${String((r.reason as Error).message ?? r.reason)}`] : []));
        expect(failures, failures.join("\n\n")).toEqual([]);
      });
    });
  },
);
