/** Tests of training-compute: network; training-compute: security group. */
import { describe, expect, it } from "vitest";
import { subnetCidrs } from "../../../modules/training-compute";
import { dataOf, resourceOf, resourcesOf, synthJson } from "../../support/synth";
import { moduleStack } from "../../support/module-stack";
import { buildCompute, localOf, synthCompute } from "../../support/compute/stack";
import { defaults } from "../../support/compute/synth-fixtures";

describe("training-compute: network", () => {
  it("GIVEN the default VPC WHEN synthesized THEN the security group lives in it and nothing network-wide is created", () => {
    expect(dataOf(defaults.json, "aws_vpc", "compute_default")).toMatchObject({ default: true });
    expect(resourceOf(defaults.json, "aws_security_group", "compute").vpc_id).toBe("${data.aws_vpc.compute_default.id}");
    for (const type of ["aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_nat_gateway", "aws_vpc_endpoint"]) {
      expect(resourcesOf(defaults.json, type), type).toEqual({});
    }
  });

  it("GIVEN var.instance_type WHEN the subnet is chosen THEN it is the default subnet of the first AZ (sorted) offering it", () => {
    expect(dataOf(defaults.json, "aws_ec2_instance_type_offerings", "compute")).toMatchObject({
      location_type: "availability-zone",
      filter: [{ name: "instance-type", values: ["${var.instance_type}"] }],
    });
    expect(dataOf(defaults.json, "aws_subnet", "compute_instance").filter).toEqual([
      { name: "vpc-id", values: ["${data.aws_vpc.compute_default.id}"] },
      { name: "default-for-az", values: ["true"] },
      { name: "availability-zone", values: ["${sort(data.aws_ec2_instance_type_offerings.compute.locations)[0]}"] },
    ]);
    expect(localOf(defaults.json, "compute_instance_subnet_id")).toBe("${one(data.aws_subnet.compute_instance[*].id)}");
  });

  it("GIVEN no AZ offers the type WHEN the default subnet is looked up THEN a precondition names the type", () => {
    const lifecycle = dataOf(defaults.json, "aws_subnet", "compute_instance").lifecycle as { precondition: { condition: string }[] };
    expect(lifecycle.precondition[0]?.condition).toBe("${length(data.aws_ec2_instance_type_offerings.compute.locations) > 0}");
  });

  const dedicated = synthCompute({ compute: { network: { mode: "dedicated", vpcCidr: "10.42.0.0/16", availabilityZoneCount: 3 } } });

  it("GIVEN a dedicated VPC WHEN synthesized THEN it has the env's CIDR and DNS", () => {
    expect(resourceOf(dedicated.json, "aws_vpc", "compute")).toMatchObject({ cidr_block: "10.42.0.0/16", enable_dns_support: true, enable_dns_hostnames: true });
  });

  it("GIVEN 3 zones WHEN synthesized THEN there are 3 public subnets with cidrsubnet(/16, 4, n) ranges in the first 3 zones", () => {
    const subnets = resourcesOf(dedicated.json, "aws_subnet");
    expect(Object.keys(subnets).sort()).toEqual(["compute_public_1", "compute_public_2", "compute_public_3"]);
    ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"].forEach((cidr, index) => {
      expect(subnets[`compute_public_${index + 1}`]).toMatchObject({
        cidr_block: cidr,
        availability_zone: `\${data.aws_availability_zones.compute.names[${index}]}`,
        map_public_ip_on_launch: true,
        vpc_id: "${aws_vpc.compute.id}",
      });
    });
  });

  it("GIVEN a dedicated VPC WHEN synthesized THEN the public route table sends 0.0.0.0/0 to an internet gateway, for every subnet", () => {
    expect(resourceOf(dedicated.json, "aws_route", "compute_internet")).toMatchObject({
      destination_cidr_block: "0.0.0.0/0",
      gateway_id: "${aws_internet_gateway.compute.id}",
      route_table_id: "${aws_route_table.compute_public.id}",
    });
    expect(Object.keys(resourcesOf(dedicated.json, "aws_route_table_association")).sort()).toEqual(["compute_public_1", "compute_public_2", "compute_public_3"]);
  });

  it("GIVEN a dedicated VPC WHEN synthesized THEN there is a free S3 gateway endpoint and no NAT gateway", () => {
    expect(resourceOf(dedicated.json, "aws_vpc_endpoint", "compute_s3")).toMatchObject({
      vpc_endpoint_type: "Gateway",
      service_name: "com.amazonaws.${data.aws_region.current.name}.s3",
      route_table_ids: ["${aws_route_table.compute_public.id}"],
    });
    expect(resourcesOf(dedicated.json, "aws_nat_gateway")).toEqual({});
  });

  it("GIVEN a dedicated VPC WHEN the instance subnet is chosen THEN it is the first public subnet in an AZ offering the type", () => {
    expect(localOf(dedicated.json, "compute_instance_subnet_id")).toBe(
      "${try([for s in [aws_subnet.compute_public_1, aws_subnet.compute_public_2, aws_subnet.compute_public_3] : s.id if contains(data.aws_ec2_instance_type_offerings.compute.locations, s.availability_zone)][0], null)}",
    );
    expect(resourceOf(dedicated.json, "aws_security_group", "compute").vpc_id).toBe("${aws_vpc.compute.id}");
  });

  it("GIVEN a region with fewer zones than asked WHEN planned THEN a postcondition says so", () => {
    const lifecycle = dataOf(dedicated.json, "aws_availability_zones", "compute").lifecycle as { postcondition: { condition: string }[] };
    expect(lifecycle.postcondition[0]?.condition).toBe("${length(self.names) >= 3}");
  });

  it("GIVEN a dedicated VPC and an Elastic IP WHEN synthesized THEN the address waits for the internet gateway", () => {
    const { json } = synthCompute({ compute: { elasticIp: true, network: { mode: "dedicated" } } });
    expect(resourceOf(json, "aws_eip", "compute_training").depends_on).toEqual(["aws_internet_gateway.compute"]);
  });

  it.each([
    ["10.42.0.0/16", 2, ["10.42.0.0/20", "10.42.16.0/20"]],
    ["192.168.10.0/24", 2, ["192.168.10.0/28", "192.168.10.16/28"]],
    ["172.16.0.0/20", 6, ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24", "172.16.3.0/24", "172.16.4.0/24", "172.16.5.0/24"]],
  ])("GIVEN the VPC CIDR %s and %i zones WHEN split THEN the subnets are %j", (cidr, count, expected) => {
    expect(subnetCidrs(cidr, count)).toEqual(expected);
  });

  it.each([
    ["10.0.0.0/8", 2, /from \/16 to \/24/],
    ["10.42.0.0/16", 7, /2 to 6 zones/],
    ["10.42.0.0/16", 1, /2 to 6 zones/],
  ])("GIVEN the VPC CIDR %s and %i zones WHEN split THEN a GtiError explains the limit", (cidr, count, message) => {
    expect(() => subnetCidrs(cidr, count)).toThrow(message);
  });

  it("GIVEN the default VPC WHEN the fleet asks for every subnet THEN the default subnets are looked up, once", () => {
    const stack = moduleStack();
    const { compute } = buildCompute(stack);
    const network = compute.launchSpec.network;
    expect(network.subnetIds).toHaveLength(1); // a token list
    void network.subnetIds; // a second lookup would be a second data source, refused by address()
    const json = synthJson(stack);
    expect(Object.keys(json.data?.aws_subnets ?? {})).toEqual(["compute"]);
    expect(dataOf(json, "aws_subnets", "compute").filter).toEqual([
      { name: "vpc-id", values: ["${data.aws_vpc.compute_default.id}"] },
      { name: "default-for-az", values: ["true"] },
    ]);
  });

  it("GIVEN a dedicated VPC WHEN the fleet asks for every subnet THEN it gets the public subnets", () => {
    expect(dedicated.compute.launchSpec.network.subnetIds).toHaveLength(3);
  });
});

