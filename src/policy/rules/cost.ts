/**
 * Cost rules: nothing is billed while no training runs, unless the environment opts in. An opt-in is either a
 * Terraform toggle (`count` driven by a variable such as `create_instance`, default off) or a suppression whose
 * reason says why the env pays for it.
 */
import { COMPLIANT, nonCompliant, type Json, type PolicyElement, type PolicyRule } from "../types";
import { block, blocks, isExpression, isSet, literalNumber, show, toggledByVariable } from "../values";

/** True when the element exists only when a variable says so, or never (`count = 0`). */
function switchedOff(element: PolicyElement): boolean {
  return toggledByVariable(element.config) || literalNumber(element.config.count) === 0;
}

const TOGGLE_FIX = 'give it count = var.<toggle> ? 1 : 0 with the toggle off by default (like create_instance), or suppress the rule with the reason the env pays for it';

export const COST_NO_NAT_GATEWAY: PolicyRule = {
  id: "GTI-COST-001",
  pack: "cost",
  appliesTo: ["aws_nat_gateway"],
  what: "No NAT gateway, unless switched by a variable.",
  why: "A NAT gateway bills about $33/month per AZ plus data processing, idle or not; instances here use public subnets (or VPC gateway endpoints) instead.",
  fix: "Use public subnets with an internet gateway (compute.network), or switch the NAT gateway with a variable.",
  check(nat) {
    if (switchedOff(nat)) return COMPLIANT;
    return nonCompliant(
      `NAT gateway with count = ${show(nat.config.count)} bills every hour it exists`,
      `use public subnets with an internet gateway (and S3 gateway endpoints, which are free); otherwise ${TOGGLE_FIX}`,
    );
  },
};

export const COST_NO_INTERFACE_ENDPOINTS: PolicyRule = {
  id: "GTI-COST-002",
  pack: "cost",
  appliesTo: ["aws_vpc_endpoint"],
  what: "No interface (or Gateway Load Balancer) VPC endpoints, unless switched by a variable; gateway endpoints (S3, DynamoDB) are free and fine.",
  why: "Each interface endpoint bills about $7/month per AZ, idle or not.",
  fix: 'Use vpc_endpoint_type = "Gateway" for S3, public subnets for the rest, or switch the endpoint with a variable.',
  check(endpoint) {
    const type = endpoint.config.vpc_endpoint_type ?? "Gateway";
    if (type === "Gateway" || switchedOff(endpoint)) return COMPLIANT;
    return nonCompliant(
      `vpc_endpoint_type = ${show(type)}${isExpression(type) ? " (known only at apply time)" : ""} bills every hour it exists`,
      `use a Gateway endpoint (S3, DynamoDB) or the public endpoint; otherwise ${TOGGLE_FIX}`,
    );
  },
};

export const COST_NO_ALWAYS_ON_COMPUTE: PolicyRule = {
  id: "GTI-COST-003",
  pack: "cost",
  appliesTo: ["aws_instance", "aws_autoscaling_group", "aws_spot_fleet_request", "aws_ec2_fleet"],
  what: "No always-on compute: an aws_instance has a count driven by a variable (create_instance); an auto-scaling group has min_size = 0 and no literal desired_capacity above 0; fleets target 0 unless switched.",
  why: "A GPU instance left running is the biggest bill this project can produce (g5.xlarge: ~$730/month on demand).",
  fix: "count = var.create_instance ? 1 : 0 for instances; min_size = 0 and desired_capacity = var.desired_instances for groups.",
  check(element) {
    const config = element.config;
    if (element.type === "aws_instance") {
      if (switchedOff(element)) return COMPLIANT;
      return nonCompliant(
        `count = ${show(config.count)}: the instance exists (and bills) whatever create_instance says`,
        "set count = var.create_instance ? 1 : 0 (TerraformCount.of(...), see docs/cdktf-pitfalls.md)",
      );
    }
    if (element.type === "aws_autoscaling_group") {
      const problems: string[] = [];
      if (literalNumber(config.min_size) !== 0) problems.push(`min_size = ${show(config.min_size)}, not 0`);
      const desired = literalNumber(config.desired_capacity);
      if (desired !== undefined && desired > 0) problems.push(`desired_capacity = ${desired} is a literal above 0`);
      if (problems.length === 0 || switchedOff(element)) return COMPLIANT;
      return nonCompliant(
        `${problems.join("; ")}: the group keeps instances running while idle`,
        "set min_size = 0 and desired_capacity = var.desired_instances (default 0); scale up at apply time",
      );
    }
    const target =
      element.type === "aws_spot_fleet_request"
        ? config.target_capacity
        : block(config, "target_capacity_specification")?.total_target_capacity;
    const capacity = literalNumber(target);
    if (switchedOff(element) || isExpression(target) || capacity === 0) return COMPLIANT;
    return nonCompliant(
      `target capacity = ${show(target)} keeps instances running while idle`,
      "drive the target capacity from a variable that defaults to 0, or switch the fleet with count = var.<toggle> ? 1 : 0",
    );
  },
};

