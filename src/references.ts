/**
 * References to counted resources (`count = var.create_instance ? 1 : 0`), built from the resource object with cdktf's
 * `propertyAccess`, never written as address text.
 *
 * cdktf 0.21 renders `resource.id` of a counted resource without an index (`aws_instance.x.id`), which Terraform
 * rejects ("Missing resource instance key"), and renders `lifecycle.replace_triggered_by: [resource]` as
 * `"${aws_instance.x}"`, which Terraform's JSON syntax rejects ("Expected the start of an expression"). These helpers
 * are the one place that knows the working forms (checked with terraform 1.11 by the test suites).
 */
import { Fn, TerraformResource, Token, propertyAccess } from "cdktf";

/**
 * `<type>.<name>[index].<path>`: the attribute of one instance of a counted resource, e.g. with `count.index` inside a
 * resource sharing the count. A plain number index is written `[0]`, as Terraform's docs write it (cdktf would write
 * the legacy `.0`).
 */
export function attributeAt(resource: TerraformResource, index: number, ...path: string[]): string {
  const key = Token.isUnresolved(index) ? index : Token.asNumber(String(index));
  return Token.asString(propertyAccess(resource, [key, ...path]));
}

/** `one(<type>.<name>[*].<path>)`: the attribute of a resource counted 0 or 1, or null at count 0. */
export function oneOf(resource: TerraformResource, ...path: string[]): string {
  return Token.asString(Fn.one(propertyAccess(resource, ["*", ...path])));
}

/**
 * `<type>.<name>`: the address of a resource for the lifecycle lists that take plain references in Terraform's JSON
 * syntax (`replace_triggered_by`), where cdktf's `${...}` form is invalid.
 */
export function resourceAddress(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}