describe("training-compute: security group", () => {
  it("GIVEN the security group WHEN synthesized THEN it only allows outbound traffic, each rule described", () => {
    expect(resourcesOf(defaults.json, "aws_vpc_security_group_ingress_rule")).toEqual({});
    const egress = resourcesOf(defaults.json, "aws_vpc_security_group_egress_rule");
    expect(Object.keys(egress).sort()).toEqual(["compute_all_ipv4", "compute_all_ipv6"]);
    for (const rule of Object.values(egress)) {
      expect(rule).toMatchObject({ ip_protocol: "-1", security_group_id: "${aws_security_group.compute.id}" });
      expect(String(rule.description).length).toBeGreaterThan(20);
    }
  });

  it("GIVEN a key pair and allowed CIDRs WHEN synthesized THEN port 22 opens to exactly those ranges, IPv4 and IPv6", () => {
    const { json } = synthCompute({ compute: { ssh: { keyPairName: "ops", allowedCidrs: ["203.0.113.0/24", "2001:db8::/48"] } } });
    expect(resourcesOf(json, "aws_vpc_security_group_ingress_rule")).toEqual({
      compute_ssh_203_0_113_0_24: expect.objectContaining({ cidr_ipv4: "203.0.113.0/24", from_port: 22, to_port: 22, ip_protocol: "tcp", description: "SSH from 203.0.113.0/24 (compute.ssh.allowedCidrs)" }),
      compute_ssh_2001_db8_48: expect.objectContaining({ cidr_ipv6: "2001:db8::/48", from_port: 22, to_port: 22, ip_protocol: "tcp" }),
    });
  });

  it("GIVEN a key pair without CIDRs WHEN synthesized THEN no port opens (SSH goes through Session Manager)", () => {
    expect(resourcesOf(synthCompute({ compute: { ssh: { keyPairName: "ops" } } }).json, "aws_vpc_security_group_ingress_rule")).toEqual({});
  });

  it("GIVEN CIDRs without a key pair WHEN constructed THEN a GtiError refuses an open port nobody can use", () => {
    expect(() => synthCompute({ compute: { ssh: { allowedCidrs: ["203.0.113.0/24"] } } })).toThrow(/without a key pair/);
  });

  it("GIVEN SSH from the whole internet WHEN constructed THEN a GtiError refuses it", () => {
    expect(() => synthCompute({ compute: { ssh: { keyPairName: "ops", allowedCidrs: ["0.0.0.0/0"] } } })).toThrow(/never the whole internet/);
  });
});
