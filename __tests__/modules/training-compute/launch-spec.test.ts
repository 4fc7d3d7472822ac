/** Tests of training-compute: the shared launch spec; training-compute in the environment stacks. */
import { describe, expect, it } from "vitest";
import {
  DLAMI_PARAMETERS,
  METADATA_OPTIONS,
  instanceMetadataTagKeyProblems,
  launchTemplateEbs,
} from "../../../modules/training-compute";
import { GtiError } from "../../../src/errors";
import { resourceOf, synthJson } from "../../support/synth";
import { configWith, realEnvironment } from "../../support/envs";
import { moduleStack } from "../../support/module-stack";
import { synthEnvironment } from "../../support/stacks";
import { buildCompute, localOf } from "../../support/compute/stack";
import { COUNT, defaults, instanceOf } from "../../support/compute/synth-fixtures";

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
    // The schema refuses such a key first (__tests__/config/rules.test.ts); the stack keeps its own check for configs built in code.
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
