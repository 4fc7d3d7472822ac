/**
 * AWS SDK clients pointed at the local AWS API, for seeding it and checking what an apply created (the project's own
 * SDK clients: EC2, Auto Scaling, SNS), and S3 reads through the emulator's boto3 (a JavaScript S3 client would be a
 * new dependency whose install moves the SDK packages bundled into the guard Lambda).
 */
import { spawnSync } from "node:child_process";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstancesCommand, EC2Client, type Instance } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { type AwsEmulator, EMULATOR_CREDENTIALS } from "../aws-emulator";

export interface EmulatorClients {
  readonly ec2: EC2Client;
  readonly autoScaling: AutoScalingClient;
  readonly sns: SNSClient;
}

/** SDK clients for the emulator (explicit endpoint and test credentials, whatever the environment says). */
export function emulatorClients(emulator: AwsEmulator, region = "us-east-1"): EmulatorClients {
  const config = {
    endpoint: emulator.endpoint,
    region,
    credentials: { accessKeyId: EMULATOR_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: EMULATOR_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
  };
  return {
    ec2: new EC2Client(config),
    autoScaling: new AutoScalingClient(config),
    sns: new SNSClient(config),
  };
}

/** Every pending or running instance with these tag values (all pages). */
export async function liveInstances(ec2: EC2Client, tags: Readonly<Record<string, string>>): Promise<Instance[]> {
  const filters = [
    ...Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] })),
    { Name: "instance-state-name", Values: ["pending", "running"] },
  ];
  const found: Instance[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: token }));
    for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []));
    token = page.NextToken;
  } while (token);
  return found;
}

/** An instance's tags as an object. */
export function tagsOf(instance: Instance): Record<string, string> {
  return Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

/** One auto scaling group by name; throws when it does not exist. */
export async function autoScalingGroup(autoScaling: AutoScalingClient, name: string) {
  const found = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  const group = found.AutoScalingGroups?.[0];
  if (!group) throw new Error(`no auto scaling group ${name} in the local AWS API`);
  return group;
}

/** What HeadObject says about an object: its server-side encryption, or that it does not exist. */
export type HeadObjectResult = { readonly exists: true; readonly serverSideEncryption: string | null } | { readonly exists: false };

/** HeadObject through boto3 (installed with moto, so present wherever the emulator runs). */
export function headObject(emulator: AwsEmulator, bucket: string, key: string): HeadObjectResult {
  const script = [
    "import boto3, json, sys",
    "from botocore.exceptions import ClientError",
    "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')",
    "try:",
    "    head = s3.head_object(Bucket=sys.argv[2], Key=sys.argv[3])",
    "    print(json.dumps({'exists': True, 'serverSideEncryption': head.get('ServerSideEncryption')}))",
    "except ClientError as error:",
    "    if error.response['Error']['Code'] not in ('404', 'NoSuchKey', 'NotFound'): raise",
    "    print(json.dumps({'exists': False}))",
  ].join("\n");
  const python = process.env.PYTHON ?? "python3";
  const result = spawnSync(python, ["-c", script, emulator.endpoint, bucket, key], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...EMULATOR_CREDENTIALS, AWS_EC2_METADATA_DISABLED: "true" },
  });
  if (result.status !== 0) throw new Error(`HeadObject ${bucket}/${key} failed: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout) as HeadObjectResult;
}
