/**
 * What an environment costs, from its config and the pinned price table: the fixed monthly bill while idle (item by
 * item), the hourly cost of one instance and of the fleet at its maximum (on demand and on spot), a run of N hours,
 * and how that compares with the env's monthly budget. Offline and deterministic.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EnvironmentConfig } from "../../config/schema";
import { CliError } from "../errors";
import { usd } from "../format";
import { HOURS_PER_MONTH, INSTANCE_PRICES, type InstancePrice, PRICES_RECORDED, SERVICE_RATES, type ServiceRates } from "./prices";

/** One line of the idle bill. */
export interface CostLine {
  readonly item: string;
  readonly monthlyUsd: number;
  /** Free-tier or sizing note. */
  readonly note?: string;
  /** True when an account's free tier usually covers it (the first 3 dashboards, the first 10 alarms). */
  readonly freeTierEligible?: boolean;
}

/** Hourly cost of one node of a type. */
export interface NodeHourly {
  readonly instanceType: string;
  /** The instance alone, on demand / on spot. */
  readonly onDemand: number;
  readonly spot: number;
  /** Where the spot price came from. */
  readonly spotSource: "table" | "live";
  /** What each node adds per hour: root volume, public IPv4, agent metrics (and the idle-GPU alarm of the single instance). */
  readonly extras: number;
  readonly vcpus: number;
}

export interface CostEstimate {
  readonly env: string;
  readonly region: string;
  readonly pricesRecorded: string;
  readonly idle: { readonly lines: readonly CostLine[]; readonly monthlyUsd: number; readonly monthlyUsdAfterFreeTier: number };
  readonly instance: NodeHourly & { readonly hourlyOnDemand: number; readonly hourlySpot: number; readonly defaultMarket: "spot" | "on-demand" };
  /** The fleet at `maxInstances` nodes of its dearest type; undefined without a fleet. */
  readonly fleet:
    | (NodeHourly & { readonly nodes: number; readonly hourlyOnDemand: number; readonly hourlySpot: number })
    | undefined;
  readonly run: {
    readonly hours: number;
    readonly instanceOnDemand: number;
    readonly instanceSpot: number;
    readonly fleetOnDemand: number | undefined;
    readonly fleetSpot: number | undefined;
  };
  readonly budget: {
    readonly monthlyUsd: number;
    /** Budget left after the idle bill. */
    readonly leftAfterIdle: number;
    /** Runs of `hours` of the single instance (default market) that fit in what is left. */
    readonly runsWithinBudget: number;
    /** Share of the budget one run takes (single instance, default market). */
    readonly runShare: number;
  };
}

export interface EstimateOptions {
  /** Length of the run priced. @default the env's maxRuntimeHours (the guard's cap) */
  readonly hours?: number;
  /** Data kept in S3 (data, outputs, state). @default 0 */
  readonly storageGb?: number;
  /** Training images kept in ECR. @default 0 */
  readonly imageGb?: number;
  /** Spot prices to use instead of the table's (from `--spot-live`). */
  readonly spotPrices?: Readonly<Record<string, number>>;
}

/** The CloudWatch agent configuration the instances run (its metrics are billed as custom metrics). */
export const AGENT_CONFIG = join(__dirname, "..", "..", "..", "runtime", "cloudwatch-agent.json");

/** Prices `config`. Fails naming the missing row when the table lacks its region or an instance type. */
export function estimateCost(config: EnvironmentConfig, options: EstimateOptions = {}): CostEstimate {
  const rates = serviceRates(config.region);
  const hours = options.hours ?? config.compute.maxRuntimeHours;
  const metrics = agentMetricsPerInstance();
  const nodeExtras = (config.compute.rootVolumeSizeGb * rates.gp3GbMonthly) / HOURS_PER_MONTH + rates.publicIpv4Hourly + (metrics * rates.customMetricMonthly) / HOURS_PER_MONTH;
  const alarmHourly = config.safety.idleGpu.enabled ? rates.alarmMonthly / HOURS_PER_MONTH : 0;

  const single = nodeHourly(config.region, config.compute.instanceType, nodeExtras + alarmHourly, options.spotPrices);
  const instance = { ...single, hourlyOnDemand: single.onDemand + single.extras, hourlySpot: single.spot + single.extras, defaultMarket: config.compute.useSpot ? ("spot" as const) : ("on-demand" as const) };

  let fleet: CostEstimate["fleet"];
  if (config.fleet.enabled) {
    const nodes = config.fleet.instanceTypes.map((type) => nodeHourly(config.region, type, nodeExtras, options.spotPrices));
    const dearestOnDemand = nodes.reduce((a, b) => (b.onDemand > a.onDemand ? b : a));
    const dearestSpot = Math.max(...nodes.map((n) => n.spot));
    const n = config.fleet.maxInstances;
    fleet = {
      ...dearestOnDemand,
      spot: dearestSpot,
      spotSource: nodes.some((node) => node.spotSource === "live") ? "live" : "table",
      nodes: n,
      hourlyOnDemand: n * (dearestOnDemand.onDemand + nodeExtras),
      hourlySpot: n * (dearestSpot + nodeExtras),
    };
  }

  const lines = idleLines(config, rates, options);
  const monthlyUsd = round(lines.reduce((sum, line) => sum + line.monthlyUsd, 0));
  const monthlyUsdAfterFreeTier = round(lines.filter((l) => !l.freeTierEligible).reduce((sum, line) => sum + line.monthlyUsd, 0));
  const instanceRun = hours * (config.compute.useSpot ? instance.hourlySpot : instance.hourlyOnDemand);
  const leftAfterIdle = config.safety.monthlyBudgetUsd - monthlyUsd;
  return {
    env: config.name,
    region: config.region,
    pricesRecorded: PRICES_RECORDED,
    idle: { lines, monthlyUsd, monthlyUsdAfterFreeTier },
    instance,
    fleet,
    run: {
      hours,
      instanceOnDemand: hours * instance.hourlyOnDemand,
      instanceSpot: hours * instance.hourlySpot,
      fleetOnDemand: fleet && hours * fleet.hourlyOnDemand,
      fleetSpot: fleet && hours * fleet.hourlySpot,
    },
    budget: {
      monthlyUsd: config.safety.monthlyBudgetUsd,
      leftAfterIdle,
      runsWithinBudget: leftAfterIdle > 0 && instanceRun > 0 ? Math.floor(leftAfterIdle / instanceRun) : 0,
      runShare: instanceRun / config.safety.monthlyBudgetUsd,
    },
  };
}

