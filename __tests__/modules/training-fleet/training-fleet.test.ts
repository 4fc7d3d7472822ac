/**
 * training-fleet at synth: the launch template built from the compute module's launch spec, the auto-scaling group
 * (mixed instances, spot mix, refresh, metrics, capacity waiting), the drain hook, the multi-node pieces (shared run id,
 * node-to-node security group, placement group), the nodes' permissions, the runtime configuration, the outputs, and
 * the environment stacks' wiring. `__tests__/terraform/fleet*` prove the Terraform interface with real plans.
 */
import { describe, expect, it } from "vitest";
import { METADATA_OPTIONS, USER_DATA_BUDGET_BYTES, launchTemplateEbs } from "../../../modules/training-compute";
import { FLEET_DISCOVERY_ACTIONS, FLEET_GROUP_METRICS, FLEET_LIFECYCLE_ACTIONS } from "../../../modules/training-fleet";
import { GtiError } from "../../../src/errors";
import { FleetVariables } from "../../../src/fleet-variables";
import { isStarResourceAction } from "../../../src/policy/rules/iam";
import { type SynthesizedStack, dataOf, resourceOf, resourcesOf } from "../../support/synth";
import { realEnvironment } from "../../support/envs";
import { ENVIRONMENT, PREFIX, buildCompute, localOf, runtimeEnvOf, violationsOf } from "../../support/compute/stack";
import { TAGS, buildFleet, synthFleet } from "../../support/fleet/stack";
import { moduleStack, outputsDeclaredUnder, statementsOf } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";

const NAME = `${PREFIX}-fleet`;
const SUBNET = "subnet-0123456789abcdef0";

function groupOf(json: SynthesizedStack): Record<string, any> {
  return resourceOf(json, "aws_autoscaling_group", "fleet") as Record<string, any>;
}

function templateOf(json: SynthesizedStack): Record<string, any> {
  return resourceOf(json, "aws_launch_template", "fleet") as Record<string, any>;
}

function tagSpec(json: SynthesizedStack, type: "instance" | "volume"): Record<string, string> {
  const spec = (templateOf(json).tag_specifications as { resource_type: string; tags: Record<string, string> }[]).find(
    (s) => s.resource_type === type,
  );
  if (!spec) throw new Error(`no tag_specifications for ${type}`);
  return spec.tags;
}

const independent = synthFleet();
const multiNode = synthFleet({
  fleet: { mode: "multi-node", placementGroup: true, subnetIds: [SUBNET], masterPort: 29600, rendezvousTimeoutSeconds: 900 },
});
const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/** Non-default settings, one synth for several tests (each asserts one of them). */
const customized = synthFleet({
  compute: {
    compute: { ami: { id: "ami-0123456789abcdef0" }, rootVolumeKmsKeyArn: KEY, ssh: { keyPairName: "ops" }, network: { mode: "dedicated" } },
  },
  fleet: { mode: "multi-node", drainTimeoutSeconds: 900 },
});

