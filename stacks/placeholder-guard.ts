/**
 * The Terraform half of the placeholder refusal (`src/config/placeholders.ts`): in a stack that still holds example
 * values, `terraform_data.placeholder_guard` carries a precondition that fails `terraform plan` and `apply` (and so
 * `cdktf deploy`) in every AWS account but AWS's example account `123456789012`, the account of the local AWS API
 * (moto) and of `terraform test`'s mocked provider. Synth, tests and local dry runs keep working; a real deploy is
 * refused with the list of placeholders and their fixes. Once no placeholder is left, the resource is not
 * synthesized at all (and never reached a real account's state: its plan was refused there).
 */
import { Op } from "cdktf";
import type { Construct } from "constructs";
import { AwsContext } from "../src/aws-context";
import { EXAMPLE_ACCOUNT_ID, type Placeholder } from "../src/config/placeholders";
import { address } from "../src/naming";
import { TerraformData } from "../src/terraform-data";

/** Terraform address of the guard. */
export const PLACEHOLDER_GUARD_ADDRESS = "terraform_data.placeholder_guard";

/**
 * Adds the guard to the stack of `scope` when `placeholders` is not empty; returns it (undefined otherwise).
 *
 * @example
 * addPlaceholderGuard(this, placeholdersOf(config)); // in an environment stack's constructor
 */
export function addPlaceholderGuard(scope: Construct, placeholders: readonly Placeholder[]): TerraformData | undefined {
  if (placeholders.length === 0) return undefined;
  const account = AwsContext.of(scope).callerIdentity;
  const lines = placeholders.map((p) => `- ${p.field} = ${JSON.stringify(p.value)}: ${p.reason}. Fix: ${p.fix}.`);
  const errorMessage = [
    `This stack still holds example values (placeholders) from the shipped env files, so it is not deployed to AWS account ` +
      `${account.accountId} (only AWS's example account ${EXAMPLE_ACCOUNT_ID}, the local AWS API's, may run them):`,
    // The values are validated config (no `${` or `%{` anywhere: the schema refuses them), so they are literal here.
    ...lines,
    "Change them in envs/ (npm run synth lists each with its file and line), synthesize again, then plan.",
  ].join("\n");
  return address(
    new TerraformData(scope, "PlaceholderGuard", {
      lifecycle: {
        precondition: [{ condition: Op.eq(account.accountId, EXAMPLE_ACCOUNT_ID), errorMessage }],
      },
    }),
    "placeholder_guard",
  );
}
