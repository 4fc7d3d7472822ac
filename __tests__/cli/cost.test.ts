/**
 * `gti cost`: offline estimates checked against figures computed by hand for every env of envs/ (the arithmetic is
 * written out in each test), the pinned table's coverage, the text and JSON output, usage errors, and `--spot-live`
 * against a mocked EC2 spot price history (aws-sdk-client-mock).
 *
 * Hand computation, common to every env: the CloudWatch agent publishes 9 series (nvidia_gpu 5, cpu 1, mem 1, disk 1
 * on 2 resources), raw and in 2 aggregations: 27 custom metrics at $0.30/month = $8.10/730 h per instance. Each node
 * also pays its gp3 root volume ($0.08/GB-month / 730) and a public IPv4 ($0.005/h); the single instance its idle-GPU
 * alarm ($0.10/730). The idle month: KMS $1 + secret $0.40 + guard-errors alarm $0.10 + dashboard $3 = $4.50
 * ($1.40 when the free tier covers the alarm and the dashboard).
 */
import { DescribeSpotPriceHistoryCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { agentMetricsPerInstance, estimateCost } from "../../src/cli/pricing/estimate";
import { INSTANCE_PRICES, SERVICE_RATES } from "../../src/cli/pricing/prices";
import { realEnvironment, realEnvironments } from "../support/envs";
import { hasStackTrace, runGti } from "../support/cli";

// Mocks every EC2 client in this worker until restored: the files after this one share the process.
const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());
afterAll(() => ec2Mock.restore());

describe("gti cost: hand-computed examples", () => {
  it("GIVEN the agent configuration WHEN its metrics are counted THEN one instance publishes 27 custom metrics", () => {
    expect(agentMetricsPerInstance()).toBe(27);
  });

  it("GIVEN env training (one g5.xlarge on spot in us-east-1, 200 GB root, 12 h cap, $150 budget) WHEN estimated THEN the figures match the hand computation", async () => {
    const e = estimateCost(await realEnvironment("training"));
    // extras = (200*0.08 + 8.10 + 0.10)/730 + 0.005 = 24.2/730 + 0.005 = 0.0381507
    expect(e.instance.extras).toBeCloseTo(0.0381507, 6);
    expect(e.instance.hourlyOnDemand).toBeCloseTo(1.006 + 0.0381507, 6); // 1.0441507
    expect(e.instance.hourlySpot).toBeCloseTo(0.397 + 0.0381507, 6); // 0.4351507
    expect(e.run.hours).toBe(12);
    expect(e.run.instanceOnDemand).toBeCloseTo(12.529808, 5);
    expect(e.run.instanceSpot).toBeCloseTo(5.221808, 5);
    expect(e.fleet).toBeUndefined();
    expect(e.idle.monthlyUsd).toBeCloseTo(4.5, 6);
    expect(e.idle.monthlyUsdAfterFreeTier).toBeCloseTo(1.4, 6);
    // (150 - 4.5) / 5.221808 = 27.86 -> 27 runs; 5.221808 / 150 = 3.48 %
    expect(e.budget.leftAfterIdle).toBeCloseTo(145.5, 6);
    expect(e.budget.runsWithinBudget).toBe(27);
    expect(e.budget.runShare).toBeCloseTo(0.0348121, 6);
  });

  it("GIVEN env dev (g4dn.xlarge, 150 GB root, 6 h cap, a 1-node fleet, $50 budget) WHEN estimated THEN the figures match the hand computation", async () => {
    const e = estimateCost(await realEnvironment("dev"));
    // single extras = (150*0.08 + 8.10 + 0.10)/730 + 0.005 = 20.2/730 + 0.005 = 0.0326712
    expect(e.instance.hourlyOnDemand).toBeCloseTo(0.526 + 0.0326712, 6);
    expect(e.instance.hourlySpot).toBeCloseTo(0.1845 + 0.0326712, 6); // 0.2171712
    // fleet node extras (no idle alarm) = 20.1/730 + 0.005 = 0.0325342; 1 node
    expect(e.fleet?.nodes).toBe(1);
    expect(e.fleet?.hourlyOnDemand).toBeCloseTo(0.5585342, 6);
    expect(e.fleet?.hourlySpot).toBeCloseTo(0.2170342, 6);
    expect(e.run.instanceSpot).toBeCloseTo(6 * 0.2171712, 5); // 1.3030274
    expect(e.run.fleetOnDemand).toBeCloseTo(6 * 0.5585342, 5); // 3.3512055
    // (50 - 4.5) / 1.3030274 = 34.9 -> 34 runs
    expect(e.budget.runsWithinBudget).toBe(34);
  });

  it("GIVEN env prod (us-west-2, g4dn.2xlarge, fleet of up to 8 over 3 types, 24 h cap, $1000 budget) WHEN estimated THEN the figures match the hand computation", async () => {
    const e = estimateCost(await realEnvironment("prod"));
    expect(e.region).toBe("us-west-2");
    // single: (200*0.08 + 8.10 + 0.10)/730 + 0.005 = 0.0381507
    expect(e.instance.hourlyOnDemand).toBeCloseTo(0.752 + 0.0381507, 6); // 0.7901507
    expect(e.instance.hourlySpot).toBeCloseTo(0.2741 + 0.0381507, 6); // 0.3122507
    // fleet worst case: on demand the dearest type is g5.2xlarge ($1.212), on spot g5.2xlarge too ($0.409);
    // node extras = (16 + 8.10)/730 + 0.005 = 0.0380137; 8 nodes
    expect(e.fleet?.instanceType).toBe("g5.2xlarge");
    expect(e.fleet?.hourlyOnDemand).toBeCloseTo(8 * (1.212 + 0.0380137), 5); // 10.0001096
    expect(e.fleet?.hourlySpot).toBeCloseTo(8 * (0.409 + 0.0380137), 5); // 3.5761096
    expect(e.run.hours).toBe(24);
    expect(e.run.fleetSpot).toBeCloseTo(24 * 3.5761096, 4); // 85.82663
    expect(e.run.instanceSpot).toBeCloseTo(24 * 0.3122507, 5); // 7.4940168
    // (1000 - 4.5) / 7.4940168 = 132.8 -> 132 runs
    expect(e.budget.runsWithinBudget).toBe(132);
  });

  it("GIVEN --hours and storage sizes WHEN estimated THEN the run and the idle bill scale by hand: 3 h, 100 GB S3 ($2.30), 20 GB ECR ($2.00)", async () => {
    const e = estimateCost(await realEnvironment("training"), { hours: 3, storageGb: 100, imageGb: 20 });
    expect(e.run.instanceSpot).toBeCloseTo(3 * 0.4351507, 6);
    expect(e.idle.monthlyUsd).toBeCloseTo(4.5 + 2.3 + 2.0, 6);
  });
});

