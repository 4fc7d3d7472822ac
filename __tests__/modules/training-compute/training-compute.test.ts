/**
 * training-compute at synth: the instance and everything that exists only with it (count from var.create_instance),
 * the spot dynamic block, the AMI, IMDSv2, the root volume, the run id, the role and its policies, the network, the
 * security group, the outputs, the shared launch spec, and the environment stacks' wiring.
 */
import { describe, expect, it } from "vitest";
import {
  DLAMI_PARAMETERS,
  INSTANCE_TAGS,
  METADATA_OPTIONS,
  dlamiParameterName,
  instanceMetadataTagKeyProblems,
  launchTemplateEbs,
  subnetCidrs,
} from "../../../modules/training-compute";
import { GtiError } from "../../../src/errors";
import { isStarResourceAction } from "../../../src/policy/rules/iam";
import { type SynthesizedStack, dataOf, resourceOf, resourcesOf, synthJson } from "../../support/synth";
import { configWith, realEnvironment } from "../../support/envs";
import { type Statement, moduleStack, outputsDeclaredUnder, statementsOf } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";
import { ENVIRONMENT, PREFIX, PROJECT, buildCompute, evaluatedUserData, localOf, synthCompute, violationsOf } from "../../support/compute/stack";

const COUNT = "${var.create_instance ? 1 : 0}";
const ACCOUNT_INSTANCES =
  "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:instance/*";

function instanceOf(json: SynthesizedStack): Record<string, unknown> {
  return resourceOf(json, "aws_instance", "compute_training");
}

