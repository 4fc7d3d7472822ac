/**
 * Where training instances run: the account's default VPC (the default), or a dedicated VPC with public subnets in
 * several availability zones, an internet gateway, a free S3 gateway endpoint, and **no NAT gateway** (nothing billed
 * while idle). Instances get public IPv4 addresses and reach AWS APIs, ECR, S3 and the Hugging Face Hub directly;
 * nothing reaches them (the security group is egress-only unless SSH is configured).
 *
 * **Subnet choice.** Not every AZ offers every GPU type (us-east-1's use1-az3 has no G5, for instance). The instance
 * goes to the first availability zone, in name order, that offers `var.instance_type`
 * (`data.aws_ec2_instance_type_offerings`), so the choice follows the variable at plan time:
 * - default VPC: that zone's default subnet (`data.aws_subnet.compute_instance`, read only with an instance);
 * - dedicated VPC: the first of its subnets in such a zone.
 * When no zone qualifies, the plan fails with a message naming the instance type (a precondition), instead of a
 * launch error after minutes of waiting.
 */
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { DataAwsEc2InstanceTypeOfferings } from "@cdktf/provider-aws/lib/data-aws-ec2-instance-type-offerings";
import { DataAwsSubnet } from "@cdktf/provider-aws/lib/data-aws-subnet";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets";
import { DataAwsVpc } from "@cdktf/provider-aws/lib/data-aws-vpc";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { type TerraformCount, TerraformLocal, Token } from "cdktf";
import { Construct } from "constructs";
import { AwsContext } from "../../src/aws-context";
import { parseCidr } from "../../src/rules";
import { GtiError } from "../../src/errors";
import { address } from "../../src/naming";

/** `default-vpc` or `dedicated` (`compute.network.mode`). */
export type NetworkMode = "default-vpc" | "dedicated";

/** Prefix bits added to the VPC CIDR for each public subnet: 16 slots, so a /16 VPC gets /20 subnets. */
export const SUBNET_NEWBITS = 4;

/** Most availability zones a dedicated VPC may span (`compute.network.availabilityZoneCount`). */
export const MAX_AVAILABILITY_ZONES = 6;

export interface TrainingNetworkProps {
  /** Start of resource names, usually `<project>-<env>`. */
  readonly namePrefix: string;
  /** The instance type to place (a token: `var.instance_type`). */
  readonly instanceType: string;
  /** Creates the instance's subnet lookup only with the instance (the default VPC mode's `data.aws_subnet`). */
  readonly instanceCount: TerraformCount;
  /** @default "default-vpc" */
  readonly mode?: NetworkMode;
  /** IPv4 CIDR of the dedicated VPC, /16 to /24. @default "10.42.0.0/16" */
  readonly vpcCidr?: string;
  /** Number of availability zones (public subnets) of the dedicated VPC, 2 to 6. @default 2 */
  readonly availabilityZoneCount?: number;
}

/**
 * The VPC and subnets of one environment's training instances (addresses `*.compute_*`).
 *
 * @example
 * const network = new TrainingNetwork(this, "Network", { namePrefix, instanceType: variables.instanceType.stringValue, instanceCount });
 * network.vpcId;            // the default VPC's id, or ${aws_vpc.compute.id}
 * network.instanceSubnetId; // a subnet in an AZ offering var.instance_type
 * network.subnetIds;        // every usable subnet (the fleet spreads over them)
 */
export class TrainingNetwork extends Construct {
  /** The mode in force. */
  public readonly mode: NetworkMode;
  /** Id of the VPC (a token). */
  public readonly vpcId: string;
  /** `data.aws_ec2_instance_type_offerings.compute`: the availability zones offering `var.instance_type`. */
  public readonly offerings: DataAwsEc2InstanceTypeOfferings;
  /**
   * Id of the subnet the single instance goes to (a token; `local.compute_instance_subnet_id`): null when no
   * subnet qualifies (the instance's precondition then fails) or, in the default VPC, when there is no instance.
   */
  public readonly instanceSubnetId: string;
  /**
   * A Terraform condition (an expression, without `${}`) that holds when a subnet was found, and the message for when
   * it does not: the instance's precondition.
   */
  public readonly instanceSubnetCheck: { readonly condition: string; readonly errorMessage: string };
  /** The dedicated VPC (`aws_vpc.compute`); undefined with the default VPC. */
  public readonly vpc: Vpc | undefined;
  /** The dedicated VPC's internet gateway (Elastic IPs depend on it); undefined with the default VPC. */
  public readonly internetGateway: InternetGateway | undefined;
  /** The dedicated VPC's public subnets (`aws_subnet.compute_public_<n>`), in AZ order; empty with the default VPC. */
  public readonly publicSubnets: readonly Subnet[];

