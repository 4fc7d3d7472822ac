/**
 * Tests of training-compute: what exists only with create_instance; training-compute: the spot market options (a
 * dynamic block); training-compute: the instance; training-compute: the run id.
 */
import { describe, expect, it } from "vitest";
import { DLAMI_PARAMETERS, INSTANCE_TAGS, dlamiParameterName } from "../../../modules/training-compute";
import { type SynthesizedStack, dataOf, resourceOf, resourcesOf } from "../../support/synth";
import { PREFIX, evaluatedUserData, localOf, synthCompute } from "../../support/compute/stack";
import { COUNT, defaults, instanceOf } from "../../support/compute/synth-fixtures";

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
