/** A bare stack (AWS provider only) for testing one module's construct on its own, synthesized in memory. */
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import { address } from "../../src/naming";
import { type OutputSpec, addOutputs } from "../../src/outputs";
import { type SynthesizedStack, synthJson, testApp } from "./synth";

/** A statement of a synthesized `aws_iam_policy_document` data source. */
export interface Statement {
  readonly sid?: string;
  readonly effect?: string;
  readonly actions?: string[];
  readonly resources?: string[];
  readonly principals?: { type: string; identifiers: string[] }[];
  readonly condition?: { test: string; variable: string; values: string[] }[];
}

/** A fresh stack named `test` with an AWS provider, on its own app. */
export function moduleStack(): TerraformStack {
  const stack = new TerraformStack(testApp(), "test");
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  return stack;
}

/**
 * Builds constructs on a fresh stack and synthesizes it (validations run). Like the environment stack, the stack
 * declares the outputs every module on it offers, unless `outputs` is false.
 */
export function synthModule<T>(
  build: (stack: TerraformStack) => T,
  options: { readonly outputs?: boolean } = {},
): { stack: TerraformStack; built: T; json: SynthesizedStack } {
  const stack = moduleStack();
  const built = build(stack);
  if (options.outputs ?? true) {
    for (const module of stack.node.children) {
      if (offersOutputs(module)) addOutputs(stack, module.outputs);
    }
  }
  return { stack, built, json: synthJson(stack) };
}

/** A module construct offering Terraform outputs for its stack to declare (`outputs`, src/outputs.ts). */
function offersOutputs(construct: IConstruct): construct is IConstruct & { readonly outputs: readonly OutputSpec[] } {
  const outputs = (construct as { outputs?: unknown }).outputs;
  return Array.isArray(outputs) && outputs.every((o) => typeof o === "object" && o !== null && "name" in o && "value" in o);
}

/** The Terraform outputs declared under a construct (a module declares none: its stack does). */
export function outputsDeclaredUnder(construct: IConstruct): TerraformOutput[] {
  return construct.node.findAll().filter((c): c is TerraformOutput => c instanceof TerraformOutput);
}

/** An IAM role standing in for another module's (`aws_iam_role.compute_instance`), to receive grants. */
export function testRole(stack: TerraformStack, parts: string[] = ["compute", "instance"]): IamRole {
  return address(new IamRole(stack, `Role_${parts.join("_")}`, { name: parts.join("-"), assumeRolePolicy: "{}" }), ...parts);
}

/** The statements of a synthesized policy document data source. */
export function statementsOf(json: SynthesizedStack, name: string): Statement[] {
  const document = json.data?.aws_iam_policy_document?.[name];
  if (!document) {
    throw new Error(`no data.aws_iam_policy_document.${name} (have ${Object.keys(json.data?.aws_iam_policy_document ?? {}).join(", ")})`);
  }
  return document.statement as Statement[];
}
