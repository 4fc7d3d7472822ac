/** A bare stack (AWS provider only) for testing one module's construct on its own, synthesized in memory. */
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformStack } from "cdktf";
import { address } from "../../src/naming";
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

/** Builds constructs on a fresh stack and synthesizes it (validations run). */
export function synthModule<T>(build: (stack: TerraformStack) => T): { stack: TerraformStack; built: T; json: SynthesizedStack } {
  const stack = moduleStack();
  const built = build(stack);
  return { stack, built, json: synthJson(stack) };
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