  private readonly defaultVpc: DataAwsVpc | undefined;
  private defaultSubnets?: DataAwsSubnets;

  public constructor(scope: Construct, id: string, props: TrainingNetworkProps) {
    super(scope, id);
    this.mode = props.mode ?? "default-vpc";
    const context = AwsContext.of(this);

    this.offerings = address(
      new DataAwsEc2InstanceTypeOfferings(this, "InstanceTypeOfferings", {
        locationType: "availability-zone",
        filter: [{ name: "instance-type", values: [props.instanceType] }],
      }),
      "compute",
    );
    const offeredZones = `data.aws_ec2_instance_type_offerings.compute.locations`;
    const noZoneMessage =
      `No availability zone of \${data.aws_region.current.name} offers instance_type "\${var.instance_type}"` +
      `${this.mode === "dedicated" ? " among the dedicated VPC's subnets" : ""}. ` +
      `Fix: pick another instance_type (aws ec2 describe-instance-type-offerings --location-type availability-zone --filters Name=instance-type,Values=\${var.instance_type})` +
      `${this.mode === "dedicated" ? ", or raise compute.network.availabilityZoneCount" : ""}.`;
    void context.regionSource; // the message above reads data.aws_region.current

    if (this.mode === "default-vpc") {
      this.defaultVpc = address(new DataAwsVpc(this, "DefaultVpc", { default: true }), "compute", "default");
      this.vpcId = this.defaultVpc.id;
      this.vpc = undefined;
      this.internetGateway = undefined;
      this.publicSubnets = [];
      address(
        new DataAwsSubnet(this, "InstanceSubnet", {
          count: props.instanceCount,
          filter: [
            { name: "vpc-id", values: [this.vpcId] },
            { name: "default-for-az", values: ["true"] },
            { name: "availability-zone", values: [`\${sort(${offeredZones})[0]}`] },
          ],
          lifecycle: {
            precondition: [{ condition: `\${length(${offeredZones}) > 0}`, errorMessage: noZoneMessage }],
          },
        }),
        "compute",
        "instance",
      );
      this.instanceSubnetId = this.local("instance_subnet_id", "${one(data.aws_subnet.compute_instance[*].id)}");
      // The data source's own precondition reports a missing zone; the instance only needs a subnet id.
      this.instanceSubnetCheck = { condition: "local.compute_instance_subnet_id != null", errorMessage: noZoneMessage };
    } else {
      const cidr = props.vpcCidr ?? "10.42.0.0/16";
      const zoneCount = props.availabilityZoneCount ?? 2;
      const cidrs = subnetCidrs(cidr, zoneCount);
      address(
        new DataAwsAvailabilityZones(this, "AvailabilityZones", {
          state: "available",
          filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
          lifecycle: {
            postcondition: [
              {
                condition: `\${length(self.names) >= ${zoneCount}}`,
                errorMessage:
                  `\${data.aws_region.current.name} has \${length(self.names)} availability zones (without opt-in), fewer than ` +
                  `compute.network.availabilityZoneCount = ${zoneCount}. Fix: lower availabilityZoneCount.`,
              },
            ],
          },
        }),
        "compute",
      );
      this.vpc = address(
        new Vpc(this, "Vpc", {
          cidrBlock: cidr,
          enableDnsSupport: true,
          enableDnsHostnames: true,
          tags: { Name: `${props.namePrefix}` },
        }),
        "compute",
      );
      this.vpcId = this.vpc.id;
      this.internetGateway = address(
        new InternetGateway(this, "InternetGateway", { vpcId: this.vpc.id, tags: { Name: `${props.namePrefix}` } }),
        "compute",
      );
      const routeTable = address(
        new RouteTable(this, "PublicRouteTable", { vpcId: this.vpc.id, tags: { Name: `${props.namePrefix}-public` } }),
        "compute",
        "public",
      );
      address(
        new Route(this, "InternetRoute", {
          routeTableId: routeTable.id,
          destinationCidrBlock: "0.0.0.0/0",
          gatewayId: this.internetGateway.id,
        }),
        "compute",
        "internet",
      );
      this.publicSubnets = cidrs.map((subnetCidr, index) => {
        const n = index + 1;
        const subnet = address(
          new Subnet(this, `PublicSubnet${n}`, {
            vpcId: this.vpc!.id,
            cidrBlock: subnetCidr,
            availabilityZone: Token.asString(`\${data.aws_availability_zones.compute.names[${index}]}`),
            // No NAT: instances need a public address to reach AWS APIs, ECR and the internet.
            mapPublicIpOnLaunch: true,
            tags: { Name: `${props.namePrefix}-public-${n}` },
          }),
          "compute",
          `public_${n}`,
        );
        address(
          new RouteTableAssociation(this, `PublicSubnet${n}Routes`, { subnetId: subnet.id, routeTableId: routeTable.id }),
          "compute",
          `public_${n}`,
        );
        return subnet;
      });
      // S3 traffic (datasets, checkpoints) stays on the AWS network; a gateway endpoint is free.
      address(
        new VpcEndpoint(this, "S3Endpoint", {
          vpcId: this.vpc.id,
          serviceName: `com.amazonaws.${context.region}.s3`,
          vpcEndpointType: "Gateway",
          routeTableIds: [routeTable.id],
          tags: { Name: `${props.namePrefix}-s3` },
        }),
        "compute",
        "s3",
      );
      const subnetList = this.publicSubnets.map((_, index) => `aws_subnet.compute_public_${index + 1}`).join(", ");
      this.instanceSubnetId = this.local(
        "instance_subnet_id",
        `\${try([for s in [${subnetList}] : s.id if contains(${offeredZones}, s.availability_zone)][0], null)}`,
      );
      this.instanceSubnetCheck = { condition: "local.compute_instance_subnet_id != null", errorMessage: noZoneMessage };
    }
  }