describe("training-fleet: the launch template shares the launch spec", () => {
  const template = templateOf(independent.json);

  it("GIVEN the DLAMI from SSM WHEN synthesized THEN the template resolves its public parameter at each launch", () => {
    expect(template.image_id).toBe(`resolve:ssm:${independent.compute.launchSpec.amiParameterName}`);
  });

  it("GIVEN an explicit AMI id WHEN synthesized THEN the template boots that AMI", () => {
    expect(templateOf(customized.json).image_id).toBe("ami-0123456789abcdef0");
  });

  it("GIVEN the launch spec WHEN synthesized THEN IMDSv2 is required with hop limit 1 and instance tags in metadata", () => {
    expect(template.metadata_options).toEqual({
      http_endpoint: METADATA_OPTIONS.httpEndpoint,
      http_tokens: "required",
      http_put_response_hop_limit: 1,
      instance_metadata_tags: "enabled",
    });
  });

  it("GIVEN the launch spec WHEN synthesized THEN the root volume is the encrypted gp3 of var.root_volume_size_gb", () => {
    expect(template.block_device_mappings).toEqual([
      {
        device_name: "/dev/sda1",
        ebs: { volume_type: "gp3", volume_size: "${var.root_volume_size_gb}", encrypted: "true", delete_on_termination: "true" },
      },
    ]);
  });

  it("GIVEN a root volume KMS key WHEN synthesized THEN the template's volume uses it", () => {
    expect(templateOf(customized.json).block_device_mappings[0].ebs).toMatchObject({ kms_key_id: KEY });
    expect(launchTemplateEbs(customized.compute.launchSpec.rootVolume).kmsKeyId).toBe(KEY);
  });

  it("GIVEN the launch spec WHEN synthesized THEN the nodes get the shared instance profile and monitoring decision", () => {
    expect(template).toMatchObject({
      iam_instance_profile: { arn: "${aws_iam_instance_profile.compute_instance.arn}" },
      monitoring: { enabled: false },
      update_default_version: true,
      name: NAME,
    });
    expect(template.key_name).toBeUndefined();
  });

  it("GIVEN a group's template WHEN synthesized THEN it sets no shutdown behaviour (Auto Scaling refuses one)", () => {
    expect(template.instance_initiated_shutdown_behavior).toBeUndefined();
  });

  it("GIVEN SSH with a key pair WHEN synthesized THEN the nodes get the key too", () => {
    expect(templateOf(customized.json).key_name).toBe("ops");
  });

  it("GIVEN independent mode WHEN synthesized THEN the nodes have a public address and only the shared security group", () => {
    expect(template.network_interfaces).toEqual([
      {
        device_index: 0,
        associate_public_ip_address: "true",
        delete_on_termination: "true",
        security_groups: ["${aws_security_group.compute.id}"],
      },
    ]);
    expect(template.vpc_security_group_ids).toBeUndefined();
  });

  it("GIVEN the template WHEN synthesized THEN its user data is the gzipped cloud-config of the fleet's runtime mode", () => {
    expect(template.user_data).toBe("${base64gzip(local.compute_user_data_fleet_independent)}");
    expect(localOf(independent.json, "compute_user_data_fleet_independent")).toContain("${aws_s3_object.compute_runtime.key}");
  });

  it("GIVEN the fleet's user data WHEN estimated at its longest THEN it fits the user data budget", () => {
    expect(independent.fleet.userData.estimatedBytes).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES);
    expect(multiNode.fleet.userData.estimatedBytes).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES);
  });
});

describe("training-fleet: tags of the nodes and their volumes", () => {
  it("GIVEN the default tags WHEN synthesized THEN instances carry them, Name, MaxRuntimeHours, AutoShutdown and GtiFleetMode", () => {
    expect(tagSpec(independent.json, "instance")).toEqual({
      ...TAGS,
      Name: NAME,
      MaxRuntimeHours: "${var.max_runtime_hours}",
      AutoShutdown: "${var.auto_shutdown}",
      GtiFleetMode: "fleet-independent",
    });
  });

  it("GIVEN the default tags WHEN synthesized THEN volumes carry the same, named <group>-root", () => {
    expect(tagSpec(independent.json, "volume")).toEqual({ ...tagSpec(independent.json, "instance"), Name: `${NAME}-root` });
  });

  it("GIVEN independent mode WHEN synthesized THEN no node carries a RunId tag (each node names its own run)", () => {
    expect(tagSpec(independent.json, "instance").RunId).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN instances and volumes carry the shared run id", () => {
    expect(tagSpec(multiNode.json, "instance")).toMatchObject({ RunId: "${local.fleet_run_id}", GtiFleetMode: "fleet-multinode" });
    expect(tagSpec(multiNode.json, "volume").RunId).toBe("${local.fleet_run_id}");
  });

  it("GIVEN the group WHEN synthesized THEN its own tags do not propagate (the template tags the nodes)", () => {
    const tags = groupOf(independent.json).tag as { key: string; value: string; propagate_at_launch: boolean }[];
    expect(Object.fromEntries(tags.map((t) => [t.key, t.value]))).toEqual({ ...TAGS, Name: NAME });
    expect(tags.every((t) => t.propagate_at_launch === false)).toBe(true);
  });
});

