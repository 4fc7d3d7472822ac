/**
 * The training instances' security group `aws_security_group.compute`: egress only (Session Manager needs no inbound
 * port), plus SSH from named ranges when a key pair is set, never from the whole internet.
 */
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { GtiError } from "../../src/errors";
import { address } from "../../src/naming";
import { parseCidr } from "../../src/rules";

export interface InstanceSecurityGroupProps {
  /** Start of the group's name (`<prefix>-instance`). */
  readonly namePrefix: string;
  /** The VPC. */
  readonly vpcId: string;
  /** SSH access. @default none: no ingress */
  readonly ssh?: {
    /** Existing EC2 key pair. @default none */
    readonly keyPairName?: string;
    /** CIDRs allowed to port 22 (never 0.0.0.0/0 or ::/0). @default [] */
    readonly allowedCidrs?: readonly string[];
  };
}

/** The security group, its egress rules and the SSH ingress rules. */
export class InstanceSecurityGroup extends Construct {
  /** `aws_security_group.compute`. */
  public readonly securityGroup: SecurityGroup;
  /** The SSH ingress rules (`aws_vpc_security_group_ingress_rule.compute_ssh_<cidr>`). */
  public readonly sshIngress: readonly VpcSecurityGroupIngressRule[];

  public constructor(scope: Construct, id: string, props: InstanceSecurityGroupProps) {
    super(scope, id);
    const cidrs = props.ssh?.allowedCidrs ?? [];
    this.securityGroup = address(
      new SecurityGroup(this, "SecurityGroup", {
        name: `${props.namePrefix}-instance`,
        description: "GPU training instances: outbound only (Session Manager needs no inbound port); SSH only from compute.ssh.allowedCidrs",
        vpcId: props.vpcId,
        tags: { Name: `${props.namePrefix}-instance` },
      }),
      "compute",
    );
    address(
      new VpcSecurityGroupEgressRule(this, "EgressIpv4", {
        securityGroupId: this.securityGroup.id,
        ipProtocol: "-1",
        cidrIpv4: "0.0.0.0/0",
        description: "Outbound to AWS APIs (S3, ECR, SSM, CloudWatch, Secrets Manager), the Hugging Face Hub and package mirrors; no NAT",
      }),
      "compute",
      "all_ipv4",
    );
    address(
      new VpcSecurityGroupEgressRule(this, "EgressIpv6", {
        securityGroupId: this.securityGroup.id,
        ipProtocol: "-1",
        cidrIpv6: "::/0",
        description: "Outbound over IPv6, where the VPC has it (same destinations as IPv4)",
      }),
      "compute",
      "all_ipv6",
    );
    this.sshIngress = props.ssh?.keyPairName ? this.createSshIngress(cidrs) : [];
    if (!props.ssh?.keyPairName && cidrs.length > 0) {
      throw new GtiError(
        "SSH CIDRs were given without a key pair: the port would be open with nobody able to log in. Fix: set ssh.keyPairName, or remove ssh.allowedCidrs.",
      );
    }
  }

  private createSshIngress(cidrs: readonly string[]): VpcSecurityGroupIngressRule[] {
    return cidrs.map((cidr) => {
      const parsed = parseCidr(cidr);
      if (!parsed || parsed.prefix === 0) {
        throw new GtiError(`Invalid SSH CIDR "${cidr}": a named IPv4 or IPv6 range is needed, never the whole internet. Fix: list office or VPN ranges.`);
      }
      const slug = cidr.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/_+$/, "");
      return address(
        new VpcSecurityGroupIngressRule(this, `Ssh_${slug}`, {
          securityGroupId: this.securityGroup.id,
          ipProtocol: "tcp",
          fromPort: 22,
          toPort: 22,
          ...(parsed.version === 4 ? { cidrIpv4: cidr } : { cidrIpv6: cidr }),
          description: `SSH from ${cidr} (compute.ssh.allowedCidrs)`,
        }),
        "compute",
        `ssh_${slug}`,
      );
    });
  }
}