/** The table's prices of `type` in `region`; fails naming the missing row. */
export function instancePrice(region: string, type: string): InstancePrice {
  const price = INSTANCE_PRICES[region]?.[type];
  if (!price) {
    throw new CliError(
      `No price for ${type} in ${region} in the pinned table (src/cli/pricing/prices.ts, recorded ${PRICES_RECORDED}).`,
      `add the ${type} row for ${region} from the AWS Price List (on-demand) and the spot price history, as the other rows`,
    );
  }
  return price;
}

/** USD per hour of one running node of `type` in `market` (instance, root volume, IPv4, metrics), for "cost so far". */
export function nodeHourlyRate(config: EnvironmentConfig, type: string, market: "spot" | "on-demand"): number | undefined {
  const price = INSTANCE_PRICES[config.region]?.[type];
  const rates = SERVICE_RATES[config.region];
  if (!price || !rates) return undefined;
  const extras =
    (config.compute.rootVolumeSizeGb * rates.gp3GbMonthly) / HOURS_PER_MONTH + rates.publicIpv4Hourly + (agentMetricsPerInstance() * rates.customMetricMonthly) / HOURS_PER_MONTH;
  return (market === "spot" ? price.spot : price.onDemand) + extras;
}

/**
 * Custom metrics one instance's CloudWatch agent publishes (runtime/cloudwatch-agent.json): every measurement (per
 * disk resource), raw and once per aggregation. An upper bound for single-GPU types: the dimensionless aggregate is
 * shared by every node.
 */
export function agentMetricsPerInstance(file = AGENT_CONFIG): number {
  const agent = JSON.parse(readFileSync(file, "utf8")) as {
    metrics: { aggregation_dimensions?: unknown[]; metrics_collected: Record<string, { measurement: unknown[]; resources?: unknown[] }> };
  };
  const series = Object.values(agent.metrics.metrics_collected).reduce((sum, m) => sum + m.measurement.length * (m.resources?.length ?? 1), 0);
  return series * (1 + (agent.metrics.aggregation_dimensions?.length ?? 0));
}

function nodeHourly(region: string, type: string, extras: number, live: Readonly<Record<string, number>> | undefined): NodeHourly {
  const price = instancePrice(region, type);
  const liveSpot = live?.[type];
  return {
    instanceType: type,
    onDemand: price.onDemand,
    spot: liveSpot ?? price.spot,
    spotSource: liveSpot === undefined ? "table" : "live",
    extras,
    vcpus: price.vcpus,
  };
}

function idleLines(config: EnvironmentConfig, rates: ServiceRates, options: EstimateOptions): CostLine[] {
  const storageGb = options.storageGb ?? 0;
  const imageGb = options.imageGb ?? 0;
  return [
    config.safety.kmsKeyArn
      ? { item: "KMS key of the alerts topic", monthlyUsd: 0, note: "safety.kmsKeyArn: your own key (billed where it lives)" }
      : { item: "KMS key of the alerts topic", monthlyUsd: rates.kmsKeyMonthly, note: "up to 3x once yearly rotation has made two key versions" },
    { item: "Secrets Manager secret (Hugging Face token)", monthlyUsd: rates.secretMonthly },
    { item: "CloudWatch alarm: runtime guard errors", monthlyUsd: rates.alarmMonthly, freeTierEligible: true, note: "free within an account's first 10 alarms" },
    { item: "CloudWatch dashboard", monthlyUsd: rates.dashboardMonthly, freeTierEligible: true, note: "free within an account's first 3 dashboards" },
    { item: `S3 storage: ${storageGb} GB (data, outputs, state)`, monthlyUsd: storageGb * rates.s3GbMonthly, note: `${usdRate(rates.s3GbMonthly)}/GB-month; --storage-gb N` },
    { item: `ECR storage: ${imageGb} GB of training images`, monthlyUsd: imageGb * rates.ecrGbMonthly, note: `${usdRate(rates.ecrGbMonthly)}/GB-month; --image-gb N` },
    { item: "Runtime guard Lambda, EventBridge rules, SNS, budget", monthlyUsd: 0, note: "an hourly run stays in Lambda's free tier; rules, e-mail alerts and budgets without actions are free" },
  ];
}

function serviceRates(region: string): ServiceRates {
  const rates = SERVICE_RATES[region];
  if (!rates) {
    throw new CliError(
      `No service rates for ${region} in the pinned table (src/cli/pricing/prices.ts, recorded ${PRICES_RECORDED}).`,
      `add a SERVICE_RATES row for ${region} (and INSTANCE_PRICES rows for its instance types) from the AWS pricing pages named there`,
    );
  }
  return rates;
}

function usdRate(value: number): string {
  return usd(value);
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