describe("training-fleet: the auto-scaling group", () => {
  const group = groupOf(independent.json);

  it("GIVEN the fleet variables WHEN synthesized THEN the group is 0..max, sized by var.desired_instances, named <prefix>-fleet", () => {
    expect(group).toMatchObject({ name: NAME, min_size: 0, max_size: 4, desired_capacity: "${var.desired_instances}" });
    expect(independent.fleet.autoScalingGroupName).toBe(NAME);
  });

  it("GIVEN no subnet ids WHEN synthesized THEN the group spreads over every subnet of the launch spec's network", () => {
    expect(group.vpc_zone_identifier).toBe("${data.aws_subnets.compute.ids}");
    expect(dataOf(independent.json, "aws_subnets", "compute").filter).toEqual([
      { name: "vpc-id", values: ["${data.aws_vpc.compute_default.id}"] },
      { name: "default-for-az", values: ["true"] },
    ]);
  });

  it("GIVEN a dedicated VPC WHEN synthesized THEN the group spreads over its public subnets and the nodes' group lives in it", () => {
    expect(groupOf(customized.json).vpc_zone_identifier).toEqual(["${aws_subnet.compute_public_1.id}", "${aws_subnet.compute_public_2.id}"]);
    expect(resourceOf(customized.json, "aws_security_group", "fleet_nodes").vpc_id).toBe("${aws_vpc.compute.id}");
  });

  it("GIVEN subnet ids WHEN synthesized THEN the group uses exactly those and looks none up", () => {
    expect(groupOf(multiNode.json).vpc_zone_identifier).toEqual([SUBNET]);
    expect(multiNode.json.data?.aws_subnets).toBeUndefined();
  });

  it("GIVEN the env's ordered instance types WHEN synthesized THEN they are the overrides, in order", () => {
    expect(group.mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "g5.xlarge" }, { instance_type: "g6.xlarge" }]);
  });

  it("GIVEN the variables WHEN synthesized THEN the spot mix follows use_spot, on_demand_base_capacity and spot_max_price", () => {
    expect(group.mixed_instances_policy.instances_distribution).toEqual({
      on_demand_allocation_strategy: "prioritized",
      on_demand_base_capacity: "${var.on_demand_base_capacity}",
      on_demand_percentage_above_base_capacity: "${var.use_spot ? 0 : 100}",
      spot_allocation_strategy: "price-capacity-optimized",
      spot_max_price: "${var.spot_max_price}",
    });
  });

  it("GIVEN the launch template WHEN synthesized THEN the group follows its latest version number (never $Latest)", () => {
    expect(group.mixed_instances_policy.launch_template.launch_template_specification).toEqual({
      launch_template_id: "${aws_launch_template.fleet.id}",
      version: "${aws_launch_template.fleet.latest_version}",
    });
    expect(group.launch_template).toBeUndefined();
  });

  it("GIVEN a template change WHEN applied THEN an instance refresh replaces every node at once, terminating first", () => {
    expect(group.instance_refresh).toEqual({
      strategy: "Rolling",
      preferences: { min_healthy_percentage: 0, max_healthy_percentage: 100, skip_matching: true },
    });
  });

  it("GIVEN spot capacity WHEN applied THEN the group rebalances it and apply never waits for capacity", () => {
    expect(group).toMatchObject({ capacity_rebalance: true, wait_for_capacity_timeout: "0", health_check_type: "EC2" });
  });

  it("GIVEN the group WHEN synthesized THEN every group metric is collected each minute", () => {
    expect(group).toMatchObject({ metrics_granularity: "1Minute", enabled_metrics: [...FLEET_GROUP_METRICS] });
  });

  it("GIVEN the role's grants WHEN synthesized THEN the group waits for them (no node boots without its permissions)", () => {
    expect(group.depends_on).toEqual(
      expect.arrayContaining(["aws_iam_role_policy.compute_instance_fleet_node", "aws_iam_role_policy.compute_instance_write_runs"]),
    );
  });

  it("GIVEN independent mode WHEN synthesized THEN there is no placement group", () => {
    expect(group.placement_group).toBeUndefined();
    expect(resourcesOf(independent.json, "aws_placement_group")).toEqual({});
  });
});

describe("training-fleet: the drain hook", () => {
  it("GIVEN the group WHEN synthesized THEN a termination hook <group>-drain gives nodes 300 s, then continues", () => {
    expect(resourceOf(independent.json, "aws_autoscaling_lifecycle_hook", "fleet_drain")).toMatchObject({
      name: `${NAME}-drain`,
      autoscaling_group_name: "${aws_autoscaling_group.fleet.name}",
      lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeat_timeout: 300,
      default_result: "CONTINUE",
    });
  });

  it("GIVEN a drain timeout WHEN synthesized THEN it is the hook's heartbeat timeout", () => {
    expect(resourceOf(customized.json, "aws_autoscaling_lifecycle_hook", "fleet_drain").heartbeat_timeout).toBe(900);
  });
});

