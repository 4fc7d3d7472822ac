/**
 * `gti status`, `gti stop` and `gti doctor` against a real local AWS API (moto server through scripts/local-aws.py,
 * one per file, answering as account 210987654321), with data the test creates through the SDK: tagged instances (one
 * spot), GPU metrics, a run in the outputs bucket, the state object, an alerts topic with an e-mail subscription, an
 * ECR image, GPU quotas (RequestServiceQuotaIncrease) and the cost allocation tag. terraform is a stub script where
 * its answer is the point (version, init, the release's apply arguments); one check uses the real one when present.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CostExplorerClient, UpdateCostAllocationTagsStatusCommand } from "@aws-sdk/client-cost-explorer";
import { DescribeImagesCommand as Ec2DescribeImages, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { RequestServiceQuotaIncreaseCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AwsEmulator, detectEmulator, startEmulator } from "../support/aws-emulator";
import { emulatorS3, hasStackTrace, labEnv, runGti, seedState, spawnGti, stubTerraform, writeEnvFiles } from "../support/cli";
import { runWatcher } from "../support/runtime/progress-harness";
import { detectTerraform } from "../support/terraform";

const detection = detectEmulator();
if (!detection.available) console.log(`gti status/stop/doctor tests SKIPPED: ${detection.reason}`);

const ACCOUNT = "210987654321";
const BUCKET = "acme-ops-outputs";
const STATE_BUCKET = "acme-gti-tfstate";
const RUN = "run-20261207-100000";
const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };

describe.runIf(detection.available)("gti status, stop, doctor against the local AWS API", () => {
  let emulator: AwsEmulator;
  let s3: S3Client;
  let ec2: EC2Client;
  let temp: string;
  let env: Record<string, string>;
  let spotId: string;
  let onDemandId: string;
  const now = new Date();
  const client = <T>(Client: new (config: object) => T): T => new Client({ region: "us-east-1", endpoint: emulator.endpoint, credentials });

  beforeAll(async () => {
    emulator = await startEmulator({ accountId: ACCOUNT });
    // The SDK and gti in this process talk to the emulator (undone in afterAll: the next test files share the process).
    for (const [name, value] of Object.entries(emulator.env)) vi.stubEnv(name, value);
    temp = mkdtempSync(join(tmpdir(), "gti-ops-"));
    const clean = { allowedAccountIds: [ACCOUNT], safety: { monthlyBudgetUsd: 150, alertEmails: ["oncall@acme-ml.io"] }, compute: { instanceType: "g5.xlarge", trainingImageTag: "v1" } };
    env = {
      GTI_ENVS_DIR: writeEnvFiles(join(temp, "envs"), [
        labEnv("ops", clean),
        labEnv("fleet", { ...clean, fleet: { enabled: true, instanceTypes: ["g5.xlarge", "g5.2xlarge"], maxInstances: 4 } }),
        labEnv("fresh", clean),
      ]),
      TERRAFORM_BIN: stubTerraform(join(temp, "tf-ok")),
      TF_CLI_CONFIG_FILE: join(temp, "missing.tfrc"),
    };
    s3 = emulatorS3(emulator.endpoint);
    ec2 = client(EC2Client);

    const topic = await client(SNSClient).send(new CreateTopicCommand({ Name: "acme-ops-alerts" }));
    await client(SNSClient).send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "email", Endpoint: "oncall@acme-ml.io" }));
    const repo = await client(ECRClient).send(new CreateRepositoryCommand({ repositoryName: "acme-ops-training" }));
    const outputs = {
      outputs_bucket: BUCKET,
      run_id: RUN,
      instance_id: "",
      alerts_topic_arn: topic.TopicArn!,
      ecr_repository_url: repo.repository!.repositoryUri!,
      fleet_asg_name: "",
    };
    await seedState(s3, STATE_BUCKET, "ops", outputs);
    await seedState(s3, STATE_BUCKET, "fleet", { ...outputs, run_id: "" });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `runs/${RUN}/checkpoints/checkpoint-300/model.pt`, Body: "w".repeat(4096) }));
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `runs/${RUN}/checkpoints/LATEST.json`,
        Body: JSON.stringify({ checkpoint: "checkpoint-300", synced_at: new Date(now.getTime() - 6 * 60_000).toISOString() }),
      }),
    );

    // The run's progress.json as the runtime's watcher writes it: step 300 of 1200 at 1 step/s, the last report 20 s ago.
    const start = Math.floor(now.getTime() / 1000) - 320;
    const progress = runWatcher({
      start,
      reports: Array.from({ length: 30 }, (_, i) => ({ at: (i + 1) * 10, lines: [`{"step": ${(i + 1) * 10}, "total_steps": 1200, "loss": ${(2.5 - i * 0.04).toFixed(2)}, "learning_rate": 0.0002}`] })),
      end: 300,
    });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `runs/${RUN}/progress.json`, Body: JSON.stringify(progress.snapshot) }));

    const image = (await ec2.send(new Ec2DescribeImages({ Owners: ["amazon"] }))).Images?.find((i) => i.Architecture === "x86_64")?.ImageId ?? "ami-dca37ea5";
    const tags = (extra: Record<string, string>) => [
      { ResourceType: "instance" as const, Tags: Object.entries({ Project: "gpu-training-infra", Environment: "ops", MaxRuntimeHours: "12", ...extra }).map(([Key, Value]) => ({ Key, Value })) },
    ];
    const spot = await ec2.send(
      new RunInstancesCommand({ ImageId: image, InstanceType: "g5.xlarge", MinCount: 1, MaxCount: 1, InstanceMarketOptions: { MarketType: "spot" }, TagSpecifications: tags({ RunId: RUN }) }),
    );
    spotId = spot.Instances![0]!.InstanceId!;
    const other = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: "g5.xlarge", MinCount: 1, MaxCount: 1, TagSpecifications: tags({ Environment: "elsewhere" }) }));
    onDemandId = other.Instances![0]!.InstanceId!;

    // GPU utilisation of the spot instance: 20 minutes of datapoints, busy.
    const metrics = client(CloudWatchClient);
    await metrics.send(
      new PutMetricDataCommand({
        Namespace: "GpuTraining/ops",
        MetricData: Array.from({ length: 20 }, (_, i) => ({
          MetricName: "nvidia_smi_utilization_gpu",
          Dimensions: [{ Name: "InstanceId", Value: spotId }],
          Timestamp: new Date(now.getTime() - (20 - i) * 60_000),
          Value: i < 5 ? 10 : 97,
        })),
      }),
    );
  }, 120_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await emulator?.stop();
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  describe("gti status", () => {
    it("GIVEN a tagged spot instance training a run WHEN `gti status` runs THEN node, run, checkpoint, deadline, cost and a GPU sparkline", async () => {
      const result = await runGti(["status", "ops"], env, { now: () => now });
      expect(result.code, result.stderr).toBe(0);
      const row = result.stdout.split("\n").find((l) => l.startsWith(spotId));
      expect(row).toMatch(new RegExp(`^${spotId}\\s+g5\\.xlarge\\s+spot\\s+running\\s+\\S.*\\s+${RUN}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(12 h\\)\\s+~\\$`));
      expect(result.stdout).not.toContain(onDemandId); // another env's instance
      expect(result.stdout).toMatch(new RegExp(`GPU ${spotId}, last 30 min: \\[ {10}▁{5}█{15}\\] now 97%`));
      expect(result.stdout).toContain(`Run ${RUN}: RUNNING`);
      expect(result.stdout).toMatch(/newest complete checkpoint: checkpoint-300 \(in S3 .* UTC, 6m 00s ago\)/);
    });

    it("GIVEN the run's progress.json WHEN `gti status` runs THEN step / total with a progress bar, ETA and rate, the loss with its trend", async () => {
      const result = await runGti(["status", "ops"], env, { now: () => now });
      const lines = result.stdout.split("\n");
      const at = lines.indexOf(`Run ${RUN}: RUNNING`);
      // (now has milliseconds, progress.json whole seconds: 20 or 21 s ago)
      expect(lines[at + 2]).toMatch(/^ {2}progress: step 300 \/ 1200 \[█{6}░{18}\] 25%, ETA 14m (40|39)s at 1 steps\/s, last step (20|21)s ago$/);
      expect(lines[at + 3]).toMatch(/^ {2}loss: 1\.34 ↓ \[█+.*▁\] \(from 2\.5\)$/);
      expect(lines[at + 4]).toMatch(/^ {2}newest complete checkpoint: checkpoint-300/);
    });

    it("GIVEN --json WHEN run THEN the nodes, the run and the cost so far as data", async () => {
      const parsed = JSON.parse((await runGti(["status", "ops", "--json"], env, { now: () => now })).stdout) as {
        nodes: { id: string; market: string; runId: string; gpuUtilization: (number | null)[]; costSoFarUsd: number }[];
        runs: { id: string; status: string; newestCheckpoint: string }[];
      };
      expect(parsed.nodes).toHaveLength(1);
      expect(parsed.nodes[0]).toMatchObject({ id: spotId, market: "spot", runId: RUN });
      expect(parsed.nodes[0]!.gpuUtilization.filter((v) => v !== null)).toHaveLength(20);
      expect(parsed.runs[0]).toMatchObject({
        id: RUN,
        status: "RUNNING",
        newestCheckpoint: "checkpoint-300",
        progress: { step: 300, totalSteps: 1200, percent: 25, lossTrend: "down", stalled: false },
      });
      expect([879, 880]).toContain((parsed.runs[0] as unknown as { progress: { etaSeconds: number } }).progress.etaSeconds);
    });

    it("GIVEN an env with no instance WHEN `gti status` runs THEN it says so, how to start one, and shows the newest run", async () => {
      const result = await runGti(["status", "fleet"], env, { now: () => now });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("No instance is running.");
      expect(result.stderr).toContain("npx cdktf deploy fleet --var create_instance=true (fleet: --var desired_instances=N, at most 4)");
      expect(result.stdout).toContain(`Run ${RUN}: RUNNING`);
    });
  });

  describe("gti stop", () => {
    it("GIVEN the running instance WHEN `gti stop` runs THEN training-stop goes to it through SSM Run Command and the release command is shown", async () => {
      const result = await runGti(["stop", "ops"], env);
      expect(result.code, result.stderr).toBe(0);
      const commands = (await client(SSMClient).send(new ListCommandsCommand({}))).Commands ?? [];
      const sent = commands.find((c) => c.Comment === "gti stop ops");
      expect(sent).toMatchObject({ DocumentName: "AWS-RunShellScript", InstanceIds: [spotId] });
      expect(sent?.Parameters?.commands).toEqual(["/opt/gpu-training/bin/training-stop"]);
      expect(result.stdout).toContain(`${spotId}: Success`);
      expect(result.stdout).toContain("Release: npx cdktf deploy ops --var create_instance=false (or gti stop ops --release)");
    });

    it("GIVEN --release --yes WHEN run THEN terraform applies create_instance=false (and desired_instances=0 for a fleet) in the stack folder", async () => {
      const stacks = join(temp, "stacks");
      for (const name of ["ops", "fleet"]) {
        mkdirSync(join(stacks, name, ".terraform"), { recursive: true });
        writeFileSync(join(stacks, name, "cdk.tf.json"), "{}");
      }
      const tf = stubTerraform(join(temp, "tf-release"));
      const result = await runGti(["stop", "fleet", "--release", "--yes"], { ...env, TERRAFORM_BIN: tf, GTI_STACKS_DIR: stacks });
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(join(temp, "tf-release", "calls.log"), "utf8")).toBe("apply -input=false -var create_instance=false -var desired_instances=0 -auto-approve\n");
      expect(result.stdout).toContain("Released: terraform apply");
    });

    it("GIVEN --release without --yes outside a terminal WHEN run THEN it is a usage error (exit 2) asking for --yes", async () => {
      const result = await runGti(["stop", "ops", "--release"], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe("Error: --release asks for confirmation, and this is not a terminal.\nFix: add --yes to apply without asking\n");
    });

    it("GIVEN no running instance WHEN `gti stop` runs as a process THEN exit 1: nothing to stop, no stack trace", async () => {
      const result = await spawnGti(["stop", "fresh"], { ...env, ...emulator.env });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('Error: No running instance of "fresh" in us-east-1.\nFix: check with `gti status fresh`; nothing to stop\n');
      expect(hasStackTrace(result.stderr)).toBe(false);
    }, 60_000);
  });

  describe("gti doctor", () => {
    it("GIVEN GPU quotas at 0 and the cost tag never activated WHEN `gti doctor` runs THEN the spot quota FAILs with the request command, exit 1", async () => {
      const result = await runGti(["doctor", "ops"], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^FAIL  quota L-3819A6DF: All G and VT Spot Instance Requests \(spot\) in us-east-1: 0 vCPUs; one instance needs 4: the first run cannot start$/m);
      expect(result.stdout).toContain("fix: request more: aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF --desired-value 4 --region us-east-1");
      expect(result.stdout).toMatch(/^WARN  quota L-DB2E81BA: .* \(only with use_spot=false\)$/m);
      expect(result.stdout).toMatch(/^WARN  cost allocation tag: Environment is not a cost allocation tag yet/m);
    });

    it("GIVEN quotas granted, the tag active, the image pushed WHEN `gti doctor` runs THEN every check PASSes and it exits 0", async () => {
      const sq = client(ServiceQuotasClient);
      for (const QuotaCode of ["L-3819A6DF", "L-DB2E81BA"]) await sq.send(new RequestServiceQuotaIncreaseCommand({ ServiceCode: "ec2", QuotaCode, DesiredValue: 32 }));
      await client(CostExplorerClient).send(new UpdateCostAllocationTagsStatusCommand({ CostAllocationTagsStatus: [{ TagKey: "Environment", Status: "Active" }] }));
      await client(ECRClient).send(new PutImageCommand({ repositoryName: "acme-ops-training", imageTag: "v1", imageManifest: JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: { digest: "sha256:" + "a".repeat(64), size: 1, mediaType: "application/vnd.docker.container.image.v1+json" }, layers: [] }) }));
      const result = await runGti(["doctor", "ops"], env);
      expect(result.code, result.stdout).toBe(0);
      expect(result.stdout.match(/^(PASS|WARN|FAIL|SKIP) {2}[^:]+/gm)).toEqual([
        "PASS  terraform",
        "PASS  aws provider",
        "PASS  placeholders",
        `PASS  credentials`,
        "PASS  state bucket",
        "PASS  quota L-DB2E81BA",
        "PASS  quota L-3819A6DF",
        "PASS  cost allocation tag",
        "PASS  alert subscriptions",
        "PASS  training image",
      ]);
      expect(result.stdout).toContain(`PASS  credentials: arn:aws:sts::${ACCOUNT}:user/moto in account ${ACCOUNT} (allowed by allowedAccountIds)`);
      expect(result.stdout).toContain("Summary: 10 PASS, 0 WARN, 0 FAIL, 0 SKIP");
    });

    it("GIVEN the fleet env WHEN `gti doctor --json` runs THEN the quota checks weigh the fleet at max (4 x g5.2xlarge = 32 vCPUs) and the image tag is missing", async () => {
      const parsed = JSON.parse((await runGti(["doctor", "fleet", "--json"], env)).stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
      const spot = parsed.checks.find((c) => c.name === "quota L-3819A6DF");
      expect(spot).toMatchObject({ status: "PASS", detail: expect.stringContaining("the fleet at max (4 nodes) needs 32") });
      expect(parsed.ok).toBe(true);
    });

    it("GIVEN an old terraform and an unreachable provider WHEN `gti doctor` runs THEN both FAIL with the fix", async () => {
      const old = await runGti(["doctor", "ops"], { ...env, TERRAFORM_BIN: stubTerraform(join(temp, "tf-old"), { version: "1.9.8" }) });
      expect(old.stdout).toMatch(/^FAIL {2}terraform: terraform 1\.9\.8 at .* is older than 1\.10\.0/m);
      const offline = await runGti(["doctor", "ops"], {
        ...env,
        TERRAFORM_BIN: stubTerraform(join(temp, "tf-offline"), { initExit: 1, initError: "Error: Failed to query available provider packages" }),
      });
      expect(offline.stdout).toMatch(/^FAIL {2}aws provider: hashicorp\/aws 5\.100\.0 cannot be installed from registry\.terraform\.io: Error: Failed to query available provider packages$/m);
      expect(offline.code).toBe(1);
    });

    it("GIVEN an env not deployed yet WHEN `gti doctor` runs THEN the alert and image checks SKIP saying to deploy first", async () => {
      const result = await runGti(["doctor", "fresh"], env);
      expect(result.stdout).toMatch(/^SKIP {2}alert subscriptions: not checked: Environment "fresh" is not deployed yet/m);
      expect(result.stdout).toContain("fix: after the first deploy (npx cdktf deploy fresh), run gti doctor again");
    });

    const real = detectTerraform();
    it.runIf(real.available && real.toolchain.mirror)("GIVEN the real terraform and a CLI config with the provider mirror WHEN checked THEN the provider PASSes from the mirror", async () => {
      if (!real.available) return;
      const result = await runGti(["doctor", "ops", "--json"], { ...env, TERRAFORM_BIN: real.toolchain.binary, TF_CLI_CONFIG_FILE: real.toolchain.cliConfigFile });
      const provider = (JSON.parse(result.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks.find((c) => c.name === "aws provider");
      expect(provider).toMatchObject({ status: "PASS", detail: expect.stringContaining(`from the filesystem mirror ${real.toolchain.mirror}`) });
    }, 120_000);
    if (!real.available) console.log(`the real-terraform provider check SKIPPED: ${real.reason}`);
  });

  it("GIVEN the stopped test WHEN cleaning up THEN the instances terminate (keeps the emulator state honest)", async () => {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [spotId, onDemandId] }));
    const result = await runGti(["status", "ops", "--json"], env, { now: () => now });
    expect((JSON.parse(result.stdout) as { nodes: { state: string }[] }).nodes.every((n) => n.state !== "running")).toBe(true);
  });
});
