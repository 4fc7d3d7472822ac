import { Instance } from "@cdktf/provider-aws/lib/instance";
import { Fn, TerraformCount, TerraformLocal, TerraformOutput, Token } from "cdktf";
import { describe, expect, it } from "vitest";
import { address } from "../../src/naming";
import { type OutputSpec, addOutputs } from "../../src/outputs";
import { attributeAt, oneOf, resourceAddress } from "../../src/references";
import { synthModule } from "../support/module-stack";

/** A counted instance (count = var-like expression) on a module stack, and what the build returns. */
function withCountedInstance<T>(build: (instance: Instance, count: TerraformCount) => T) {
  return synthModule((stack) => {
    const count = TerraformCount.of(Token.asNumber("${var.create ? 1 : 0}"));
    const instance = address(new Instance(stack, "Instance", { count, ami: "ami-0123456789abcdef0" }), "compute", "training");
    return build(instance, count);
  });
}

describe("references to counted resources (src/references.ts)", () => {
  it("GIVEN a resource sharing the count WHEN it reads attributeAt(count.index) THEN it is indexed by count.index", () => {
    const { json } = withCountedInstance((instance, count) => new TerraformLocal(instance.node.scope!, "Id", attributeAt(instance, count.index, "id")));
    expect(Object.values(json.locals ?? {})).toEqual(["${aws_instance.compute_training[count.index].id}"]);
  });

  it("GIVEN a plain index WHEN attributeAt is used in try() THEN it is written [0], not the legacy .0", () => {
    const { json } = withCountedInstance((instance) =>
      new TerraformOutput(instance.node.scope!, "id", { value: `\${try(${attributeAt(instance, 0, "tags", "RunId")}, "")}` }),
    );
    expect(json.output?.id?.value).toBe('${try(aws_instance.compute_training[0].tags.RunId, "")}');
  });

  it("GIVEN a resource counted 0 or 1 WHEN oneOf is read THEN it is one(<resource>[*].<attribute>)", () => {
    const { json } = withCountedInstance((instance) =>
      new TerraformOutput(instance.node.scope!, "id", { value: Fn.coalesce([oneOf(instance, "id"), "none"]) }),
    );
    expect(json.output?.id?.value).toBe('${coalesce(one(aws_instance.compute_training[*].id), "none")}');
  });

  it("GIVEN a resource WHEN its address is asked for (replace_triggered_by) THEN it is <type>.<name> without ${}", () => {
    const { built } = withCountedInstance((instance) => resourceAddress(instance));
    expect(built).toBe("aws_instance.compute_training");
  });
});

describe("outputs (src/outputs.ts)", () => {
  it("GIVEN output specs WHEN the stack declares them THEN each is output.<name> with its value and description", () => {
    const specs: OutputSpec[] = [
      { name: "first", value: "a", description: "The first." },
      { name: "second", value: "b", description: "The second." },
    ];
    const { json } = synthModule((stack) => addOutputs(stack, specs), { outputs: false });
    expect(json.output).toEqual({ first: { value: "a", description: "The first." }, second: { value: "b", description: "The second." } });
  });
});