describe("training-fleet: multi-node mode", () => {
  it("GIVEN multi-node mode WHEN synthesized THEN the run id is generated once, frozen, and regenerated when the fleet starts from zero", () => {
    expect(resourceOf(multiNode.json, "terraform_data", "fleet_run_id")).toMatchObject({
      input: 'run-${formatdate("YYYYMMDD-hhmmss", timestamp())}',
      triggers_replace: { running: "${var.desired_instances > 0}" },
      lifecycle: { ignore_changes: ["input"] },
    });
    expect(resourceOf(multiNode.json, "terraform_data", "fleet_run_id").count).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN var.run_id overrides the generated id", () => {
    expect(multiNode.json.locals?.fleet_run_id).toBe('${var.run_id != "" ? var.run_id : terraform_data.fleet_run_id.output}');
  });

  it("GIVEN independent mode WHEN synthesized THEN there is no shared run id", () => {
    expect(resourcesOf(independent.json, "terraform_data").fleet_run_id).toBeUndefined();
    expect(independent.json.locals?.fleet_run_id).toBeUndefined();
    expect(independent.fleet.runId).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN a security group of the nodes admits TCP from its own members only", () => {
    expect(resourceOf(multiNode.json, "aws_security_group", "fleet_nodes")).toMatchObject({
      name: `${NAME}-nodes`,
      vpc_id: "${data.aws_vpc.compute_default.id}",
    });
    const rule = resourceOf(multiNode.json, "aws_vpc_security_group_ingress_rule", "fleet_nodes");
    expect(rule).toMatchObject({
      security_group_id: "${aws_security_group.fleet_nodes.id}",
      referenced_security_group_id: "${aws_security_group.fleet_nodes.id}",
      ip_protocol: "tcp",
      from_port: 0,
      to_port: 65535,
    });
    expect(rule.description).toMatch(/torchrun rendezvous on 29600.*NCCL/);
    expect(rule.cidr_ipv4).toBeUndefined();
    expect(rule.cidr_ipv6).toBeUndefined();
  });

  it("GIVEN multi-node mode WHEN synthesized THEN no other ingress is added and the nodes carry both security groups", () => {
    expect(Object.keys(resourcesOf(multiNode.json, "aws_vpc_security_group_ingress_rule"))).toEqual(["fleet_nodes"]);
    expect(templateOf(multiNode.json).network_interfaces[0].security_groups).toEqual([
      "${aws_security_group.compute.id}",
      "${aws_security_group.fleet_nodes.id}",
    ]);
  });

  it("GIVEN independent mode WHEN synthesized THEN no node-to-node security group exists", () => {
    expect(resourcesOf(independent.json, "aws_security_group").fleet_nodes).toBeUndefined();
    expect(resourcesOf(independent.json, "aws_vpc_security_group_ingress_rule")).toEqual({});
  });

  it("GIVEN a placement group WHEN synthesized THEN the group launches in a cluster placement group", () => {
    expect(resourceOf(multiNode.json, "aws_placement_group", "fleet")).toMatchObject({ name: NAME, strategy: "cluster" });
    expect(groupOf(multiNode.json).placement_group).toBe("${aws_placement_group.fleet.name}");
  });

  it("GIVEN multi-node without a placement group WHEN synthesized THEN there is none", () => {
    expect(resourcesOf(customized.json, "aws_placement_group")).toEqual({});
    expect(groupOf(customized.json).placement_group).toBeUndefined();
  });

  it("GIVEN multi-node mode with a placement group WHEN checked by the policy packs THEN nothing is reported", () => {
    expect(violationsOf(multiNode.stack)).toEqual([]);
  });

  it("GIVEN independent mode WHEN checked by the policy packs THEN nothing is reported", () => {
    expect(violationsOf(independent.stack)).toEqual([]);
  });
});

