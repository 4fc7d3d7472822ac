/**
 * Security group rules, wherever they are written: inline `ingress`/`egress` blocks of `aws_security_group` (and
 * `aws_default_security_group`, including `dynamic` blocks), `aws_security_group_rule`, and
 * `aws_vpc_security_group_ingress_rule` / `aws_vpc_security_group_egress_rule`.
 */
import { parseCidr } from "../../rules";
import { COMPLIANT, NOT_APPLICABLE, nonCompliant, type Json, type PolicyElement, type PolicyRule } from "../types";
import { blocks, isExpression, literalNumber, stringList } from "../values";

/** One security group rule, normalized. */
export interface SecurityGroupRule {
  /** `ingress 2 of aws_security_group.x`, or the rule resource's address. */
  readonly label: string;
  readonly direction: "ingress" | "egress";
  readonly protocol: unknown;
  readonly fromPort: unknown;
  readonly toPort: unknown;
  /** Literal IPv4 and IPv6 CIDRs. */
  readonly cidrs: readonly string[];
  /** CIDRs known only at apply time (`${var.x}`). */
  readonly cidrExpressions: readonly string[];
  readonly description: unknown;
}

const INLINE_TYPES = ["aws_security_group", "aws_default_security_group"];
export const SECURITY_GROUP_TYPES: readonly string[] = [
  ...INLINE_TYPES,
  "aws_security_group_rule",
  "aws_vpc_security_group_ingress_rule",
  "aws_vpc_security_group_egress_rule",
];

/** The rules an element defines (inline blocks, or the rule resource itself). */
export function securityGroupRules(element: PolicyElement): SecurityGroupRule[] {
  const config = element.config;
  if (INLINE_TYPES.includes(element.type)) {
    return (["ingress", "egress"] as const).flatMap((direction) =>
      blocks(config, direction).map((b, index) =>
        legacyRule(b.body, direction, `${b.dynamic ? "dynamic " : ""}${direction} ${index + 1}`),
      ),
    );
  }
  if (element.type === "aws_security_group_rule") {
    const direction = config.type === "egress" ? "egress" : "ingress";
    return [legacyRule(config, direction, `${direction} rule`)];
  }
  const direction = element.type === "aws_vpc_security_group_egress_rule" ? "egress" : "ingress";
  const v4 = stringList(config.cidr_ipv4);
  const v6 = stringList(config.cidr_ipv6);
  return [
    {
      label: `${direction} rule`,
      direction,
      protocol: config.ip_protocol,
      fromPort: config.from_port,
      toPort: config.to_port,
      cidrs: [...v4.literals, ...v6.literals],
      cidrExpressions: [...v4.expressions, ...v6.expressions],
      description: config.description,
    },
  ];
}

function legacyRule(body: Json, direction: "ingress" | "egress", label: string): SecurityGroupRule {
  const v4 = stringList(body.cidr_blocks);
  const v6 = stringList(body.ipv6_cidr_blocks);
  return {
    label,
    direction,
    protocol: body.protocol,
    fromPort: body.from_port,
    toPort: body.to_port,
    cidrs: [...v4.literals, ...v6.literals],
    cidrExpressions: [...v4.expressions, ...v6.expressions],
    description: body.description,
  };
}

/** True when the rule may let traffic reach `port` over TCP (all-protocol rules and unknown ports included). */
export function coversTcpPort(rule: SecurityGroupRule, port: number): boolean {
  const protocol = String(rule.protocol ?? "").toLowerCase();
  if (protocol === "-1" || protocol === "all") return true;
  if (!(protocol === "tcp" || protocol === "6" || isExpression(rule.protocol))) return false;
  const from = literalNumber(rule.fromPort);
  const to = literalNumber(rule.toPort);
  if (from === undefined || to === undefined) return true; // computed ports: may include it
  return from <= port && port <= to;
}

/** Prefix length of a literal CIDR, or undefined when it is not one. */
function prefixOf(cidr: string): { version: 4 | 6; prefix: number } | undefined {
  const parsed = parseCidr(cidr);
  return parsed ? { version: parsed.version, prefix: parsed.prefix } : undefined;
}

