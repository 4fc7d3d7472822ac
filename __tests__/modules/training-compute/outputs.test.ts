/** Tests of training-compute: outputs; training-compute: the policy packs. */
import { describe, expect, it } from "vitest";
import { outputsDeclaredUnder } from "../../support/module-stack";
import { synthCompute, violationsOf } from "../../support/compute/stack";
import { defaults } from "../../support/compute/synth-fixtures";

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