describe("training-fleet: the runtime configuration", () => {
  it("GIVEN independent mode WHEN its runtime.env is written THEN it names the mode, the group, the hook and no run id", () => {
    const env = new Map(runtimeEnvOf(independent.json, "fleet_independent"));
    expect(Object.fromEntries([...env].filter(([key]) => key.startsWith("GTI_FLEET_") || key === "GTI_MODE" || key === "GTI_RUN_ID"))).toEqual({
      GTI_MODE: "fleet-independent",
      GTI_RUN_ID: "",
      GTI_FLEET_ASG_NAME: NAME,
      GTI_FLEET_LIFECYCLE_HOOK: `${NAME}-drain`,
      GTI_FLEET_MASTER_PORT: "29500",
      GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS: "600",
      GTI_FLEET_DRAIN_SECONDS: "300",
    });
  });

  it("GIVEN multi-node mode WHEN its runtime.env is written THEN it has the shared run id, the port and the rendezvous timeout", () => {
    const env = new Map(runtimeEnvOf(multiNode.json, "fleet_multinode"));
    expect(env.get("GTI_MODE")).toBe("fleet-multinode");
    expect(env.get("GTI_RUN_ID")).toBe("${local.fleet_run_id}");
    expect(env.get("GTI_FLEET_MASTER_PORT")).toBe("29600");
    expect(env.get("GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS")).toBe("900");
  });

  it("GIVEN the fleet entries WHEN the runtime.env is written THEN they come after the shared ones, which are unchanged", () => {
    const single = runtimeEnvOf(independent.json, "single").map(([key]) => key);
    const fleet = runtimeEnvOf(independent.json, "fleet_independent").map(([key]) => key);
    expect(fleet).toEqual([
      ...single,
      "GTI_FLEET_ASG_NAME",
      "GTI_FLEET_LIFECYCLE_HOOK",
      "GTI_FLEET_MASTER_PORT",
      "GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS",
      "GTI_FLEET_DRAIN_SECONDS",
    ]);
    expect(single.some((key) => key.startsWith("GTI_FLEET_"))).toBe(false);
  });

  it("GIVEN an extra entry that repeats a shared key WHEN the user data is built THEN a GtiError names the key", () => {
    const { compute } = buildCompute(moduleStack());
    expect(() => compute.launchSpec.userData({ mode: "fleet-x", extraEnv: [{ key: "GTI_MODE", value: "other" }] })).toThrow(
      /GTI_MODE is set twice/,
    );
  });

  it("GIVEN a mode's user data WHEN asked again with other extra entries THEN a GtiError refuses a second, different one", () => {
    const spec = independent.compute.launchSpec;
    expect(() => spec.userData({ mode: "fleet-independent", extraEnv: [] })).toThrow(/already built with another run id or other extra entries/);
  });
});

describe("training-fleet: permissions of the nodes", () => {
  const statements = statementsOf(independent.json, "compute_instance_fleet_node");

  it("GIVEN the fleet WHEN synthesized THEN peer discovery is the two Describe calls AWS only grants on *", () => {
    const discover = statements.find((s) => s.sid === "DiscoverFleetPeers");
    expect(discover).toMatchObject({ effect: "Allow", actions: [...FLEET_DISCOVERY_ACTIONS], resources: ["*"] });
    expect(discover?.actions?.every(isStarResourceAction)).toBe(true);
  });

  it("GIVEN the fleet WHEN synthesized THEN completing the drain hook and leaving the group are allowed on this group only", () => {
    expect(statements.find((s) => s.sid === "DrainAndLeaveOwnFleet")).toMatchObject({
      effect: "Allow",
      actions: [...FLEET_LIFECYCLE_ACTIONS],
      resources: [
        `arn:\${data.aws_partition.current.partition}:autoscaling:\${data.aws_region.current.name}:\${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/${NAME}`,
      ],
    });
  });

  it("GIVEN the grant WHEN synthesized THEN it is an inline policy of the shared instance role and nothing else is on *", () => {
    expect(resourceOf(independent.json, "aws_iam_role_policy", "compute_instance_fleet_node")).toMatchObject({
      role: "${aws_iam_role.compute_instance.name}",
      name: "fleet-node",
    });
    expect(statements.filter((s) => s.resources?.includes("*")).flatMap((s) => s.actions)).toEqual([...FLEET_DISCOVERY_ACTIONS]);
  });
});

