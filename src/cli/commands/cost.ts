/**
 * `gti cost [env] [--hours N]`: what the env costs, offline (no credentials): the fixed monthly bill while idle, item
 * by item; one instance and the fleet at its maximum per hour, on demand and on spot; a run of N hours; against the
 * env's monthly budget. `--spot-live` asks the EC2 spot price history instead of the pinned spot prices.
 */
import { DescribeSpotPriceHistoryCommand } from "@aws-sdk/client-ec2";
import { Command } from "commander";
import type { EnvironmentConfig } from "../../config/schema";
import { type CommonOptions, nonNegativeNumber, positiveNumber, withEnvArgument, withJson } from "../command-kit";
import type { Context } from "../context";
import { aws } from "../errors";
import { json, table, usd } from "../format";
import type { Bind } from "../main";
import { type CostEstimate, estimateCost } from "../pricing/estimate";
import { INSTANCE_PRICE_SOURCE, PRICES_RECORDED } from "../pricing/prices";

interface CostOptions extends CommonOptions {
  readonly hours?: number;
  readonly storageGb: number;
  readonly imageGb: number;
  readonly spotLive?: boolean;
}

export function costCommand(bind: Bind): Command {
  const command = new Command("cost").description("estimate what the environment costs: idle per month, per hour, per run, vs its budget (offline)");
  withEnvArgument(command);
  command
    .option("--hours <n>", "length of the run to price (default: the env's compute.maxRuntimeHours)", positiveNumber)
    .option("--storage-gb <n>", "GB kept in S3 (data, outputs, state)", nonNegativeNumber, 0)
    .option("--image-gb <n>", "GB of training images kept in ECR", nonNegativeNumber, 0)
    .option("--spot-live", "use the current EC2 spot prices (DescribeSpotPriceHistory; needs credentials) instead of the pinned ones");
  withJson(command);
  return command.action(bind(cost));
}

async function cost(ctx: Context, envName: string, options: CostOptions): Promise<number> {
  const config = await ctx.environment(envName);
  const spotPrices = options.spotLive ? await liveSpotPrices(ctx, config) : undefined;
  const estimate = estimateCost(config, { hours: options.hours, storageGb: options.storageGb, imageGb: options.imageGb, spotPrices });
  if (options.json) {
    ctx.out(json({ ...estimate, source: INSTANCE_PRICE_SOURCE }));
    return 0;
  }
  ctx.out(render(estimate, config));
  return 0;
}

function render(e: CostEstimate, config: EnvironmentConfig): string {
  const out: string[] = [];
  out.push(`Cost estimate for "${e.env}" (${e.region}), USD, prices recorded ${PRICES_RECORDED} (src/cli/pricing/prices.ts)`);
  out.push("", "Fixed monthly cost while idle (no instance):");
  out.push(indent(table(["ITEM", "PER MONTH", "NOTE"], e.idle.lines.map((l) => [l.item, usd(l.monthlyUsd), l.note ?? ""]))));
  out.push(`  Total: ${usd(e.idle.monthlyUsd)}/month (${usd(e.idle.monthlyUsdAfterFreeTier)} where the account's free tier covers the alarm and the dashboard)`);

  const i = e.instance;
  const spotNote = i.spotSource === "live" ? "live spot price" : "pinned spot price";
  out.push("", "Per hour (instance + root volume, public IPv4, agent metrics" + (config.safety.idleGpu.enabled ? ", idle-GPU alarm" : "") + "):");
  const rows = [
    [`one ${i.instanceType} (${i.vcpus} vCPU)`, `${usd(i.hourlyOnDemand)}/h`, `${usd(i.hourlySpot)}/h`, `instance ${usd(i.onDemand)} / ${usd(i.spot)} (${spotNote}) + ${usd(i.extras)}`],
  ];
  if (e.fleet) {
    const f = e.fleet;
    rows.push([`fleet at max: ${f.nodes} x ${f.instanceType}`, `${usd(f.hourlyOnDemand)}/h`, `${usd(f.hourlySpot)}/h`, "every node on the dearest allowed type (worst case)"]);
  }
  out.push(indent(table(["WHAT", "ON DEMAND", "SPOT", "NOTE"], rows)));
  if (config.compute.spotMaxPrice !== "") {
    out.push(`  Spot cap: $${config.compute.spotMaxPrice}/h (compute.spotMaxPrice): no spot instance starts while the market price is above it.`);
  }

  out.push("", `A run of ${e.run.hours} h:`);
  const runRows = [[`one ${i.instanceType}`, usd(e.run.instanceOnDemand), usd(e.run.instanceSpot)]];
  if (e.fleet && e.run.fleetOnDemand !== undefined && e.run.fleetSpot !== undefined) {
    runRows.push([`fleet at max (${e.fleet.nodes} node${e.fleet.nodes === 1 ? "" : "s"})`, usd(e.run.fleetOnDemand), usd(e.run.fleetSpot)]);
  }
  out.push(indent(table(["WHAT", "ON DEMAND", "SPOT"], runRows)));

  const b = e.budget;
  const market = i.defaultMarket === "spot" ? "spot" : "on demand";
  out.push(
    "",
    `Budget: ${usd(b.monthlyUsd)}/month (safety.monthlyBudgetUsd). Idle bill ${usd(e.idle.monthlyUsd)}, ${usd(b.leftAfterIdle)} left: ` +
      `${b.runsWithinBudget} run(s) of ${e.run.hours} h of one instance on ${market} (the default market); one run is ${(b.runShare * 100).toFixed(1)}% of the budget.`,
  );
  out.push("", `Sources: ${INSTANCE_PRICE_SOURCE}; service rates from the AWS pricing pages named in src/cli/pricing/prices.ts.`);
  return out.join("\n");
}

async function liveSpotPrices(ctx: Context, config: EnvironmentConfig): Promise<Record<string, number>> {
  const types = [...new Set([config.compute.instanceType, ...(config.fleet.enabled ? config.fleet.instanceTypes : [])])];
  const ec2 = ctx.clients.get("ec2", config.region);
  const history = await aws({ doing: `reading the EC2 spot price history in ${config.region}`, permission: "ec2:DescribeSpotPriceHistory" }, () =>
    ec2.send(
      new DescribeSpotPriceHistoryCommand({
        InstanceTypes: types as never,
        ProductDescriptions: ["Linux/UNIX"],
        StartTime: ctx.now(),
      }),
    ),
  );
  const prices: Record<string, number> = {};
  for (const entry of history.SpotPriceHistory ?? []) {
    const price = Number(entry.SpotPrice);
    if (!entry.InstanceType || !Number.isFinite(price)) continue;
    prices[entry.InstanceType] = Math.min(prices[entry.InstanceType] ?? Infinity, price);
  }
  for (const type of types) {
    if (prices[type] === undefined) ctx.info(`No live spot price for ${type} in ${config.region}: the pinned price is used.`);
  }
  return prices;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