export const SG_NO_INTERNET_INGRESS: PolicyRule = {
  id: "GTI-SG-001",
  pack: "security",
  appliesTo: SECURITY_GROUP_TYPES,
  what: "No ingress from 0.0.0.0/0 or ::/0.",
  why: "Nothing here serves the internet: access goes through SSM Session Manager, or SSH from named office/VPN ranges.",
  fix: "Allow named CIDRs (compute.ssh.allowedCidrs) or a source security group instead of the whole internet.",
  check(element) {
    const ingress = securityGroupRules(element).filter((r) => r.direction === "ingress");
    if (ingress.length === 0) return NOT_APPLICABLE;
    const open = ingress.filter((r) => r.cidrs.some((c) => prefixOf(c)?.prefix === 0));
    const unknown = ingress.filter((r) => r.cidrExpressions.length > 0);
    if (open.length === 0 && unknown.length === 0) return COMPLIANT;
    const problems = [
      ...open.map((r) => `${r.label} allows ${r.cidrs.filter((c) => prefixOf(c)?.prefix === 0).join(" and ")}`),
      ...unknown.map((r) => `${r.label} takes its CIDRs from ${r.cidrExpressions.join(", ")}, known only at apply time`),
    ];
    return nonCompliant(
      problems.join("; "),
      "list literal office/VPN CIDRs (compute.ssh.allowedCidrs rejects 0.0.0.0/0 and ::/0) or use a source security group; use SSM Session Manager for shell access",
    );
  },
};

export const SG_RULE_DESCRIPTIONS: PolicyRule = {
  id: "GTI-SG-002",
  pack: "security",
  appliesTo: SECURITY_GROUP_TYPES,
  what: "Every security group rule (ingress and egress) has a description.",
  why: "A reviewer (or an incident responder) can tell why a port is open without archaeology.",
  fix: "Set description on every rule, saying who or what needs it.",
  check(element) {
    const rules = securityGroupRules(element);
    if (rules.length === 0) return NOT_APPLICABLE;
    const missing = rules.filter((r) => !(typeof r.description === "string" && r.description.trim().length > 0));
    if (missing.length === 0) return COMPLIANT;
    return nonCompliant(
      `${missing.map((r) => r.label).join(", ")} ${missing.length === 1 ? "has" : "have"} no description`,
      "set description on each rule, saying who or what needs the traffic (e.g. \"SSH from the office VPN\")",
    );
  },
};

/** SSH from a range wider than this many prefix bits counts as public (more than 65,536 IPv4 addresses; a /48 site in IPv6). */
export const SSH_MIN_PREFIX = { 4: 16, 6: 48 } as const;

export const EC2_NO_PUBLIC_SSH: PolicyRule = {
  id: "GTI-EC2-003",
  pack: "security",
  appliesTo: SECURITY_GROUP_TYPES,
  what: `No public SSH: port 22 is open only to ranges of /${SSH_MIN_PREFIX[4]} (IPv4) or /${SSH_MIN_PREFIX[6]} (IPv6) or narrower.`,
  why: "SSH open to the internet (or to 0.0.0.0/1 + 128.0.0.0/1, which dodges a /0 check) is brute-forced within minutes; this project uses SSM Session Manager.",
  fix: "Use SSM Session Manager, or list your office/VPN ranges in compute.ssh.allowedCidrs.",
  check(element) {
    const ssh = securityGroupRules(element).filter((r) => r.direction === "ingress" && coversTcpPort(r, 22));
    if (ssh.length === 0) return NOT_APPLICABLE;
    const problems: string[] = [];
    for (const rule of ssh) {
      const wide = rule.cidrs.filter((c) => {
        const parsed = prefixOf(c);
        return parsed !== undefined && parsed.prefix < SSH_MIN_PREFIX[parsed.version];
      });
      if (wide.length) problems.push(`${rule.label} opens port 22 to ${wide.join(", ")}`);
      if (rule.cidrExpressions.length) {
        problems.push(`${rule.label} opens port 22 to ${rule.cidrExpressions.join(", ")}, known only at apply time`);
      }
    }
    if (problems.length === 0) return COMPLIANT;
    return nonCompliant(
      problems.join("; "),
      `use SSM Session Manager (no port 22), or allow only literal office/VPN ranges of /${SSH_MIN_PREFIX[4]} or narrower (compute.ssh.allowedCidrs)`,
    );
  },
};

export const NETWORK_RULES: readonly PolicyRule[] = [SG_NO_INTERNET_INGRESS, SG_RULE_DESCRIPTIONS, EC2_NO_PUBLIC_SSH];