describe("training-fleet: outputs and refusals", () => {
  it("GIVEN the fleet WHEN synthesized THEN fleet_asg_name and fleet_launch_template_id are output, with descriptions", () => {
    expect(independent.json.output?.fleet_asg_name).toMatchObject({ value: "${aws_autoscaling_group.fleet.name}" });
    expect(independent.json.output?.fleet_launch_template_id).toMatchObject({ value: "${aws_launch_template.fleet.id}" });
    expect(String(independent.json.output?.fleet_asg_name?.description)).toMatch(/auto-scaling group/);
  });

  it("GIVEN the fleet WHEN built THEN it offers its outputs and declares none itself (the stack does)", () => {
    expect(independent.fleet.outputs.map((o) => o.name)).toEqual(["fleet_asg_name", "fleet_launch_template_id"]);
    expect(outputsDeclaredUnder(independent.fleet)).toEqual([]);
  });

  it.each([
    ["a non-GPU type", { instanceTypes: ["t3.large"] }, /t3\.large are not in the GPU instance table/],
    ["no type", { instanceTypes: [] }, /instanceTypes is empty/],
    ["a type twice", { instanceTypes: ["g5.xlarge", "g5.xlarge"] }, /lists a type twice/],
    ["a placement group for independent workers", { placementGroup: true, subnetIds: [SUBNET] }, /multi-node training only/],
    ["a placement group over every subnet", { mode: "multi-node" as const, placementGroup: true }, /exactly one subnet id/],
    ["a drain timeout AWS refuses", { drainTimeoutSeconds: 10 }, /drainTimeoutSeconds 10 is not in 30\.\.7200/],
  ])("GIVEN %s WHEN constructed THEN a GtiError names the problem and the fix", (_what, fleet, message) => {
    let error: unknown;
    try {
      buildFleet(moduleStack(), { fleet });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GtiError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/Fix: /);
  });

  it("GIVEN a default over the maximum WHEN the fleet variables are built THEN they refuse it", () => {
    expect(() => new FleetVariables(moduleStack(), "FleetVariables", { maxInstances: 2, environment: ENVIRONMENT, desiredInstances: 3 })).toThrow(
      /defaults .* whole numbers in 0\.\.2/,
    );
  });
});

describe("training-fleet in the environment stacks", () => {
  it("GIVEN training (no fleet) WHEN synthesized THEN it has no fleet resources, variables or outputs", async () => {
    const { json, stack } = synthEnvironment(await realEnvironment("training"));
    const text = JSON.stringify(json);
    expect(text).not.toMatch(/aws_autoscaling_group|aws_launch_template|fleet_/);
    expect(Object.keys(json.variable ?? {})).not.toEqual(expect.arrayContaining(["desired_instances"]));
    expect(stack.fleet).toBeUndefined();
  });

  it("GIVEN dev WHEN synthesized THEN it has an independent fleet of at most 1 g4dn.xlarge", async () => {
    const { json, stack } = synthEnvironment(await realEnvironment("dev"));
    expect(groupOf(json)).toMatchObject({ name: "gpu-training-infra-dev-fleet", max_size: 1, min_size: 0 });
    expect(groupOf(json).mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "g4dn.xlarge" }]);
    expect(tagSpec(json, "instance")).toMatchObject({ GtiFleetMode: "fleet-independent", Project: "gpu-training-infra", Environment: "dev" });
    expect(stack.fleet?.autoScalingGroup).toBeDefined();
    expect(json.variable?.desired_instances).toMatchObject({ type: "number", default: 0, nullable: false });
  });

  it("GIVEN prod WHEN synthesized THEN it has a multi-node fleet of up to 8, its types in preference order", async () => {
    const { json } = synthEnvironment(await realEnvironment("prod"));
    expect(groupOf(json)).toMatchObject({ name: "gpu-training-infra-prod-fleet", max_size: 8 });
    expect(groupOf(json).mixed_instances_policy.launch_template.override.map((o: { instance_type: string }) => o.instance_type)).toEqual([
      "g4dn.2xlarge",
      "g4dn.4xlarge",
      "g5.2xlarge",
    ]);
    expect(tagSpec(json, "instance")).toMatchObject({ GtiFleetMode: "fleet-multinode", RunId: "${local.fleet_run_id}", Environment: "prod" });
    expect(json.variable?.desired_instances?.validation).toEqual([
      expect.objectContaining({ condition: expect.stringContaining("var.desired_instances <= 8") }),
    ]);
  });
});
