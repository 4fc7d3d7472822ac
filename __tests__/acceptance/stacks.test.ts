/**
 * Acceptance scenarios 1-3: the bootstrap and training stacks applied with the real AWS provider against the local
 * AWS API (moto server through scripts/local-aws.py, one server for this file), each apply followed by a plan that
 * must report no changes. The scenarios build on each other (the training stack keeps its state in the bucket the
 * bootstrap stack creates), so they run in order; a scenario whose predecessor failed fails saying so.
 */
import { DescribeSpotInstanceRequestsCommand, DescribeVolumesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { TerraformToolchain } from "../support/terraform";
import { type AwsEmulator, startEmulator } from "../support/aws-emulator";
import { type EmulatorClients, emulatorClients, headObject, liveInstances, tagsOf } from "../support/acceptance/clients";
import { expectNoChanges, LocalStack, type ScratchProject, synthesizeProject } from "../support/acceptance/local-stacks";
import { timedScenario } from "../support/acceptance/report";

const terraform = inject("terraform");
const emulatorDetection = inject("awsEmulator");
const reportDir = inject("acceptanceReportDir");
const reasons = [terraform, emulatorDetection].flatMap((d) => (d.available ? [] : [d.reason]));

const PROJECT = "gpu-training-infra";
const ENV = "training";

describe.skipIf(reasons.length > 0)(
  reasons.length ? `acceptance: bootstrap and training stacks (SKIPPED: ${reasons.join("; ")})` : "acceptance: bootstrap and training stacks against the local AWS API",
  () => {
    const toolchain = (terraform as { toolchain: TerraformToolchain }).toolchain;
    let emulator: AwsEmulator;
    let project: ScratchProject;
    let aws: EmulatorClients;
    let bootstrap: LocalStack;
    let training: LocalStack;
    const done = new Set<number>();
    const needs = (scenario: number) => {
      if (!done.has(scenario)) throw new Error(`this scenario needs scenario ${scenario}, which did not pass (see above)`);
    };

    beforeAll(async () => {
      [emulator, project] = await Promise.all([startEmulator(), synthesizeProject()]);
      bootstrap = new LocalStack("bootstrap", project.stackDir("bootstrap"), toolchain, emulator.endpoint);
      training = new LocalStack(ENV, project.stackDir(ENV), toolchain, emulator.endpoint);
      aws = emulatorClients(emulator, training.region);
    });

    afterAll(async () => {
      await emulator?.stop();
      project?.cleanup();
    });

    it("1 bootstrap: GIVEN the bootstrap stack WHEN terraform init and apply run THEN the state bucket exists and the next plan has no changes", async () => {
      await timedScenario(reportDir, "1 bootstrap", async () => {
        await bootstrap.init();
        expect(await bootstrap.apply()).toMatch(/^Apply complete! Resources: [1-9]\d* added, 0 changed, 0 destroyed\.$/);
        expectNoChanges(await bootstrap.plan(), "the bootstrap apply");
        const outputs = await bootstrap.outputs();
        expect(outputs.state_bucket).toBe(training.s3Backend?.bucket);
      });
      done.add(1);
    });

    it("2 training backend: GIVEN the training stack with its S3 backend WHEN applied with defaults THEN the state is stored encrypted, the lock file was written and released, and the next plan has no changes", async () => {
      needs(1);
      await timedScenario(reportDir, "2 training + S3 backend", async () => {
        const backend = training.s3Backend;
        // From the synthesized JSON, not from the test: only the endpoint and path-style addressing are supplied.
        expect(backend).toMatchObject({ encrypt: true, use_lockfile: true });
        const { bucket, key } = backend as { bucket: string; key: string };
        await training.init();
        // moto's request recorder shows what the backend sent: the lock is taken with a conditional PUT (fails if
        // the lock file exists), the state written encrypted, the lock deleted at the end.
        const { result: summary, requests } = await emulator.recordRequests(() => training.apply());
        expect(summary).toMatch(/^Apply complete! Resources: [1-9]\d* added, 0 changed, 0 destroyed\.$/);
        expectNoChanges(await training.plan(), "the first training apply");

        const statePath = `/${bucket}/${key}`;
        const lockPath = `${statePath}.tflock`;
        const writes = requests
          .map((r, index) => ({ ...r, index, path: new URL(r.url).pathname }))
          .filter((r) => (r.method === "PUT" || r.method === "DELETE") && (r.path === statePath || r.path === lockPath));
        const header = (r: { headers: Readonly<Record<string, string>> }, name: string) =>
          Object.entries(r.headers).find(([k]) => k.toLowerCase() === name)?.[1];
        const lockPuts = writes.filter((r) => r.method === "PUT" && r.path === lockPath);
        const lockDeletes = writes.filter((r) => r.method === "DELETE" && r.path === lockPath);
        const statePuts = writes.filter((r) => r.method === "PUT" && r.path === statePath);
        expect(lockPuts, "one lock taken").toHaveLength(1);
        expect(header(lockPuts[0] ?? { headers: {} }, "if-none-match"), "the lock is a conditional write (use_lockfile)").toBe("*");
        expect(lockDeletes, "the lock released").toHaveLength(1);
        expect(statePuts.length, "the state written").toBeGreaterThan(0);
        for (const put of statePuts) {
          expect(header(put, "x-amz-server-side-encryption"), "the state is written with server-side encryption (encrypt)").toBe("AES256");
          expect(put.index, "the state is written while the lock is held").toBeGreaterThan(lockPuts[0]?.index ?? Infinity);
          expect(put.index).toBeLessThan(lockDeletes[0]?.index ?? -Infinity);
        }
        expect(writes.at(-1), "the lock is released last").toBe(lockDeletes[0]);

        expect(headObject(emulator, bucket, key), "the state object exists, encrypted at rest").toEqual({ exists: true, serverSideEncryption: "AES256" });
        expect(headObject(emulator, bucket, `${key}.tflock`), "no lock file is left").toEqual({ exists: false });
      });
      done.add(2);
    });

    it("3 training toggles: GIVEN the applied training stack WHEN create_instance and use_spot are toggled THEN one spot instance as configured, then one on-demand instance, then none, each plan after with no changes", async () => {
      needs(2);
      await timedScenario(reportDir, "3 training toggles", async () => {
        const rootSize = Number((training.json.variable?.root_volume_size_gb as { default: number }).default);
        const maxRuntime = String((training.json.variable?.max_runtime_hours as { default: number }).default);
        const ours = { Project: PROJECT, Environment: ENV };

        const spotVars = { create_instance: true };
        await training.apply(spotVars);
        expectNoChanges(await training.plan(spotVars), "create_instance=true");
        const [spot, ...extraSpot] = await liveInstances(aws.ec2, ours);
        expect(extraSpot, "exactly one instance").toEqual([]);
        expect(spot?.InstanceLifecycle).toBe("spot");
        const request = await aws.ec2.send(new DescribeSpotInstanceRequestsCommand({ SpotInstanceRequestIds: [spot?.SpotInstanceRequestId ?? "none"] }));
        expect(request.SpotInstanceRequests?.[0]).toMatchObject({ Type: "one-time", InstanceInterruptionBehavior: "terminate", InstanceId: spot?.InstanceId });
        expect(tagsOf(spot ?? {})).toMatchObject({
          ...ours,
          Name: `${PROJECT}-${ENV}-gpu`,
          ManagedBy: "cdktf",
          MaxRuntimeHours: maxRuntime,
          AutoShutdown: "true",
          RunId: expect.stringMatching(/\S/),
        });
        expect(spot?.MetadataOptions).toMatchObject({ HttpTokens: "required", HttpEndpoint: "enabled" });
        expect(spot?.SecurityGroups?.map((g) => g.GroupName)).toEqual([`${PROJECT}-${ENV}-instance`]);
        const root = spot?.BlockDeviceMappings?.find((m) => m.DeviceName === spot.RootDeviceName)?.Ebs?.VolumeId;
        const volumes = await aws.ec2.send(new DescribeVolumesCommand({ VolumeIds: [root ?? "none"] }));
        expect(volumes.Volumes?.[0]).toMatchObject({ Encrypted: true, VolumeType: "gp3", Size: rootSize });
        expect((await training.outputs()).instance_id).toBe(spot?.InstanceId);

        const onDemandVars = { create_instance: true, use_spot: false };
        await training.apply(onDemandVars);
        expectNoChanges(await training.plan(onDemandVars), "use_spot=false");
        const [onDemand, ...extraOnDemand] = await liveInstances(aws.ec2, ours);
        expect(extraOnDemand, "exactly one instance: the spot one was replaced, not kept").toEqual([]);
        expect(onDemand?.InstanceId).not.toBe(spot?.InstanceId);
        expect(onDemand?.InstanceLifecycle, "on-demand instances have no lifecycle").toBeUndefined();
        expect(onDemand?.SpotInstanceRequestId).toBeUndefined();

        const offVars = { create_instance: false };
        expect(await training.apply(offVars)).toMatch(/ 0 added, .* [1-9]\d* destroyed\.$/);
        expectNoChanges(await training.plan(offVars), "create_instance=false");
        expect(await liveInstances(aws.ec2, ours), "no instance left").toEqual([]);
        expect((await training.outputs()).instance_id).toBe("");
      });
      done.add(3);
    });
  },
);
