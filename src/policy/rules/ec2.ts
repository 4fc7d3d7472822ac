/**
 * Instance and launch template rules (the single GPU instance, the fleet's launch template, standalone volumes).
 * An instance launched from a launch template in the same stack inherits what it does not set itself.
 */
import { COMPLIANT, nonCompliant, type Json, type PolicyContext, type PolicyElement, type PolicyRule } from "../types";
import { block, blocks, isSet, isTrue, refersTo, show } from "../values";

/** The launch template (in this stack) an instance is launched from, if any. */
export function launchTemplateOf(instance: PolicyElement, context: PolicyContext): PolicyElement | undefined {
  const reference = block(instance.config, "launch_template");
  if (!reference) return undefined;
  return context.ofType("aws_launch_template").find((lt) => refersTo(reference, lt.address));
}

function imdsProblem(options: Json | undefined): string | undefined {
  if (!options) return "metadata_options is not set (IMDSv1 stays available)";
  if (options.http_endpoint === "disabled") return undefined; // no metadata service at all
  if (options.http_tokens === "required") return undefined;
  return `metadata_options.http_tokens = ${show(options.http_tokens)}, not "required"`;
}

export const EC2_IMDSV2: PolicyRule = {
  id: "GTI-EC2-001",
  pack: "security",
  appliesTo: ["aws_instance", "aws_launch_template"],
  what: 'IMDSv2 is required (metadata_options.http_tokens = "required").',
  why: "IMDSv1 hands the instance role's credentials to any server-side request forgery; IMDSv2's session token stops that.",
  fix: 'Set metadata_options { http_tokens = "required" }.',
  check(element, context) {
    const own = block(element.config, "metadata_options");
    if (element.type === "aws_instance" && !own) {
      const template = launchTemplateOf(element, context);
      if (template) {
        const problem = imdsProblem(block(template.config, "metadata_options"));
        return problem
          ? nonCompliant(`it inherits from ${template.address}, where ${problem}`, `set metadata_options { http_tokens = "required" } on ${template.address}`)
          : COMPLIANT;
      }
    }
    const problem = imdsProblem(own);
    return problem ? nonCompliant(problem, 'set metadata_options { http_tokens = "required" } (http_put_response_hop_limit = 1 keeps containers away from the instance role)') : COMPLIANT;
  },
};

/** Volume problems of a launch template: mappings with EBS must be encrypted, and there must be one. */
function launchTemplateVolumeProblems(template: PolicyElement): string[] {
  const ebs = blocks(template.config, "block_device_mappings")
    .map((m) => ({ device: m.body.device_name, ebs: block(m.body, "ebs") }))
    .filter((m) => m.ebs !== undefined);
  if (ebs.length === 0) {
    return [`${template.address} has no block_device_mappings with ebs, so the root volume comes unencrypted from the AMI's snapshot`];
  }
  return ebs.filter((m) => !isTrue(m.ebs?.encrypted)).map((m) => `${show(m.device)} has ebs.encrypted = ${show(m.ebs?.encrypted)}`);
}

export const EC2_ENCRYPTED_VOLUMES: PolicyRule = {
  id: "GTI-EC2-002",
  pack: "security",
  appliesTo: ["aws_instance", "aws_launch_template", "aws_ebs_volume"],
  what: "Root and data volumes are encrypted.",
  why: "Checkpoints, datasets and cached credentials on disk stay unreadable in snapshots and after the volume is released.",
  fix: "Set encrypted = true on root_block_device / ebs_block_device, ebs.encrypted = \"true\" in launch template mappings, encrypted = true on aws_ebs_volume.",
  check(element, context) {
    const fix = "set encrypted = true on every volume (launch templates: ebs { encrypted = \"true\" }); pass a kms_key_id to use your own key";
    if (element.type === "aws_ebs_volume") {
      return isTrue(element.config.encrypted) ? COMPLIANT : nonCompliant(`encrypted = ${show(element.config.encrypted)}`, fix);
    }
    if (element.type === "aws_launch_template") {
      const problems = launchTemplateVolumeProblems(element);
      return problems.length ? nonCompliant(problems.join("; "), fix) : COMPLIANT;
    }
    const problems: string[] = [];
    const root = block(element.config, "root_block_device");
    if (root) {
      if (!isTrue(root.encrypted)) problems.push(`root_block_device.encrypted = ${show(root.encrypted)}`);
    } else {
      const template = launchTemplateOf(element, context);
      if (!template) problems.push("root_block_device is not set, so the root volume comes unencrypted from the AMI's snapshot");
      else problems.push(...launchTemplateVolumeProblems(template).map((p) => `inherited from ${template.address}: ${p}`));
    }
    blocks(element.config, "ebs_block_device").forEach((device) => {
      if (!isTrue(device.body.encrypted)) {
        problems.push(`ebs_block_device ${show(device.body.device_name)} has encrypted = ${show(device.body.encrypted)}`);
      }
    });
    return problems.length ? nonCompliant(problems.join("; "), fix) : COMPLIANT;
  },
};

export const EC2_MONITORING_EXPLICIT: PolicyRule = {
  id: "GTI-EC2-004",
  pack: "cost",
  appliesTo: ["aws_instance", "aws_launch_template"],
  what: "The detailed monitoring decision is explicit (monitoring set, true or false).",
  why: "Detailed (1-minute) monitoring is billed per metric; the provider's default differs between instances and launch templates, so the choice must be visible.",
  fix: "Set monitoring = <compute.detailedMonitoring> (instance) or monitoring { enabled = ... } (launch template).",
  check(element) {
    if (element.type === "aws_instance") {
      return isSet(element.config.monitoring)
        ? COMPLIANT
        : nonCompliant("monitoring is not set", "set monitoring = false (or true, from compute.detailedMonitoring)");
    }
    const monitoring = block(element.config, "monitoring");
    if (!monitoring) return nonCompliant("the monitoring block is not set", "add monitoring { enabled = false } (or true, from compute.detailedMonitoring)");
    return isSet(monitoring.enabled) ? COMPLIANT : nonCompliant("monitoring.enabled is not set", "set monitoring { enabled = false } (or true)");
  },
};

export const EC2_RULES: readonly PolicyRule[] = [EC2_IMDSV2, EC2_ENCRYPTED_VOLUMES, EC2_MONITORING_EXPLICIT];
