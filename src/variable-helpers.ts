/** How this project declares Terraform variables and writes their validation conditions (training and fleet variables). */
import { TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { address } from "./naming";

/**
 * The `validation` condition "a whole number from `min` to `max`" on `var.<name>` (`max` a literal, or another
 * expression without `${}`). Shared by every numeric variable here and the fleet's.
 */
export function wholeNumberInRange(name: string, min: number, max: number | string): string {
  return `\${var.${name} >= ${min} && var.${name} <= ${max} && floor(var.${name}) == var.${name}}`;
}

/**
 * A variable the way this project writes them: addressed `var.<name>`, `nullable = false`, a description (the lines
 * joined), and `validation` blocks when given. Shared by {@link TrainingVariables} and the fleet's variables.
 */
export function defineVariable(
  scope: Construct,
  name: string,
  type: string,
  defaultValue: unknown,
  description: readonly string[],
  validation: readonly { condition: string; errorMessage: string }[] = [],
): TerraformVariable {
  return address(
    new TerraformVariable(scope, name, {
      type,
      default: defaultValue,
      nullable: false,
      description: description.join(" "),
      validation: validation.length > 0 ? [...validation] : undefined,
    }),
    name,
  );
}

/**
 * A string literal for a Terraform expression inside `${...}`: quoted, with backslashes and quotes escaped (JSON's
 * escaping is a subset of HCL's). A regex such as `\.` must reach RE2 as `\.`, hence `"\\."` in the expression.
 */
export function hclString(value: string): string {
  if (value.includes("${") || value.includes("%{")) {
    throw new Error(`hclString: "${value}" holds a template sequence; escape it before embedding`);
  }
  return JSON.stringify(value);
}
