/**
 * The failures the local AWS API cannot produce, with aws-sdk-client-mock: expired, missing and rejected credentials,
 * access denied, throttling, an unconfirmed e-mail subscription, an unreadable quota. Each is one message with its fix
 * and the right exit code, never a stack trace; `--json` reports it as JSON on stderr.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CostExplorerClient, ListCostAllocationTagsCommand } from "@aws-sdk/client-cost-explorer";
import { DescribeInstancesCommand, DescribeInstanceTypesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { GetBucketVersioningCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { ListSubscriptionsByTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { hasStackTrace, labEnv, runGti, stubTerraform, writeEnvFiles } from "../support/cli";

// Each mocks every client of its class in this worker until restored (afterAll): the files after this one share the
// process.
const s3 = mockClient(S3Client);
const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);
const sns = mockClient(SNSClient);
const ecr = mockClient(ECRClient);
const quotas = mockClient(ServiceQuotasClient);
const ce = mockClient(CostExplorerClient);
const ssm = mockClient(SSMClient);

const temp = mkdtempSync(join(tmpdir(), "gti-failures-"));
const env = {
  GTI_ENVS_DIR: writeEnvFiles(join(temp, "envs"), [labEnv("lab", { allowedAccountIds: ["210987654322"], safety: { alertEmails: ["a@acme-ml.io", "b@acme-ml.io"] } })]),
  TERRAFORM_BIN: stubTerraform(join(temp, "tf")),
};
const TOPIC = "arn:aws:sns:us-east-1:210987654322:acme-lab-alerts";

const MOCKS = [s3, ec2, sts, sns, ecr, quotas, ce, ssm];

afterAll(() => {
  for (const mock of MOCKS) mock.restore();
  rmSync(temp, { recursive: true, force: true });
});

function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

/** The state object answers with these outputs. */
function deployed(outputs: Record<string, string>): void {
  const body = JSON.stringify({ version: 4, outputs: Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, type: "string" }])) });
  s3.on(GetObjectCommand).resolves({ Body: { transformToString: () => Promise.resolve(body) } as never });
}

beforeEach(() => {
  for (const mock of MOCKS) mock.reset();
  deployed({ outputs_bucket: "acme-lab-outputs", run_id: "", instance_id: "", alerts_topic_arn: TOPIC, ecr_repository_url: "210987654322.dkr.ecr.us-east-1.amazonaws.com/acme-lab" });
});

