/**
 * What a multi-node fleet adds to the network: `aws_security_group.fleet_nodes`, letting members of the group reach
 * each other over TCP (torchrun's rendezvous, NCCL's socket transport) and nothing else, and optionally a cluster
 * placement group `aws_placement_group.fleet`.
 */
import { PlacementGroup } from "@cdktf/provider-aws/lib/placement-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { address } from "../../src/naming";

export interface MultiNodeNetworkProps {
  /** The fleet's name (`<prefix>-fleet`): the group is `<name>-nodes`, the placement group `<name>`. */
  readonly name: string;
  /** The VPC of the nodes. */
  readonly vpcId: string;
  /** torchrun's rendezvous port (for the rule's description). */
  readonly masterPort: number;
  /** Create a cluster placement group. */
  readonly placementGroup: boolean;
}

/** The nodes' security group and, optionally, their placement group. */
export class MultiNodeNetwork extends Construct {
  /** `aws_security_group.fleet_nodes`. */
  public readonly securityGroup: SecurityGroup;
  /** `aws_placement_group.fleet`, when asked for. */
  public readonly placementGroup: PlacementGroup | undefined;

  public constructor(scope: Construct, id: string, props: MultiNodeNetworkProps) {
    super(scope, id);
    const { name } = props;
    this.securityGroup = address(
      new SecurityGroup(this, "NodesSecurityGroup", {
        name: `${name}-nodes`,
        description: "Multi-node training fleet: node-to-node traffic (torchrun rendezvous, NCCL) from members of this group only",
        vpcId: props.vpcId,
        tags: { Name: `${name}-nodes` },
      }),
      "fleet",
      "nodes",
    );
    address(
      new VpcSecurityGroupIngressRule(this, "NodesIngress", {
        securityGroupId: this.securityGroup.id,
        referencedSecurityGroupId: this.securityGroup.id,
        // TCP on every port: torchrun's c10d rendezvous (fleet.masterPort) and NCCL's socket transport, which
        // listens on ephemeral ports. Only from nodes carrying this same group: nothing else is opened.
        ipProtocol: "tcp",
        fromPort: 0,
        toPort: 65535,
        description: `Node-to-node TCP of the multi-node fleet (torchrun rendezvous on ${props.masterPort}, NCCL on ephemeral ports), from fleet nodes only`,
      }),
      "fleet",
      "nodes",
    );
    this.placementGroup = props.placementGroup
      ? address(new PlacementGroup(this, "PlacementGroup", { name, strategy: "cluster", tags: { Name: name } }), "fleet")
      : undefined;
  }
}
