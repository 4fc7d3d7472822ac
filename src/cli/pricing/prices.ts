/**
 * The pinned price table of `gti cost` (and the "cost so far" of `gti status`): USD, Linux, per region, for the
 * instance types the environments of this repository allow and for the services an idle environment bills. Prices
 * change: the table says when it was recorded and where each figure comes from, and `gti cost --spot-live` replaces
 * the spot column with the EC2 spot price history when credentials exist.
 *
 * To price a new instance type or region: add its row from the same sources (a test fails until every env's types
 * and region are in the table).
 */

/** When the figures below were recorded. */
export const PRICES_RECORDED = "2026-12-07";

/** Where the instance prices come from. */
export const INSTANCE_PRICE_SOURCE =
  "SkyPilot's AWS catalog (github.com/skypilot-org/skypilot-catalog, catalogs/v7/aws/vms.csv, commit 001367d2), " +
  "generated from the AWS Price List API (on-demand, Linux, shared tenancy) and EC2 DescribeSpotPriceHistory " +
  "(spot: the lowest availability zone of the region); on-demand figures match aws.amazon.com/ec2/pricing/on-demand/";

/** Hourly prices of one instance type in one region. */
export interface InstancePrice {
  /** On-demand, USD per hour. */
  readonly onDemand: number;
  /** Spot, USD per hour: the cheapest availability zone when recorded. */
  readonly spot: number;
  /** vCPUs (what the EC2 vCPU quotas count). */
  readonly vcpus: number;
}

/** Instance prices by region, then type. */
export const INSTANCE_PRICES: Readonly<Record<string, Readonly<Record<string, InstancePrice>>>> = {
  "us-east-1": {
    "g4dn.xlarge": { onDemand: 0.526, spot: 0.1845, vcpus: 4 },
    "g4dn.2xlarge": { onDemand: 0.752, spot: 0.3095, vcpus: 8 },
    "g4dn.4xlarge": { onDemand: 1.204, spot: 0.3835, vcpus: 16 },
    "g5.xlarge": { onDemand: 1.006, spot: 0.397, vcpus: 4 },
    "g5.2xlarge": { onDemand: 1.212, spot: 0.4288, vcpus: 8 },
  },
  "us-west-2": {
    "g4dn.xlarge": { onDemand: 0.526, spot: 0.1779, vcpus: 4 },
    "g4dn.2xlarge": { onDemand: 0.752, spot: 0.2741, vcpus: 8 },
    "g4dn.4xlarge": { onDemand: 1.204, spot: 0.3621, vcpus: 16 },
    "g5.xlarge": { onDemand: 1.006, spot: 0.357, vcpus: 4 },
    "g5.2xlarge": { onDemand: 1.212, spot: 0.409, vcpus: 8 },
  },
};

/** Service rates that make up an environment's bill besides the instances. */
export interface ServiceRates {
  /** KMS customer managed key, per key-month (aws.amazon.com/kms/pricing). */
  readonly kmsKeyMonthly: number;
  /** Secrets Manager, per secret-month (aws.amazon.com/secrets-manager/pricing). */
  readonly secretMonthly: number;
  /** CloudWatch standard-resolution alarm, per alarm-month; the first 10 of an account are free (aws.amazon.com/cloudwatch/pricing). */
  readonly alarmMonthly: number;
  /** CloudWatch dashboard, per dashboard-month; the first 3 of an account are free (same page). */
  readonly dashboardMonthly: number;
  /** CloudWatch custom metric, per metric-month (first 10,000 metrics tier), prorated by the hour (same page). */
  readonly customMetricMonthly: number;
  /** S3 Standard storage, per GB-month, first 50 TB (aws.amazon.com/s3/pricing). */
  readonly s3GbMonthly: number;
  /** ECR storage, per GB-month (aws.amazon.com/ecr/pricing). */
  readonly ecrGbMonthly: number;
  /** EBS gp3 storage, per GB-month, baseline IOPS and throughput (aws.amazon.com/ebs/pricing). */
  readonly gp3GbMonthly: number;
  /** Public IPv4 address, per hour, since 2024-02-01 (aws.amazon.com/vpc/pricing, "Public IPv4 Address"). */
  readonly publicIpv4Hourly: number;
}

/** The service rates of US East (N. Virginia) and US West (Oregon), which are the same. */
const US_SERVICE_RATES: ServiceRates = {
  kmsKeyMonthly: 1.0,
  secretMonthly: 0.4,
  alarmMonthly: 0.1,
  dashboardMonthly: 3.0,
  customMetricMonthly: 0.3,
  s3GbMonthly: 0.023,
  ecrGbMonthly: 0.1,
  gp3GbMonthly: 0.08,
  publicIpv4Hourly: 0.005,
};

/** Service rates by region. */
export const SERVICE_RATES: Readonly<Record<string, ServiceRates>> = {
  "us-east-1": US_SERVICE_RATES,
  "us-west-2": US_SERVICE_RATES,
};

/** Hours AWS bills in a month (monthly rates are prorated by the hour on this basis). */
export const HOURS_PER_MONTH = 730;