function statement(json: SynthesizedStack, document: string, sid: string): Statement {
  const found = statementsOf(json, document).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${document}`);
  return found;
}

const defaults = synthCompute();

describe("training-compute: what exists only with create_instance", () => {
  it("GIVEN the module WHEN synthesized THEN the instance's count is var.create_instance ? 1 : 0", () => {
    expect(instanceOf(defaults.json).count).toBe(COUNT);
  });

  it("GIVEN the module WHEN synthesized THEN the run id and the replacement trigger share the instance's count", () => {
    expect(resourceOf(defaults.json, "terraform_data", "compute_run_id").count).toBe(COUNT);
    expect(resourceOf(defaults.json, "terraform_data", "compute_launch_settings").count).toBe(COUNT);
  });

  it("GIVEN the default VPC WHEN synthesized THEN the instance subnet lookup is read only with an instance", () => {
    expect(dataOf(defaults.json, "aws_subnet", "compute_instance").count).toBe(COUNT);
  });

  it("GIVEN an Elastic IP WHEN synthesized THEN it shares the instance's count and attaches to its instance", () => {
    const { json } = synthCompute({ compute: { elasticIp: true } });
    expect(resourceOf(json, "aws_eip", "compute_training")).toMatchObject({
      count: COUNT,
      domain: "vpc",
      instance: "${aws_instance.compute_training[count.index].id}",
    });
  });

  it("GIVEN no Elastic IP setting WHEN synthesized THEN there is none", () => {
    expect(resourcesOf(defaults.json, "aws_eip")).toEqual({});
  });

  it("GIVEN the module WHEN synthesized THEN role, profile, security group, log group and secret exist without count (free)", () => {
    for (const [type, name] of [
      ["aws_iam_role", "compute_instance"],
      ["aws_iam_instance_profile", "compute_instance"],
      ["aws_security_group", "compute"],
      ["aws_cloudwatch_log_group", "compute"],
      ["aws_secretsmanager_secret", "compute_hf_token"],
    ] as const) {
      expect(resourceOf(defaults.json, type, name).count, `${type}.${name}`).toBeUndefined();
    }
  });

  it("GIVEN the synthesized JSON WHEN searched THEN no reference to a counted resource lacks an index or splat", () => {
    const text = JSON.stringify(defaults.json);
    for (const counted of ["aws_instance.compute_training", "terraform_data.compute_run_id", "terraform_data.compute_launch_settings", "data.aws_subnet.compute_instance"]) {
      const bare = new RegExp(`${counted.replace(/\./g, "\\.")}\\.(?!\\w+\\[)`, "g");
      expect(text.match(bare) ?? [], counted).toEqual([]);
    }
  });
});

describe("training-compute: the spot market options (a dynamic block)", () => {
  const market = (json: SynthesizedStack) => (instanceOf(json).dynamic as Record<string, Record<string, unknown>>).instance_market_options;

  it("GIVEN the module WHEN synthesized THEN instance_market_options is a dynamic block present only when var.use_spot", () => {
    expect(market(defaults.json)?.for_each).toBe("${var.use_spot ? [1] : []}");
    expect(instanceOf(defaults.json)).not.toHaveProperty("instance_market_options");
  });

  it("GIVEN the default spot settings WHEN synthesized THEN the request is one-time and terminates on interruption", () => {
    expect(market(defaults.json)?.content).toEqual({
      market_type: "spot",
      spot_options: {
        spot_instance_type: "one-time",
        instance_interruption_behavior: "terminate",
        max_price: '${var.spot_max_price == "" ? null : var.spot_max_price}',
      },
    });
  });

  it("GIVEN a persistent request that stops WHEN synthesized THEN the spot options say so", () => {
    const { json } = synthCompute({ compute: { spot: { requestType: "persistent", interruptionBehavior: "stop" } } });
    expect(market(json)?.content).toMatchObject({ spot_options: { spot_instance_type: "persistent", instance_interruption_behavior: "stop" } });
  });

  it("GIVEN stop on interruption with a one-time request WHEN constructed THEN a GtiError explains AWS needs persistent", () => {
    expect(() => synthCompute({ compute: { spot: { interruptionBehavior: "stop" } } })).toThrow(/"stop" needs a persistent request/);
  });
});

describe("training-compute: the instance", () => {
  const instance = instanceOf(defaults.json);

  it("GIVEN the variables WHEN synthesized THEN the instance type is var.instance_type", () => {
    expect(instance.instance_type).toBe("${var.instance_type}");
  });

  it("GIVEN no AMI setting WHEN synthesized THEN the AMI is the Ubuntu 24.04 Base OSS Nvidia Driver GPU DLAMI from SSM", () => {
    expect(dataOf(defaults.json, "aws_ssm_parameter", "compute_ami").name).toBe(
      "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id",
    );
    expect(instance.ami).toBe("${data.aws_ssm_parameter.compute_ami.insecure_value}");
  });

  it("GIVEN Ubuntu 22.04 WHEN synthesized THEN the 22.04 DLAMI parameter is read", () => {
    const { json } = synthCompute({ compute: { ami: { os: "ubuntu-22.04" } } });
    expect(dataOf(json, "aws_ssm_parameter", "compute_ami").name).toBe(
      "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id",
    );
  });

  it("GIVEN an explicit AMI id WHEN synthesized THEN the instance boots it and no SSM parameter is read", () => {
    const { json } = synthCompute({ compute: { ami: { id: "ami-0123456789abcdef0" } } });
    expect(instanceOf(json).ami).toBe("ami-0123456789abcdef0");
    expect(json.data?.aws_ssm_parameter).toBeUndefined();
  });

  it("GIVEN each Ubuntu release WHEN its parameter is named THEN it follows AWS's /aws/service/deeplearning/ami/<arch>/<type>/latest/ami-id", () => {
    for (const os of ["ubuntu-24.04", "ubuntu-22.04"] as const) {
      expect(DLAMI_PARAMETERS[os]).toBe(dlamiParameterName(os));
      expect(DLAMI_PARAMETERS[os]).toMatch(/^\/aws\/service\/deeplearning\/ami\/x86_64\/base-oss-nvidia-driver-gpu-ubuntu-2[24]\.04\/latest\/ami-id$/);
    }
  });

  it("GIVEN a new DLAMI release or a newly chosen zone WHEN applied THEN the change is ignored (no replacement of a running instance)", () => {
    expect((instance.lifecycle as Record<string, unknown>).ignore_changes).toEqual(["ami", "subnet_id"]);
  });

  it("GIVEN a new instance type, market or spot price WHEN applied THEN the instance is replaced (through the trigger)", () => {
    expect((instance.lifecycle as Record<string, unknown>).replace_triggered_by).toEqual(["terraform_data.compute_launch_settings"]);
    expect(resourceOf(defaults.json, "terraform_data", "compute_launch_settings").input).toEqual({
      instance_type: "${var.instance_type}",
      use_spot: "${var.use_spot}",
      spot_max_price: '${var.use_spot ? var.spot_max_price : ""}',
    });
  });

  it("GIVEN the module WHEN synthesized THEN IMDSv2 is required with hop limit 1 (no container gets a token) and instance tags in metadata", () => {
    expect(instance.metadata_options).toEqual({
      http_endpoint: "enabled",
      http_tokens: "required",
      http_put_response_hop_limit: 1,
      instance_metadata_tags: "enabled",
    });
  });

  it("GIVEN no KMS key WHEN synthesized THEN the root volume is encrypted gp3 of var.root_volume_size_gb, deleted with the instance", () => {
    expect(instance.root_block_device).toEqual({
      volume_type: "gp3",
      volume_size: "${var.root_volume_size_gb}",
      encrypted: true,
      delete_on_termination: true,
      tags: { Name: `${PREFIX}-gpu-root`, RunId: "${local.compute_run_id}" },
    });
  });

  it("GIVEN a KMS key WHEN synthesized THEN the root volume uses it", () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const { json } = synthCompute({ compute: { rootVolumeKmsKeyArn: key } });
    expect((instanceOf(json).root_block_device as Record<string, unknown>).kms_key_id).toBe(key);
  });

  it("GIVEN no monitoring setting WHEN synthesized THEN detailed monitoring is explicitly off", () => {
    expect(instance.monitoring).toBe(false);
  });

  it("GIVEN detailed monitoring WHEN synthesized THEN it is on", () => {
    expect(instanceOf(synthCompute({ compute: { detailedMonitoring: true } }).json).monitoring).toBe(true);
  });

  it("GIVEN the module WHEN synthesized THEN an OS shutdown terminates the instance (nothing stopped is left behind)", () => {
    expect(instance.instance_initiated_shutdown_behavior).toBe("terminate");
  });

  it("GIVEN the module WHEN synthesized THEN the instance gets a public address, the profile, the security group and the chosen subnet", () => {
    expect(instance).toMatchObject({
      associate_public_ip_address: true,
      iam_instance_profile: "${aws_iam_instance_profile.compute_instance.name}",
      vpc_security_group_ids: ["${aws_security_group.compute.id}"],
      subnet_id: "${local.compute_instance_subnet_id}",
    });
  });

  it("GIVEN the module WHEN synthesized THEN the user data is the gzipped cloud-config, and a change replaces the instance", () => {
    expect(instance.user_data_base64).toBe("${base64gzip(local.compute_user_data_single)}");
    expect(instance.user_data_replace_on_change).toBe(true);
    expect(instance).not.toHaveProperty("user_data");
  });

  it("GIVEN the module WHEN synthesized THEN the instance is tagged Name, RunId, MaxRuntimeHours and AutoShutdown", () => {
    expect(instance.tags).toEqual({
      Name: `${PREFIX}-gpu`,
      [INSTANCE_TAGS.runId]: "${local.compute_run_id}",
      [INSTANCE_TAGS.maxRuntimeHours]: "${var.max_runtime_hours}",
      [INSTANCE_TAGS.autoShutdown]: "${var.auto_shutdown}",
    });
  });

  it("GIVEN the safety guard WHEN it reads the runtime limit THEN the tag is exactly MaxRuntimeHours", () => {
    expect(INSTANCE_TAGS.maxRuntimeHours).toBe("MaxRuntimeHours");
  });

  it("GIVEN the grants WHEN the instance is created THEN it waits for every role policy (the first boot needs them)", () => {
    expect(instance.depends_on).toEqual([
      "aws_iam_role_policy.compute_instance_read_data",
      "aws_iam_role_policy.compute_instance_write_runs",
      "aws_iam_role_policy.compute_instance_pull_images",
      "aws_iam_role_policy.compute_instance_session_manager",
      "aws_iam_role_policy.compute_instance_logs_and_metrics",
      "aws_iam_role_policy.compute_instance_read_hf_token",
      "aws_iam_role_policy.compute_instance_self_shutdown",
      "aws_iam_role_policy.compute_instance_assume_container_role",
      "aws_iam_role_policy.compute_container_read_data",
      "aws_iam_role_policy.compute_container_write_own_run",
      "aws_iam_role_policy.compute_instance_read_runtime",
    ]);
  });

  it("GIVEN no key pair WHEN synthesized THEN the instance has none", () => {
    expect(instance).not.toHaveProperty("key_name");
  });

  it("GIVEN a key pair WHEN synthesized THEN the instance uses it", () => {
    expect(instanceOf(synthCompute({ compute: { ssh: { keyPairName: "ops" } } }).json).key_name).toBe("ops");
  });

  it("GIVEN no AZ offering the type WHEN planned THEN a precondition fails with a message naming the type", () => {
    const [precondition] = (instance.lifecycle as { precondition: { condition: string; error_message: string }[] }).precondition;
    expect(precondition?.condition).toBe("${local.compute_instance_subnet_id != null}");
    expect(precondition?.error_message).toMatch(/No availability zone of .* offers instance_type "\$\{var\.instance_type\}"/);
  });
});

describe("training-compute: the run id", () => {
  it("GIVEN an instance WHEN created THEN a run-<UTC timestamp> id is generated once and then ignored", () => {
    expect(resourceOf(defaults.json, "terraform_data", "compute_run_id")).toMatchObject({
      input: 'run-${formatdate("YYYYMMDD-hhmmss", timestamp())}',
      lifecycle: { ignore_changes: ["input"] },
    });
  });

  it("GIVEN var.run_id WHEN set THEN it wins over the generated id; without an instance the id is empty", () => {
    expect(localOf(defaults.json, "compute_run_id")).toBe('${var.run_id != "" ? var.run_id : join("", terraform_data.compute_run_id[*].output)}');
  });

  it("GIVEN the run id WHEN the instance is configured THEN the runtime gets it in runtime.env and as the RunId tag", () => {
    expect(evaluatedUserData(defaults.json)).toContain("GTI_RUN_ID='${local.compute_run_id}'");
    expect((instanceOf(defaults.json).tags as Record<string, string>).RunId).toBe("${local.compute_run_id}");
  });
});

describe("training-compute: the instance role", () => {
  const { json } = defaults;

  it("GIVEN the role WHEN assumed THEN only EC2 may assume it", () => {
    expect(statementsOf(json, "compute_instance_trust")).toEqual([
      {
        sid: "Ec2AssumesTheInstanceRole",
        effect: "Allow",
        actions: ["sts:AssumeRole"],
        principals: [{ type: "Service", identifiers: ["ec2.${data.aws_partition.current.dns_suffix}"] }],
      },
    ]);
  });

  it("GIVEN the role WHEN synthesized THEN it carries exactly the storage, registry and compute policies", () => {
    const policies = Object.entries(resourcesOf(json, "aws_iam_role_policy"))
      .filter(([, p]) => p.role === "${aws_iam_role.compute_instance.name}")
      .map(([name]) => name)
      .sort();
    expect(policies).toEqual(
      [
        "compute_instance_logs_and_metrics",
        "compute_instance_pull_images",
        "compute_instance_read_data",
        "compute_instance_read_hf_token",
        "compute_instance_self_shutdown",
        "compute_instance_session_manager",
        "compute_instance_write_runs",
        "compute_instance_assume_container_role",
        "compute_instance_read_runtime",
      ].sort(),
    );
  });

  it("GIVEN self-shutdown WHEN allowed THEN terminate and stop apply only to the calling instance, tagged with this env", () => {
    expect(statement(json, "compute_instance_self_shutdown", "TerminateOrStopOnlyItself")).toEqual({
      sid: "TerminateOrStopOnlyItself",
      effect: "Allow",
      actions: ["ec2:TerminateInstances", "ec2:StopInstances"],
      resources: [ACCOUNT_INSTANCES],
      condition: [
        {
          test: "ArnLike",
          variable: "ec2:SourceInstanceARN",
          values: [
            "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:instance/&{ec2:InstanceId}",
          ],
        },
        { test: "StringEquals", variable: "aws:ResourceTag/Project", values: [PROJECT] },
        { test: "StringEquals", variable: "aws:ResourceTag/Environment", values: [ENVIRONMENT] },
      ],
    });
  });

  it("GIVEN Session Manager WHEN allowed THEN registration is scoped to this account's instances and only the channels are on *", () => {
    expect(statementsOf(json, "compute_instance_session_manager")).toEqual([
      { sid: "RegisterWithSystemsManager", effect: "Allow", actions: ["ssm:UpdateInstanceInformation"], resources: [ACCOUNT_INSTANCES] },
      {
        sid: "SessionManagerChannels",
        effect: "Allow",
        actions: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
        resources: ["*"],
      },
    ]);
  });

  it("GIVEN logs WHEN allowed THEN streams and events go to the env's own log group only, and no group can be created", () => {
    const logs = statement(json, "compute_instance_logs_and_metrics", "WriteOwnLogGroup");
    expect(logs.actions).toEqual(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]);
    expect(logs.resources).toEqual(["${aws_cloudwatch_log_group.compute.arn}", "${aws_cloudwatch_log_group.compute.arn}:*"]);
  });

  it("GIVEN metrics WHEN allowed THEN PutMetricData is limited to the GpuTraining/<env> namespace", () => {
    expect(statement(json, "compute_instance_logs_and_metrics", "PutMetricsInOwnNamespace")).toMatchObject({
      actions: ["cloudwatch:PutMetricData"],
      resources: ["*"],
      condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [`GpuTraining/${ENVIRONMENT}`] }],
    });
  });

  it("GIVEN the token secret WHEN allowed THEN only GetSecretValue on the env's own secret", () => {
    expect(statementsOf(json, "compute_instance_read_hf_token")).toEqual([
      {
        sid: "ReadOwnHuggingFaceToken",
        effect: "Allow",
        actions: ["secretsmanager:GetSecretValue"],
        resources: ["${aws_secretsmanager_secret.compute_hf_token.arn}"],
      },
    ]);
  });

  it("GIVEN every compute policy WHEN read THEN a * resource carries only actions AWS grants on * alone", () => {
    for (const document of ["compute_instance_session_manager", "compute_instance_logs_and_metrics", "compute_instance_read_hf_token", "compute_instance_self_shutdown"]) {
      for (const s of statementsOf(json, document).filter((s) => s.resources?.includes("*"))) {
        expect(s.actions?.filter((a) => !isStarResourceAction(a)), `${document}/${s.sid}`).toEqual([]);
      }
    }
  });

  it("GIVEN every compute policy WHEN read THEN no action is a wildcard", () => {
    for (const document of ["compute_instance_session_manager", "compute_instance_logs_and_metrics", "compute_instance_read_hf_token", "compute_instance_self_shutdown"]) {
      for (const s of statementsOf(json, document)) expect(s.actions?.filter((a) => a.includes("*")), `${document}/${s.sid}`).toEqual([]);
    }
  });

  it("GIVEN the storage and registry grants WHEN given to the instance role THEN they are the modules' own (read data, write runs, pull)", () => {
    expect(statementsOf(json, "compute_instance_read_data").map((s) => s.sid)).toEqual(["ListDataBucket", "ReadDataObjects"]);
    expect(statementsOf(json, "compute_instance_write_runs").map((s) => s.sid)).toContain("WriteRunObjects");
    expect(statementsOf(json, "compute_instance_pull_images").map((s) => s.sid)).toEqual(["GetRegistryLoginToken", "PullImages"]);
  });

  it("GIVEN the role WHEN synthesized THEN its instance profile carries it under the same name", () => {
    expect(resourceOf(json, "aws_iam_instance_profile", "compute_instance")).toEqual(
      expect.objectContaining({ name: "${aws_iam_role.compute_instance.name}", role: "${aws_iam_role.compute_instance.name}" }),
    );
    expect(resourceOf(json, "aws_iam_role", "compute_instance").name).toBe(`${PREFIX}-instance`);
  });
});

describe("training-compute: log group and token secret", () => {
  it("GIVEN no retention setting WHEN synthesized THEN /gpu-training/<env> keeps logs 30 days", () => {
    expect(resourceOf(defaults.json, "aws_cloudwatch_log_group", "compute")).toMatchObject({ name: `/gpu-training/${ENVIRONMENT}`, retention_in_days: 30 });
  });

  it("GIVEN a retention WHEN synthesized THEN the log group uses it", () => {
    expect(resourceOf(synthCompute({ compute: { logRetentionDays: 7 } }).json, "aws_cloudwatch_log_group", "compute").retention_in_days).toBe(7);
  });

  it("GIVEN the token secret WHEN synthesized THEN it is created empty (no version: the value is set out of band)", () => {
    expect(resourceOf(defaults.json, "aws_secretsmanager_secret", "compute_hf_token")).toMatchObject({
      name: `${PREFIX}/hf-token`,
      recovery_window_in_days: 7,
    });
    expect(resourcesOf(defaults.json, "aws_secretsmanager_secret_version")).toEqual({});
  });
});

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

const COMPUTE_OUTPUTS = ["hf_token_secret_arn", "instance_id", "instance_public_ip", "instance_role_arn", "run_id", "ssh_command", "ssm_command"];

describe("training-compute: outputs", () => {
  const outputs = defaults.json.output ?? {};

  it("GIVEN the module WHEN synthesized THEN it has the instance outputs, each described", () => {
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(COMPUTE_OUTPUTS));
    for (const name of COMPUTE_OUTPUTS) expect(String(outputs[name]?.description).length, name).toBeGreaterThan(30);
  });

  it("GIVEN no instance WHEN the outputs are read THEN the instance ones are try(<first instance>, \"\"): empty, never null or a missing index", () => {
    // Never null: Terraform drops null outputs from the state and cdktf-cli 0.21 then crashes after a deploy.
    expect(outputs.instance_id?.value).toBe('${try(aws_instance.compute_training[0].id, "")}');
    expect(outputs.instance_public_ip?.value).toBe('${try(aws_instance.compute_training[0].public_ip, "")}');
    expect(outputs.run_id?.value).toBe('${try(aws_instance.compute_training[0].tags.RunId, "")}');
  });

  it("GIVEN the stack WHEN every output is read THEN none can be null (no one(), no null literal)", () => {
    for (const [name, output] of Object.entries(outputs)) {
      expect(output.value, name).not.toBeNull();
      expect(String(output.value), name).not.toMatch(/\bone\(/);
    }
  });

  it("GIVEN an instance WHEN ssm_command is read THEN it opens a Session Manager shell on it in the env's region", () => {
    expect(outputs.ssm_command?.value).toBe(
      '${try("aws ssm start-session --target ${aws_instance.compute_training[0].id} --region ${data.aws_region.current.name}", "")}',
    );
  });

  it("GIVEN no key pair WHEN ssh_command is read THEN it is the empty string", () => {
    expect(outputs.ssh_command?.value).toBe("");
  });

  it("GIVEN a key pair and allowed CIDRs WHEN ssh_command is read THEN it is ssh -i <key>.pem ubuntu@<public ip>", () => {
    const { json } = synthCompute({ compute: { ssh: { keyPairName: "ops", allowedCidrs: ["203.0.113.0/24"] } } });
    expect(json.output?.ssh_command?.value).toBe('${try("ssh -i ops.pem ubuntu@${aws_instance.compute_training[0].public_ip}", "")}');
  });

  it("GIVEN a key pair, allowed CIDRs and an Elastic IP WHEN the address outputs are read THEN they use the Elastic IP", () => {
    const { json } = synthCompute({ compute: { elasticIp: true, ssh: { keyPairName: "ops", allowedCidrs: ["203.0.113.0/24"] } } });
    expect(json.output?.instance_public_ip?.value).toBe('${try(aws_eip.compute_training[0].public_ip, "")}');
    expect(json.output?.ssh_command?.value).toContain("ubuntu@${aws_eip.compute_training[0].public_ip}");
  });

  it("GIVEN a key pair and no CIDR WHEN ssh_command is read THEN it tunnels SSH through Session Manager", () => {
    const { json } = synthCompute({ compute: { ssh: { keyPairName: "my key" } } });
    expect(json.output?.ssh_command?.value).toBe(
      "${try(\"ssh -i 'my key.pem' -o ProxyCommand='aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p --region ${data.aws_region.current.name}' ubuntu@${aws_instance.compute_training[0].id}\", \"\")}",
    );
  });

  it("GIVEN the role WHEN instance_role_arn is read THEN it is the role's ARN", () => {
    expect(outputs.instance_role_arn?.value).toBe("${aws_iam_role.compute_instance.arn}");
  });

  it("GIVEN the module WHEN built THEN it offers its outputs and declares none itself (the stack does)", () => {
    const { compute } = synthCompute();
    expect(compute.outputs.map((o) => o.name).sort()).toEqual(COMPUTE_OUTPUTS);
    expect(outputsDeclaredUnder(compute)).toEqual([]);
  });
});

describe("training-compute: the policy packs", () => {
  it("GIVEN the defaults WHEN checked THEN no rule is violated", () => {
    expect(violationsOf(defaults.stack)).toEqual([]);
  });

  it("GIVEN a dedicated VPC, SSH, an Elastic IP, a KMS key and monitoring WHEN checked THEN no rule is violated", () => {
    const { stack } = synthCompute({
      compute: {
        network: { mode: "dedicated" },
        ssh: { keyPairName: "ops", allowedCidrs: ["203.0.113.0/24"] },
        elasticIp: true,
        rootVolumeKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        detailedMonitoring: true,
      },
    });
    expect(violationsOf(stack)).toEqual([]);
  });
});

describe("training-compute: the shared launch spec", () => {
  const spec = defaults.compute.launchSpec;

  it("GIVEN the launch spec WHEN read THEN it exposes the AMI, profile, security group, metadata options and root volume", () => {
    expect(spec.amiParameterName).toBe(DLAMI_PARAMETERS["ubuntu-24.04"]);
    expect(spec.instanceProfile.node.path).toMatch(/InstanceProfile$/);
    expect(spec.securityGroup.node.path).toMatch(/SecurityGroup$/);
    expect(spec.metadataOptions).toBe(METADATA_OPTIONS);
    expect(spec.rootVolume).toMatchObject({ deviceName: "/dev/sda1", volumeType: "gp3", encrypted: true, deleteOnTermination: true });
  });

  it("GIVEN the root volume WHEN shaped for a launch template THEN booleans are strings and the key is passed when set", () => {
    expect(launchTemplateEbs({ ...spec.rootVolume, kmsKeyId: "arn:key", volumeSize: 300 })).toEqual({
      volumeType: "gp3",
      volumeSize: 300,
      encrypted: "true",
      kmsKeyId: "arn:key",
      deleteOnTermination: "true",
    });
  });

  it("GIVEN the single mode WHEN its user data is asked again THEN the same object comes back", () => {
    expect(spec.userData({ mode: "single", runId: defaults.compute.runId })).toBe(defaults.compute.userData);
  });

  it("GIVEN the single mode WHEN asked with another run id THEN a GtiError refuses a second, different user data", () => {
    expect(() => spec.userData({ mode: "single", runId: "other" })).toThrow(/already built with another run id/);
  });

  it("GIVEN a malformed mode WHEN asked THEN a GtiError names it", () => {
    expect(() => spec.userData({ mode: "Fleet Mode" })).toThrow(/Invalid runtime mode "Fleet Mode"/);
  });

  it("GIVEN a fleet mode WHEN its user data is built THEN it has its own local, GTI_MODE and run id, and fetches the same runtime bundle", () => {
    const stack = moduleStack();
    const { compute } = buildCompute(stack);
    const fleet = compute.launchSpec.userData({ mode: "fleet-independent" });
    const template = localOf(synthJson(stack), "compute_user_data_fleet_independent");
    expect(template).toContain("GTI_MODE='fleet-independent'");
    expect(template).toContain("GTI_RUN_ID=''");
    expect(template).toContain("s3://${aws_s3_object.compute_runtime.bucket}/${aws_s3_object.compute_runtime.key}");
    expect(fleet.runtimeSha256).toBe(compute.userData.runtimeSha256);
    expect(fleet.base64Gzip).toMatch(/^\$\{TfToken/);
  });
});

describe("training-compute in the environment stacks", () => {
  it.each(["training", "dev", "prod"])("GIVEN env %s WHEN synthesized THEN it has the switched instance and the variables", async (name) => {
    const { json } = synthEnvironment(await realEnvironment(name));
    expect(instanceOf(json).count).toBe(COUNT);
    expect(Object.keys(json.variable ?? {})).toEqual(
      expect.arrayContaining(["create_instance", "use_spot", "instance_type", "auto_shutdown", "max_runtime_hours", "spot_max_price", "root_volume_size_gb", "training_image_tag", "run_id"]),
    );
  });

  it("GIVEN the env's safety.logRetentionDays WHEN synthesized THEN the instance log group keeps logs that long", () => {
    const { json } = synthEnvironment(configWith({ safety: { logRetentionDays: 90 } }));
    expect(resourceOf(json, "aws_cloudwatch_log_group", "compute").retention_in_days).toBe(90);
  });

  it("GIVEN the env's compute settings WHEN synthesized THEN they reach the instance (SSH, EIP, monitoring, dedicated VPC)", () => {
    const { json } = synthEnvironment(
      configWith({
        compute: {
          ssh: { keyPairName: "ops", allowedCidrs: ["203.0.113.0/24"] },
          elasticIp: true,
          detailedMonitoring: true,
          network: { mode: "dedicated", vpcCidr: "10.50.0.0/16" },
        },
      }),
    );
    expect(instanceOf(json)).toMatchObject({ key_name: "ops", monitoring: true });
    expect(resourceOf(json, "aws_eip", "compute_training").count).toBe(COUNT);
    expect(resourceOf(json, "aws_vpc", "compute").cidr_block).toBe("10.50.0.0/16");
  });

  it("GIVEN an env tag key with a space past the schema WHEN synthesized THEN a GtiError explains instance metadata tags refuse it", () => {
    // The schema refuses such a key first (__tests__/config/config.test.ts); the stack keeps its own check for configs built in code.
    const config = { ...configWith({}), tags: { "cost center": "ml" } };
    expect(() => synthEnvironment(config)).toThrow(GtiError);
    expect(() => synthEnvironment(config)).toThrow(/tag key "cost center" cannot be read from instance metadata/);
  });

  it.each([
    ["team/name", false],
    ["cost center", false],
    ["_index", false],
    ["..", false],
    ["CostCenter", true],
    ["cost-center:ml@acme", true],
  ])("GIVEN the tag key %s WHEN checked for instance metadata THEN it is accepted: %s", (key, ok) => {
    expect(instanceMetadataTagKeyProblems([key]).length === 0).toBe(ok);
  });
});
