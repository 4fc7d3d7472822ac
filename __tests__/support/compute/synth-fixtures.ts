/** The compute module synthesized with defaults, and readers of its JSON, for __tests__/modules/training-compute/. */
import { type SynthesizedStack, resourceOf } from "../synth";
import { synthCompute } from "./stack";

export const COUNT = "${var.create_instance ? 1 : 0}";

export function instanceOf(json: SynthesizedStack): Record<string, unknown> {
  return resourceOf(json, "aws_instance", "compute_training");
}

export const defaults = synthCompute();