describe("gti failures with one message and the fix", () => {
  it("GIVEN expired credentials WHEN `gti runs` reads the state THEN exit 1: they expired, refresh them; no stack trace", async () => {
    s3.on(GetObjectCommand).rejects(awsError("ExpiredToken", "The provided token has expired."));
    const result = await runGti(["runs", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "Error: The AWS credentials have expired (ExpiredToken) while reading the Terraform state s3://acme-gti-tfstate/gpu-training-infra/lab/terraform.tfstate.\n" +
        "Fix: refresh them: `aws sso login` (SSO), or get a new session token (`aws sts get-session-token` / your identity provider), then retry\n",
    );
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it("GIVEN no credentials at all WHEN `gti status` runs THEN exit 1: how to sign in", async () => {
    s3.on(GetObjectCommand).rejects(awsError("CredentialsProviderError", "Could not load credentials from any providers"));
    const result = await runGti(["status", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Error: No AWS credentials found while reading the Terraform state");
    expect(result.stderr).toContain("Fix: sign in first: `aws sso login --profile NAME`");
  });

  it("GIVEN access denied on the outputs bucket WHEN `gti runs` lists it THEN exit 1 naming the permission to grant", async () => {
    s3.on(ListObjectsV2Command).rejects(awsError("AccessDenied", "Access Denied", 403));
    const result = await runGti(["runs", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "Error: Access denied while listing s3://acme-lab-outputs/runs/ (AccessDenied).\n" +
        "Fix: grant s3:ListBucket on the outputs bucket to the identity you use (`aws sts get-caller-identity` shows it), or use a profile that has it\n",
    );
  });

  it("GIVEN EC2 throttling beyond the SDK's retries WHEN `gti status` lists instances THEN exit 1: wait and retry", async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    ec2.on(DescribeInstancesCommand).rejects(awsError("RequestLimitExceeded", "Request limit exceeded.", 503));
    const result = await runGti(["status", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: AWS throttled the requests while listing the instances of "lab" in us-east-1 (RequestLimitExceeded), even after the SDK\'s retries.');
    expect(result.stderr).toContain("Fix: wait a minute and run the command again");
  });

  it("GIVEN rejected credentials and --json WHEN `gti runs` runs THEN the error is one JSON object on stderr", async () => {
    s3.on(GetObjectCommand).rejects(awsError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403));
    const result = await runGti(["runs", "lab", "--json"], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const error = JSON.parse(result.stderr) as { error: string; fix: string };
    expect(error.error).toContain("AWS rejected the credentials (InvalidAccessKeyId)");
    expect(error.fix).toContain("AWS_PROFILE");
  });

  it("GIVEN a state object of a destroyed stack (no outputs) WHEN `gti runs` runs THEN exit 1: not deployed, deploy it", async () => {
    s3.on(GetObjectCommand).resolves({ Body: { transformToString: () => Promise.resolve('{"version":4,"outputs":{}}') } as never });
    const result = await runGti(["runs", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: Environment "lab" is not deployed yet: the state at s3://acme-gti-tfstate/gpu-training-infra/lab/terraform.tfstate has no outputs');
  });

  it("GIVEN a missing state bucket WHEN `gti runs` runs THEN exit 1 with the bootstrap deploy as the fix", async () => {
    s3.on(GetObjectCommand).rejects(awsError("NoSuchBucket", "The specified bucket does not exist", 404));
    const result = await runGti(["runs", "lab"], env);
    expect(result.stderr).toBe(
      "Error: The state bucket acme-gti-tfstate (us-east-1) does not exist, so nothing is deployed yet.\n" +
        "Fix: create it with `npx cdktf deploy bootstrap`, or correct state.bucket in envs/_shared.ts if it has another name\n",
    );
  });
});

describe("gti stop where the emulator cannot go", () => {
  const running = {
    Reservations: [
      {
        Instances: [
          {
            InstanceId: "i-0aaa",
            InstanceType: "g5.xlarge" as const,
            State: { Name: "running" as const },
            LaunchTime: new Date(),
            Tags: [{ Key: "RunId", Value: "run-1" }],
          },
        ],
      },
    ],
  };

  it("GIVEN training-stop fails on the instance WHEN `gti stop` runs THEN its output is shown and exit 1 says the instance keeps running", async () => {
    ec2.on(DescribeInstancesCommand).resolves(running);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "c-1" } });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Failed", StandardOutputContent: "no training attempt is running here\n" });
    const result = await runGti(["stop", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("i-0aaa: Failed\n  no training attempt is running here\n");
    expect(result.stderr).toContain("Error: training-stop did not succeed on i-0aaa (Failed).");
    expect(result.stderr).toContain("aws ssm start-session");
  });

  it("GIVEN an agent that never answers WHEN the wait runs out THEN the instance is reported NoAnswer and the command fails", async () => {
    ec2.on(DescribeInstancesCommand).resolves(running);
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "c-2" } });
    ssm.on(GetCommandInvocationCommand).rejects(awsError("InvocationDoesNotExist", "no invocation yet"));
    let clock = Date.parse("2026-12-07T12:00:00Z");
    const result = await runGti(["stop", "lab", "--wait-seconds", "30"], env, {
      now: () => new Date(clock),
      sleep: async (ms) => {
        clock += ms;
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("i-0aaa: NoAnswer\n");
    expect(ssm.commandCalls(SendCommandCommand)[0]?.args[0].input).toMatchObject({ InstanceIds: ["i-0aaa"], Parameters: { commands: ["/opt/gpu-training/bin/training-stop"], executionTimeout: ["30"] } });
  });
});

describe("gti doctor where the emulator cannot go", () => {
  function healthyAccount(): void {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "210987654322", Arn: "arn:aws:iam::210987654322:user/ops" });
    s3.on(HeadBucketCommand).resolves({});
    s3.on(GetBucketVersioningCommand).resolves({ Status: "Enabled" });
    ec2.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: [{ InstanceType: "g5.xlarge", VCpuInfo: { DefaultVCpus: 4 } }] });
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 8 } });
    ce.on(ListCostAllocationTagsCommand).resolves({ CostAllocationTags: [{ TagKey: "Environment", Type: "UserDefined", Status: "Active" }] });
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ["latest"] }] });
  }

  it("GIVEN one alert address that has not confirmed WHEN `gti doctor` runs THEN alerts WARN naming it, and the exit code stays 0", async () => {
    healthyAccount();
    sns.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [
        { Protocol: "email", Endpoint: "a@acme-ml.io", SubscriptionArn: `${TOPIC}:1111` },
        { Protocol: "email", Endpoint: "B@acme-ml.io", SubscriptionArn: "PendingConfirmation" },
      ],
    });
    const result = await runGti(["doctor", "lab"], env);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain("WARN  alert subscriptions: a@acme-ml.io confirmed, b@acme-ml.io pending");
    expect(result.stdout).toContain('fix: each pending address must click the link in the "AWS Notification - Subscription Confirmation" e-mail');
  });

  it("GIVEN the wrong account WHEN `gti doctor` runs THEN credentials FAIL naming the allowed accounts", async () => {
    healthyAccount();
    sts.on(GetCallerIdentityCommand).resolves({ Account: "999988887777", Arn: "arn:aws:iam::999988887777:user/me" });
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    const result = await runGti(["doctor", "lab"], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("FAIL  credentials: arn:aws:iam::999988887777:user/me in account 999988887777, but envs/lab.ts allows only 210987654322: terraform will refuse to deploy");
  });

  it("GIVEN no credentials WHEN `gti doctor` runs THEN credentials FAIL and every AWS check SKIPs, no stack trace", async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError("CredentialsProviderError", "Could not load credentials from any providers"));
    const result = await runGti(["doctor", "lab", "--json"], env);
    expect(result.code).toBe(1);
    const checks = (JSON.parse(result.stdout) as { checks: { name: string; status: string }[] }).checks;
    expect(checks.map((c) => `${c.status} ${c.name}`).slice(3)).toEqual([
      "FAIL credentials",
      "SKIP state bucket",
      "SKIP GPU quotas",
      "SKIP cost allocation tag",
      "SKIP alert subscriptions",
      "SKIP training image",
    ]);
  });

  it("GIVEN Service Quotas denied and a state bucket owned by someone else WHEN `gti doctor` runs THEN the quota WARNs and the bucket FAILs, each with the fix", async () => {
    healthyAccount();
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    quotas.on(GetServiceQuotaCommand).rejects(awsError("AccessDeniedException", "not authorized", 400));
    s3.on(HeadBucketCommand).rejects(awsError("Forbidden", "", 403));
    const result = await runGti(["doctor", "lab"], env);
    expect(result.stdout).toContain("WARN  quota L-DB2E81BA: Access denied while reading the quota \"Running On-Demand G and VT instances\" (AccessDeniedException).");
    expect(result.stdout).toContain("fix: grant servicequotas:GetServiceQuota");
    expect(result.stdout).toContain("FAIL  state bucket: s3://acme-gti-tfstate exists but this identity may not use it (403): another account may own the name");
    expect(result.stdout).toContain("FAIL  alert subscriptions: a@acme-ml.io missing, b@acme-ml.io missing");
  });
});
