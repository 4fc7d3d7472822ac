/**
 * Readable, stable Terraform addresses.
 *
 * cdktf names a nested resource after its construct path plus a hash (`aws_s3_bucket.storage_DataBucket_1A2B3C4D`).
 * Those addresses are what ops teams type in `terraform state show` and what state moves are keyed on, so every
 * element this project creates gets a deliberate one instead: `<module prefix>_<name>`, e.g.
 * `aws_s3_bucket.storage_data`. The prefix says which module owns the resource (storage, registry, compute, safety,
 * fleet, state), mirroring the seed's Terraform modules.
 *
 * Renaming an address is a state move for every user: snapshot tests guard them.
 */
import {
  TerraformDataSource,
  TerraformElement,
  TerraformLocal,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  TerraformVariable,
} from "cdktf";
import { GtiError } from "./errors";

const ADDRESS_PART = /^[a-z][a-z0-9_]*$/;

/** Addresses taken per stack, keyed by `<kind>.<name>`, with the construct path that took each. */
const taken = new WeakMap<TerraformStack, Map<string, string>>();

/**
 * Gives a Terraform element the logical id `<parts joined by _>` and checks that no other element of the same kind
 * (resource type, data source type, variable, output) in the stack has it.
 *
 * @example address(new S3Bucket(this, "DataBucket", {...}), "storage", "data") // aws_s3_bucket.storage_data
 * @throws GtiError when a part is not snake_case or the address is taken
 */
export function address<T extends TerraformElement>(element: T, ...parts: string[]): T {
  for (const part of parts) {
    if (!ADDRESS_PART.test(part)) {
      throw new GtiError(
        `Address part "${part}" for ${element.node.path} is not snake_case. Fix: use lowercase letters, digits and "_", starting with a letter.`,
      );
    }
  }
  const logicalId = parts.join("_");
  const kind = elementKind(element);
  const key = `${kind}.${logicalId}`;
  const stack = TerraformStack.of(element);
  let addresses = taken.get(stack);
  if (!addresses) {
    addresses = new Map();
    taken.set(stack, addresses);
  }
  const previous = addresses.get(key);
  if (previous !== undefined) {
    throw new GtiError(
      `Terraform address ${key} is used twice in stack "${stack.node.id}": by ${previous} and by ${element.node.path}. ` +
        "Fix: give one of them another name (addresses must be unique within a stack).",
    );
  }
  addresses.set(key, element.node.path);
  element.overrideLogicalId(logicalId);
  return element;
}

/** The addresses given in a stack so far (`<kind>.<name>` to construct path), for tests and reports. */
export function addressesOf(stack: TerraformStack): ReadonlyMap<string, string> {
  return taken.get(stack) ?? new Map();
}

/** `aws_s3_bucket` for resources, `data.aws_iam_policy_document` for data sources, `variable`, `output`, `local`. */
function elementKind(element: TerraformElement): string {
  if (element instanceof TerraformResource) return element.terraformResourceType;
  if (element instanceof TerraformDataSource) return `data.${element.terraformResourceType}`;
  if (element instanceof TerraformVariable) return "variable";
  if (element instanceof TerraformOutput) return "output";
  if (element instanceof TerraformLocal) return "local";
  return element.constructor.name;
}
