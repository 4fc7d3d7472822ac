import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { GtiError } from "../../src/errors";
import { address, addressesOf } from "../../src/naming";
import { synthJson, testApp } from "../support/synth";

function stackWithModule(): { stack: TerraformStack; module: Construct } {
  const stack = new TerraformStack(testApp(), "naming");
  new AwsProvider(stack, "aws", { region: "us-east-1" });
  return { stack, module: new Construct(stack, "Storage") };
}

describe("address()", () => {
  it("GIVEN a nested resource WHEN addressed THEN it synthesizes under exactly <prefix>_<name>", () => {
    const { stack, module } = stackWithModule();
    address(new S3Bucket(module, "DataBucket", { bucket: "b" }), "storage", "data");
    expect(Object.keys(synthJson(stack).resource?.aws_s3_bucket ?? {})).toEqual(["storage_data"]);
  });

  it("GIVEN a nested resource WHEN not addressed THEN cdktf appends a hash (why the helper exists)", () => {
    const { stack, module } = stackWithModule();
    new S3Bucket(module, "DataBucket", { bucket: "b" });
    expect(Object.keys(synthJson(stack).resource?.aws_s3_bucket ?? {})[0]).toMatch(/^Storage_DataBucket_[0-9A-F]{8}$/);
  });

  it("GIVEN two resources of one type WHEN given the same address THEN the second fails naming both constructs", () => {
    const { module } = stackWithModule();
    address(new S3Bucket(module, "A", { bucket: "a" }), "storage", "data");
    expect(() => address(new S3Bucket(module, "B", { bucket: "b" }), "storage", "data")).toThrow(
      /aws_s3_bucket\.storage_data is used twice in stack "naming": by naming\/Storage\/A and by naming\/Storage\/B/,
    );
  });

  it("GIVEN a variable and an output WHEN given the same name THEN both are allowed (different kinds)", () => {
    const { stack } = stackWithModule();
    address(new TerraformVariable(stack, "v", { type: "string" }), "create_instance");
    address(new TerraformOutput(stack, "o", { value: "x" }), "create_instance");
    expect([...addressesOf(stack).keys()]).toEqual(["variable.create_instance", "output.create_instance"]);
  });

  it("GIVEN a part that is not snake_case WHEN addressed THEN it fails with the fix", () => {
    const { module } = stackWithModule();
    expect(() => address(new S3Bucket(module, "A", { bucket: "a" }), "Storage", "data")).toThrow(GtiError);
    expect(() => address(new S3Bucket(module, "B", { bucket: "a" }), "storage-data")).toThrow(/not snake_case\. Fix:/);
  });

  it("GIVEN two stacks WHEN each uses the same address THEN both are allowed (uniqueness is per stack)", () => {
    const app = testApp();
    const make = (id: string) => address(new S3Bucket(new TerraformStack(app, id), "B", { bucket: id }), "state");
    expect(() => [make("one"), make("two")]).not.toThrow();
  });
});