describe("gti cost: the pinned table", () => {
  it("GIVEN every env of envs/ WHEN its region and instance types are looked up THEN the table prices each of them", async () => {
    for (const env of await realEnvironments()) {
      expect(SERVICE_RATES[env.region], env.name).toBeDefined();
      for (const type of [env.compute.instanceType, ...(env.fleet.enabled ? env.fleet.instanceTypes : [])]) {
        const price = INSTANCE_PRICES[env.region]?.[type];
        expect(price, `${env.name} ${type}`).toBeDefined();
        expect(price!.spot).toBeLessThan(price!.onDemand);
      }
    }
  });

  it("GIVEN an instance type the table lacks WHEN estimated THEN it fails naming the missing row and the fix", async () => {
    const config = { ...(await realEnvironment("training")) };
    const changed = { ...config, compute: { ...config.compute, instanceType: "p4d.24xlarge" } };
    expect(() => estimateCost(changed)).toThrow(/No price for p4d\.24xlarge in us-east-1 in the pinned table/);
  });
});

describe("gti cost: the command", () => {
  it("GIVEN env training WHEN `gti cost` runs THEN it prints the idle items, the hourly and run figures and the budget, exit 0", async () => {
    const result = await runGti(["cost"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Cost estimate for "training" (us-east-1)');
    expect(result.stdout).toMatch(/KMS key of the alerts topic\s+\$1\.00/);
    expect(result.stdout).toMatch(/one g5\.xlarge \(4 vCPU\)\s+\$1\.0442\/h\s+\$0\.4352\/h/);
    expect(result.stdout).toMatch(/one g5\.xlarge\s+\$12\.53\s+\$5\.2218/);
    expect(result.stdout).toContain("27 run(s) of 12 h");
  });

  it("GIVEN env dev WHEN `gti cost dev --json` runs THEN the JSON carries the same figures and the spot cap is in the text form", async () => {
    const result = await runGti(["cost", "dev", "--json"]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as { fleet: { nodes: number }; budget: { runsWithinBudget: number }; source: string };
    expect(parsed.fleet.nodes).toBe(1);
    expect(parsed.budget.runsWithinBudget).toBe(34);
    expect(parsed.source).toContain("skypilot-catalog");
    expect((await runGti(["cost", "dev"])).stdout).toContain("Spot cap: $0.30/h");
  });

  it("GIVEN a bad --hours WHEN run THEN it is a usage error: exit 2, commander's message", async () => {
    const result = await runGti(["cost", "--hours", "zero"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--hours <n>' argument 'zero' is invalid");
  });

  it("GIVEN an unknown env WHEN run THEN exit 1 with the known envs as the fix, no stack trace", async () => {
    const result = await runGti(["cost", "staging"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('Error: Unknown environment "staging".\nFix: use one of: dev, prod, training (one per file in envs/), or add envs/staging.ts\n');
  });

  it("GIVEN --spot-live WHEN EC2 answers the spot price history THEN the cheapest zone's price replaces the pinned one", async () => {
    ec2Mock.on(DescribeSpotPriceHistoryCommand).resolves({
      SpotPriceHistory: [
        { InstanceType: "g5.xlarge", SpotPrice: "0.512300", AvailabilityZone: "us-east-1a" },
        { InstanceType: "g5.xlarge", SpotPrice: "0.500000", AvailabilityZone: "us-east-1b" },
      ],
    });
    const result = await runGti(["cost", "--spot-live", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { instance: { spot: number; spotSource: string } };
    expect(parsed.instance).toMatchObject({ spot: 0.5, spotSource: "live" });
    expect(ec2Mock.commandCalls(DescribeSpotPriceHistoryCommand)[0]?.args[0].input).toMatchObject({ InstanceTypes: ["g5.xlarge"], ProductDescriptions: ["Linux/UNIX"] });
  });

  it("GIVEN --spot-live WHEN the credentials have expired THEN exit 1 with the refresh fix and no stack trace", async () => {
    ec2Mock.on(DescribeSpotPriceHistoryCommand).rejects(Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredToken" }));
    const result = await runGti(["cost", "--spot-live"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("The AWS credentials have expired (ExpiredToken) while reading the EC2 spot price history in us-east-1.");
    expect(result.stderr).toContain("Fix: refresh them: `aws sso login`");
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});
