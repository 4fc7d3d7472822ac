/**
 * The outputs training-compute offers (declared by the stack). None is ever null: Terraform leaves null outputs out
 * of the state, and cdktf-cli 0.21 then crashes after a successful `cdktf deploy` (exit 1) when a construct has some
 * outputs present and others missing. An output about the instance is therefore `""` while there is none
 * (`try(<resource>[0].<attribute>, "")`, the terraform-aws-modules convention), and scripts test for the empty string.
 *
 * References are tokens; inside a `${...}` expression cdktf writes a token bare (`aws_instance.compute_training[0].id`),
 * so a reference inside a quoted string there is wrapped in `\${...}`.
 */
import type { Eip } from "@cdktf/provider-aws/lib/eip";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { Instance } from "@cdktf/provider-aws/lib/instance";
import type { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import type { OutputSpec } from "../../src/outputs";
import { attributeAt } from "../../src/references";
import { DLAMI_LOGIN_USER } from "./ami";
import { INSTANCE_TAGS } from "./contract";
import { escapeTemplate } from "./user-data";

/** What the outputs are read from. */
export interface ComputeOutputSources {
  /** The counted single instance. */
  readonly instance: Instance;
  /** Its Elastic IP (counted like it), if any: then the public address is the Elastic IP's. */
  readonly elasticIp?: Eip;
  readonly role: IamRole;
  readonly hfTokenSecret: SecretsmanagerSecret;
  /** The key pair, when SSH is on. */
  readonly keyName?: string;
  /** Whether some CIDR may reach port 22 (else SSH goes through Session Manager). */
  readonly sshFromCidrs: boolean;
  /** The region (a token). */
  readonly region: string;
}

/** `instance_id`, `instance_public_ip`, `ssm_command`, `ssh_command`, `instance_role_arn`, `run_id`, `hf_token_secret_arn`. */
export function computeOutputs(from: ComputeOutputSources): OutputSpec[] {
  const { region } = from;
  const instanceId = attributeAt(from.instance, 0, "id");
  const publicIp = attributeAt(from.elasticIp ?? from.instance, 0, "public_ip");
  const outputs: [string, string, string][] = [
    ["instance_id", `\${try(${instanceId}, "")}`, "ID of the GPU training instance; empty when create_instance is false."],
    [
      "instance_public_ip",
      `\${try(${publicIp}, "")}`,
      "Public IPv4 address of the training instance (its Elastic IP with compute.elasticIp); empty when create_instance is false or the subnet gives no public address.",
    ],
    [
      "ssm_command",
      `\${try("aws ssm start-session --target \${${instanceId}} --region \${${region}}", "")}`,
      "Command opening a shell on the training instance through SSM Session Manager; empty when create_instance is false.",
    ],
    [
      "ssh_command",
      sshCommand(from, instanceId, publicIp),
      "SSH command for the training instance (only with compute.ssh.keyPairName; through Session Manager when no CIDR may reach port 22); empty otherwise or when create_instance is false.",
    ],
    ["instance_role_arn", from.role.arn, "ARN of the IAM role of the training instances (instance profile of the single instance and the fleet)."],
    [
      "run_id",
      `\${try(${attributeAt(from.instance, 0, "tags", INSTANCE_TAGS.runId)}, "")}`,
      "Run id of the training instance: its checkpoints, logs, outputs and marker are under runs/RUN_ID/ in the outputs bucket; empty when create_instance is false.",
    ],
    [
      "hf_token_secret_arn",
      from.hfTokenSecret.arn,
      "ARN of the Secrets Manager secret holding the Hugging Face token (created empty: aws secretsmanager put-secret-value --secret-id ARN --secret-string TOKEN).",
    ],
  ];
  return outputs.map(([name, value, description]) => ({ name, value, description }));
}

/** `ssh -i <key>.pem ubuntu@<ip>`, through Session Manager when no CIDR reaches port 22; `""` without a key pair. */
function sshCommand(from: ComputeOutputSources, instanceId: string, publicIp: string): string {
  if (!from.keyName) return "";
  const keyFile = escapeTemplate(shellWord(`${from.keyName}.pem`));
  if (from.sshFromCidrs) {
    return `\${try("ssh -i ${keyFile} ${DLAMI_LOGIN_USER}@\${${publicIp}}", "")}`;
  }
  const proxy = `aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p --region \${${from.region}}`;
  return `\${try("ssh -i ${keyFile} -o ProxyCommand='${proxy}' ${DLAMI_LOGIN_USER}@\${${instanceId}}", "")}`;
}

/** A word the shell reads as is: single-quoted when it holds anything but letters, digits and `._-/~`. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._\-/~]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
