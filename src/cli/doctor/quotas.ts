/**
 * GPU vCPU quotas (Service Quotas, service code `ec2`) against what the env needs: one instance, and the fleet at its
 * maximum. EC2 counts running (and requested spot) vCPUs per instance family group, separately on demand and on spot;
 * new accounts often have 0 for GPUs. Quota codes and names as Service Quotas lists them.
 */
import { DescribeInstanceTypesCommand } from "@aws-sdk/client-ec2";
import { GetServiceQuotaCommand } from "@aws-sdk/client-service-quotas";
import type { EnvironmentConfig } from "../../config/schema";
import type { Context } from "../context";
import { awsErrorCode } from "../errors";
import { INSTANCE_PRICES } from "../pricing/prices";
import { type Check, fail, fromAwsError, pass, warn } from "./check";

/** A vCPU quota of Service Quotas. */
export interface GpuQuota {
  readonly code: string;
  readonly name: string;
  readonly market: "on-demand" | "spot";
}

/** The quota groups of the GPU families this project allows (src/gpu-instance-types.ts GPU_INSTANCE_FAMILIES). */
export const GPU_QUOTAS = {
  gOnDemand: { code: "L-DB2E81BA", name: "Running On-Demand G and VT instances", market: "on-demand" },
  gSpot: { code: "L-3819A6DF", name: "All G and VT Spot Instance Requests", market: "spot" },
  pOnDemand: { code: "L-417A185B", name: "Running On-Demand P instances", market: "on-demand" },
  pSpot: { code: "L-7212CCBC", name: "All P4, P3 and P2 Spot Instance Requests", market: "spot" },
  p5Spot: { code: "L-C4BD4855", name: "All P5 Spot Instance Requests", market: "spot" },
} as const satisfies Record<string, GpuQuota>;

/** The on-demand and spot quotas an instance type counts against. */
export function quotasOf(instanceType: string): { readonly onDemand: GpuQuota; readonly spot: GpuQuota } {
  const family = instanceType.split(".")[0] ?? "";
  if (/^p5/.test(family)) return { onDemand: GPU_QUOTAS.pOnDemand, spot: GPU_QUOTAS.p5Spot };
  if (/^p/.test(family)) return { onDemand: GPU_QUOTAS.pOnDemand, spot: GPU_QUOTAS.pSpot };
  return { onDemand: GPU_QUOTAS.gOnDemand, spot: GPU_QUOTAS.gSpot };
}

interface Need {
  quota: GpuQuota;
  /** vCPUs one instance of the env needs here (0: none of its single-instance types count against it). */
  one: number;
  /** vCPUs the fleet at its maximum needs here. */
  fleet: number;
}

/** One check per quota the env's instance types count against. */
export async function quotaChecks(ctx: Context, config: EnvironmentConfig): Promise<Check[]> {
  const types = [...new Set([config.compute.instanceType, ...(config.fleet.enabled ? config.fleet.instanceTypes : [])])];
  let vcpus: Map<string, number>;
  try {
    vcpus = await vcpusOf(ctx, config, types);
  } catch (error) {
    return [fromAwsError("GPU quotas", error, { doing: "reading the vCPUs of the instance types", permission: "ec2:DescribeInstanceTypes" }, "WARN")];
  }
  const needs = new Map<string, Need>();
  const add = (quota: GpuQuota, one: number, fleet: number): void => {
    const need = needs.get(quota.code) ?? { quota, one: 0, fleet: 0 };
    need.one = Math.max(need.one, one);
    need.fleet = Math.max(need.fleet, fleet);
    needs.set(quota.code, need);
  };
  const single = quotasOf(config.compute.instanceType);
  const singleVcpus = vcpus.get(config.compute.instanceType) ?? 0;
  add(single.onDemand, singleVcpus, 0);
  add(single.spot, singleVcpus, 0);
  if (config.fleet.enabled) {
    for (const type of config.fleet.instanceTypes) {
      const quotas = quotasOf(type);
      const fleetNeed = config.fleet.maxInstances * (vcpus.get(type) ?? 0);
      add(quotas.onDemand, 0, fleetNeed);
      add(quotas.spot, 0, fleetNeed);
    }
  }

  const sq = ctx.clients.get("serviceQuotas", config.region);
  const defaultMarket = config.compute.useSpot ? "spot" : "on-demand";
  const checks: Check[] = [];
  for (const need of needs.values()) {
    const name = `quota ${need.quota.code}`;
    let value: number;
    try {
      const response = await sq.send(new GetServiceQuotaCommand({ ServiceCode: "ec2", QuotaCode: need.quota.code }));
      value = response.Quota?.Value ?? 0;
    } catch (error) {
      if (awsErrorCode(error) === "NoSuchResourceException") value = 0;
      else {
        checks.push(fromAwsError(name, error, { doing: `reading the quota "${need.quota.name}"`, permission: "servicequotas:GetServiceQuota" }, "WARN"));
        continue;
      }
    }
    const label = `${need.quota.name} (${need.quota.market}) in ${config.region}: ${value} vCPUs`;
    const wants = [need.one > 0 ? `one instance needs ${need.one}` : "", need.fleet > 0 ? `the fleet at max (${config.fleet.maxInstances} nodes) needs ${need.fleet}` : ""].filter(Boolean).join(", ");
    const request = `request more: aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${need.quota.code} --desired-value ${Math.max(need.one, need.fleet)} --region ${config.region} (or the Service Quotas console)`;
    if (need.one > value) {
      checks.push(
        need.quota.market === defaultMarket
          ? fail(name, `${label}; ${wants}: the first run cannot start`, request)
          : warn(name, `${label}; ${wants} (only with use_spot=${need.quota.market === "spot"})`, request),
      );
    } else if (need.fleet > value) {
      checks.push(warn(name, `${label}; ${wants}: the fleet cannot reach its maximum`, request));
    } else {
      checks.push(pass(name, `${label}; ${wants}`));
    }
  }
  return checks;
}

/** vCPUs per type: EC2 DescribeInstanceTypes, the pinned price table for types it does not answer. */
async function vcpusOf(ctx: Context, config: EnvironmentConfig, types: string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  const response = await ctx.clients.get("ec2", config.region).send(new DescribeInstanceTypesCommand({ InstanceTypes: types as never }));
  for (const info of response.InstanceTypes ?? []) {
    if (info.InstanceType && info.VCpuInfo?.DefaultVCpus) result.set(info.InstanceType, info.VCpuInfo.DefaultVCpus);
  }
  for (const type of types) {
    const fromTable = INSTANCE_PRICES[config.region]?.[type]?.vcpus;
    if (!result.has(type) && fromTable) result.set(type, fromTable);
  }
  return result;
}