/** Baseline gp3 performance, included in the volume price. */
export const GP3_BASELINE = { iops: 3000, throughput: 125 } as const;

/** The EBS volume specs an element defines: `[label, spec]`. */
function volumeSpecs(element: PolicyElement): [string, Json][] {
  if (element.type === "aws_ebs_volume") return [["the volume", element.config]];
  if (element.type === "aws_launch_template") {
    return blocks(element.config, "block_device_mappings").flatMap((m) => {
      const ebs = block(m.body, "ebs");
      return ebs ? [[`block_device_mappings ${show(m.body.device_name)}`, ebs] as [string, Json]] : [];
    });
  }
  const root = block(element.config, "root_block_device");
  return [
    ...(root ? [["root_block_device", root] as [string, Json]] : []),
    ...blocks(element.config, "ebs_block_device").map((d) => [`ebs_block_device ${show(d.body.device_name)}`, d.body] as [string, Json]),
  ];
}

export const COST_NO_PROVISIONED_IOPS: PolicyRule = {
  id: "GTI-COST-004",
  pack: "cost",
  appliesTo: ["aws_instance", "aws_launch_template", "aws_ebs_volume"],
  what: `No provisioned IOPS by default: no io1/io2 volumes, no gp3 iops above ${GP3_BASELINE.iops} or throughput above ${GP3_BASELINE.throughput} MiB/s.`,
  why: "Provisioned IOPS and throughput bill per month whether or not training runs; gp3's baseline is free and enough to stream checkpoints.",
  fix: `Use gp3 with the baseline (omit iops/throughput, or ${GP3_BASELINE.iops} / ${GP3_BASELINE.throughput}).`,
  check(element) {
    const problems: string[] = [];
    for (const [label, spec] of volumeSpecs(element)) {
      const type = spec.volume_type;
      if (type === "io1" || type === "io2") problems.push(`${label} is ${type} (provisioned IOPS)`);
      else if (isExpression(type)) problems.push(`${label} takes volume_type from ${type}, known only at apply time`);
      const iops = spec.iops;
      const throughput = spec.throughput;
      if (type !== "io1" && type !== "io2" && isSet(iops)) {
        const value = literalNumber(iops);
        if (value === undefined) problems.push(`${label} takes iops from ${show(iops)}, known only at apply time`);
        else if (value > GP3_BASELINE.iops) problems.push(`${label} provisions iops = ${value} (baseline ${GP3_BASELINE.iops})`);
      }
      if (isSet(throughput)) {
        const value = literalNumber(throughput);
        if (value === undefined) problems.push(`${label} takes throughput from ${show(throughput)}, known only at apply time`);
        else if (value > GP3_BASELINE.throughput) problems.push(`${label} provisions throughput = ${value} MiB/s (baseline ${GP3_BASELINE.throughput})`);
      }
    }
    if (problems.length === 0) return COMPLIANT;
    return nonCompliant(
      problems.join("; "),
      `use volume_type = "gp3" and leave iops/throughput at the baseline (${GP3_BASELINE.iops} / ${GP3_BASELINE.throughput}); an env that needs more suppresses GTI-COST-004 with the reason`,
    );
  },
};

export const COST_NO_IDLE_ADDRESSES_OR_VOLUMES: PolicyRule = {
  id: "GTI-COST-005",
  pack: "cost",
  appliesTo: ["aws_eip", "aws_ebs_volume"],
  what: "Elastic IPs and standalone EBS volumes exist only with the instance (count driven by a variable).",
  why: "An Elastic IP bills hourly whether or not it is attached, and a volume bills per GB-month after its instance is gone.",
  fix: "count = var.create_instance ? 1 : 0 (the instance's toggle), or suppress with the reason the env keeps it.",
  check(element) {
    if (switchedOff(element)) return COMPLIANT;
    const kind = element.type === "aws_eip" ? "Elastic IP" : "EBS volume";
    return nonCompliant(
      `the ${kind} has count = ${show(element.config.count)}: it exists (and bills) while no instance runs`,
      `give it the instance's toggle: count = var.create_instance ? 1 : 0; a ${kind.toLowerCase()} kept on purpose needs a suppression with the reason`,
    );
  },
};

export const COST_RULES: readonly PolicyRule[] = [
  COST_NO_NAT_GATEWAY,
  COST_NO_INTERFACE_ENDPOINTS,
  COST_NO_ALWAYS_ON_COMPUTE,
  COST_NO_PROVISIONED_IOPS,
  COST_NO_IDLE_ADDRESSES_OR_VOLUMES,
];
