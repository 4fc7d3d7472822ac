/**
 * Tests of training-fleet: the launch template shares the launch spec; training-fleet: tags of the nodes and their
 * volumes.
 */
import { describe, expect, it } from "vitest";
import { METADATA_OPTIONS, USER_DATA_BUDGET_BYTES, launchTemplateEbs } from "../../../modules/training-compute";
import { localOf } from "../../support/compute/stack";
import { TAGS } from "../../support/fleet/stack";
import {
  KEY,
  NAME,
  customized,
  groupOf,
  independent,
  multiNode,
  tagSpec,
  templateOf,
} from "../../support/fleet/synth-fixtures";

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