  /**
   * Every subnet instances may use (a token list): the default VPC's default subnets (`data.aws_subnets.compute`,
   * read on first use), or the dedicated VPC's public subnets. For the fleet, which spreads over all of them.
   */
  public get subnetIds(): string[] {
    if (this.mode === "dedicated") return this.publicSubnets.map((subnet) => subnet.id);
    this.defaultSubnets ??= address(
      new DataAwsSubnets(this, "DefaultSubnets", {
        filter: [
          { name: "vpc-id", values: [this.vpcId] },
          { name: "default-for-az", values: ["true"] },
        ],
      }),
      "compute",
    );
    return this.defaultSubnets.ids;
  }

  private local(name: string, expression: string): string {
    return address(new TerraformLocal(this, `Local_${name}`, expression), "compute", name).asString;
  }
}

/**
 * The public subnets' CIDRs: slots 0..count-1 of the VPC CIDR split {@link SUBNET_NEWBITS} bits further
 * (`cidrsubnet(vpc, 4, n)`), computed at synth so the plan shows them.
 *
 * @throws GtiError for a malformed CIDR, a prefix longer than /24, or more zones than {@link MAX_AVAILABILITY_ZONES}
 */
export function subnetCidrs(vpcCidr: string, count: number): string[] {
  const parsed = parseCidr(vpcCidr);
  if (!parsed || parsed.version !== 4 || parsed.prefix > 24 || parsed.prefix < 16) {
    throw new GtiError(`Invalid dedicated VPC CIDR "${vpcCidr}": an IPv4 CIDR from /16 to /24 is needed. Fix: use e.g. "10.42.0.0/16".`);
  }
  if (!Number.isInteger(count) || count < 2 || count > MAX_AVAILABILITY_ZONES) {
    throw new GtiError(
      `Invalid availability zone count ${count}: a dedicated VPC spans 2 to ${MAX_AVAILABILITY_ZONES} zones. Fix: set compute.network.availabilityZoneCount in 2..${MAX_AVAILABILITY_ZONES}.`,
    );
  }
  const base = parsed.address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const prefix = parsed.prefix + SUBNET_NEWBITS;
  const size = 2 ** (32 - prefix);
  return Array.from({ length: count }, (_, index) => {
    const start = base + index * size;
    const octets = [24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256);
    return `${octets.join(".")}/${prefix}`;
  });
}
