import { TerraformOutput } from "cdktf";
import { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { AwsContext } from "../../src/aws-context";
import { moduleStack, synthModule } from "../support/module-stack";
import { synthJson } from "../support/synth";

describe("AwsContext", () => {
  it("GIVEN two constructs of one stack WHEN they ask for the context THEN they get the same one", () => {
    const stack = moduleStack();
    const deep = new Construct(new Construct(stack, "A"), "B");
    expect(AwsContext.of(deep)).toBe(AwsContext.of(stack));
  });

  it("GIVEN a stack that reads nothing WHEN synthesized THEN it has no context data sources", () => {
    const stack = moduleStack();
    AwsContext.of(stack);
    expect(synthJson(stack).data).toBeUndefined();
  });

  it("GIVEN accountId read twice WHEN synthesized THEN it is data.aws_caller_identity.current.account_id, created once", () => {
    const { json } = synthModule((stack) => {
      new TerraformOutput(stack, "a", { value: AwsContext.of(stack).accountId });
      new TerraformOutput(stack, "b", { value: AwsContext.of(new Construct(stack, "X")).accountId });
    });
    expect(Object.keys(json.data ?? {})).toEqual(["aws_caller_identity"]);
    expect(Object.keys(json.data?.aws_caller_identity ?? {})).toEqual(["current"]);
    expect([json.output?.a?.value, json.output?.b?.value]).toEqual([
      "${data.aws_caller_identity.current.account_id}",
      "${data.aws_caller_identity.current.account_id}",
    ]);
  });

  it("GIVEN region WHEN synthesized THEN it is data.aws_region.current.name", () => {
    const { json } = synthModule((stack) => new TerraformOutput(stack, "r", { value: AwsContext.of(stack).region }));
    expect(json.output?.r?.value).toBe("${data.aws_region.current.name}");
  });

  it("GIVEN partition and dnsSuffix WHEN synthesized THEN both come from one data.aws_partition.current", () => {
    const { json } = synthModule((stack) => {
      new TerraformOutput(stack, "p", { value: AwsContext.of(stack).partition });
      new TerraformOutput(stack, "d", { value: AwsContext.of(stack).dnsSuffix });
    });
    expect(Object.keys(json.data?.aws_partition ?? {})).toEqual(["current"]);
    expect([json.output?.p?.value, json.output?.d?.value]).toEqual([
      "${data.aws_partition.current.partition}",
      "${data.aws_partition.current.dns_suffix}",
    ]);
  });
});

describe("AwsContext.formatArn", () => {
  const arnOf = (build: (context: AwsContext) => string): unknown =>
    synthModule((stack) => new TerraformOutput(stack, "arn", { value: build(AwsContext.of(stack)) })).json.output?.arn?.value;

  it("GIVEN a regional resource WHEN formatted THEN partition, region and account come from the data sources", () => {
    expect(arnOf((c) => c.formatArn({ service: "ec2", resource: "instance/*" }))).toBe(
      "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:instance/*",
    );
  });

  it("GIVEN a global service (region \"\") WHEN formatted THEN the region field is empty", () => {
    expect(arnOf((c) => c.formatArn({ service: "iam", region: "", resource: "root" }))).toBe(
      "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root",
    );
  });

  it("GIVEN a fixed account field (EC2 alarm actions) WHEN formatted THEN it replaces the account id", () => {
    expect(arnOf((c) => c.formatArn({ service: "automate", account: "ec2", resource: "stop" }))).toBe(
      "arn:${data.aws_partition.current.partition}:automate:${data.aws_region.current.name}:ec2:stop",
    );
  });
});
