/** The fleet module synthesized (independent, multi-node, customized), and readers of its JSON, for __tests__/modules/training-fleet/. */
import { type SynthesizedStack, resourceOf } from "../synth";
import { PREFIX } from "../compute/stack";
import { synthFleet } from "./stack";

export const NAME = `${PREFIX}-fleet`;

export const SUBNET = "subnet-0123456789abcdef0";

export function groupOf(json: SynthesizedStack): Record<string, any> {
  return resourceOf(json, "aws_autoscaling_group", "fleet") as Record<string, any>;
}

export function templateOf(json: SynthesizedStack): Record<string, any> {
  return resourceOf(json, "aws_launch_template", "fleet") as Record<string, any>;
}

export function tagSpec(json: SynthesizedStack, type: "instance" | "volume"): Record<string, string> {
  const spec = (templateOf(json).tag_specifications as { resource_type: string; tags: Record<string, string> }[]).find(
    (s) => s.resource_type === type,
  );
  if (!spec) throw new Error(`no tag_specifications for ${type}`);
  return spec.tags;
}

export const independent = synthFleet();

export const multiNode = synthFleet({
  fleet: { mode: "multi-node", placementGroup: true, subnetIds: [SUBNET], masterPort: 29600, rendezvousTimeoutSeconds: 900 },
});

export const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** Non-default settings, one synth for several tests (each asserts one of them). */
export const customized = synthFleet({
  compute: {
    compute: { ami: { id: "ami-0123456789abcdef0" }, rootVolumeKmsKeyArn: KEY, ssh: { keyPairName: "ops" }, network: { mode: "dedicated" } },
  },
  fleet: { mode: "multi-node", drainTimeoutSeconds: 900 },
});
