/**
 * AWS SDK v3 clients for `gti`, one per service and region, created on first use. Credentials and endpoints come from
 * the standard chain (AWS_PROFILE, SSO, environment variables, instance roles; AWS_ENDPOINT_URL and
 * AWS_ENDPOINT_URL_<SERVICE> for a local AWS API such as moto, which also switches S3 to path-style addressing).
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { CostExplorerClient } from "@aws-sdk/client-cost-explorer";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { S3Client } from "@aws-sdk/client-s3";
import { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { SNSClient } from "@aws-sdk/client-sns";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";

/** Cost Explorer has one endpoint, in us-east-1. */
export const COST_EXPLORER_REGION = "us-east-1";

const CLIENTS = {
  autoScaling: AutoScalingClient,
  cloudWatch: CloudWatchClient,
  logs: CloudWatchLogsClient,
  costExplorer: CostExplorerClient,
  ec2: EC2Client,
  ecr: ECRClient,
  s3: S3Client,
  serviceQuotas: ServiceQuotasClient,
  sns: SNSClient,
  ssm: SSMClient,
  sts: STSClient,
} as const;

type ClientName = keyof typeof CLIENTS;
type ClientOf<N extends ClientName> = InstanceType<(typeof CLIENTS)[N]>;

/** Creates and caches clients. */
export class AwsClients {
  private readonly cache = new Map<string, unknown>();

  /** @param env the environment variables to read (endpoint overrides) */
  public constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** The client of `name` in `region`. */
  public get<N extends ClientName>(name: N, region: string): ClientOf<N> {
    const key = `${name}:${region}`;
    let client = this.cache.get(key) as ClientOf<N> | undefined;
    if (!client) {
      const Client = CLIENTS[name] as unknown as new (config: Record<string, unknown>) => ClientOf<N>;
      const localEndpoint = name === "s3" && Boolean(this.env.AWS_ENDPOINT_URL_S3 || this.env.AWS_ENDPOINT_URL);
      client = new Client({ region, ...(localEndpoint ? { forcePathStyle: true } : {}) });
      this.cache.set(key, client);
    }
    return client;
  }

  /** Closes every client's connections (lets the process exit at once). */
  public destroy(): void {
    for (const client of this.cache.values()) (client as { destroy(): void }).destroy();
    this.cache.clear();
  }
}
