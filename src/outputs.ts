/**
 * Terraform outputs: modules describe what they offer ({@link OutputSpec}), the stack declares them. The Terraform
 * interface (output names) is then decided in one place, the stack, and a module can be reused without its outputs.
 */
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { address } from "./naming";

/** An output a module offers: its name in the Terraform interface, its value (a token) and description. */
export interface OutputSpec {
  readonly name: string;
  readonly value: string;
  readonly description: string;
}

/** Declares outputs on `scope` (the stack), each named exactly as given (`output.<name>`). */
export function addOutputs(scope: Construct, outputs: readonly OutputSpec[]): TerraformOutput[] {
  return outputs.map(({ name, value, description }) => address(new TerraformOutput(scope, `Output_${name}`, { value, description }), name));
}
