/**
 * Issue 13, item 4: the training container never holds the instance role. Synth side: hop limit 1 on every instance
 * and launch template of every env; the container role, trusted by the instance role only for a session tagged with a
 * run id; and, evaluated with a small IAM evaluator over the synthesized documents, what such a session may do: read
 * the data bucket, write its own run's prefix, nothing of another run's. The runtime side (the container's view in
 * the sandbox) is in __tests__/runtime/container-aws.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Decision, evaluate } from "../support/iam-eval";
import { statementsOf, type Statement } from "../support/module-stack";
import { synthEnvironment } from "../support/stacks";
import { realEnvironment, realEnvironments } from "../support/envs";
import type { SynthesizedStack } from "../support/synth";

const REFS = {
  "${aws_s3_bucket.storage_outputs.arn}": "arn:aws:s3:::outputs",
  "${aws_s3_bucket.storage_data.arn}": "arn:aws:s3:::data",
  "${aws_iam_role.compute_container.arn}": "arn:aws:iam::123456789012:role/container",
  "${local.compute_run_id}": "run-single",
  "${local.fleet_run_id}": "run-fleet",
};
const OUT = "arn:aws:s3:::outputs";

describe("hop limit 1 everywhere", () => {
  it("GIVEN every env stack WHEN synthesized THEN every instance and launch template requires IMDSv2 with hop limit 1", async () => {
    let seen = 0;
    for (const env of await realEnvironments()) {
      const { json } = synthEnvironment(env);
      for (const type of ["aws_instance", "aws_launch_template"]) {
        for (const [name, resource] of Object.entries((json.resource?.[type] ?? {}) as Record<string, { metadata_options?: Record<string, unknown> }>)) {
          expect(resource.metadata_options, `${env.name}: ${type}.${name}`).toMatchObject({ http_tokens: "required", http_put_response_hop_limit: 1 });
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThanOrEqual(5); // 3 instances, 2 launch templates (dev, prod)
  });
});

describe("the container role's credentials, evaluated", () => {
  let json: SynthesizedStack;
  let container: Statement[];
  beforeAll(async () => {
    ({ json } = synthEnvironment(await realEnvironment("training")));
    container = [...statementsOf(json, "compute_container_read_data"), ...statementsOf(json, "compute_container_write_own_run")];
  });
  const asRun = (run: string, action: string, resource: string, context: Record<string, string> = {}): Decision =>
    evaluate(container, { action, resource, context: { "aws:PrincipalTag/RunId": run, ...context } }, REFS);

  it("GIVEN a session tagged RunId=run-a WHEN it writes its own run's outputs and checkpoints THEN it is allowed", () => {
    expect(asRun("run-a", "s3:PutObject", `${OUT}/runs/run-a/outputs/model.safetensors`)).toBe("Allow");
    expect(asRun("run-a", "s3:PutObject", `${OUT}/runs/run-a/checkpoints/checkpoint-9/optimizer.pt`)).toBe("Allow");
    expect(asRun("run-a", "s3:ListBucket", OUT, { "s3:prefix": "runs/run-a/outputs/" })).toBe("Allow");
  });

  it("GIVEN a session tagged RunId=run-a WHEN it writes, reads or lists another run's prefix THEN it is denied", () => {
    expect(asRun("run-a", "s3:PutObject", `${OUT}/runs/run-b/checkpoints/LATEST.json`)).toBe("ImplicitDeny");
    expect(asRun("run-a", "s3:PutObject", `${OUT}/runs/run-b/SUCCESS`)).toBe("ImplicitDeny");
    expect(asRun("run-a", "s3:GetObject", `${OUT}/runs/run-b/outputs/model.safetensors`)).toBe("ImplicitDeny");
    expect(asRun("run-a", "s3:ListBucket", OUT, { "s3:prefix": "runs/run-b/" })).toBe("ImplicitDeny");
    expect(asRun("run-a", "s3:ListBucket", OUT, { "s3:prefix": "runs/" })).toBe("ImplicitDeny");
    // a prefix trick: run-a's pattern must not reach run-ab
    expect(asRun("run-a", "s3:PutObject", `${OUT}/runs/run-ab/INTERRUPTED`)).toBe("ImplicitDeny");
  });

  it("GIVEN any container session WHEN it deletes, or writes the data bucket THEN it is denied; reading data is allowed", () => {
    expect(asRun("run-a", "s3:DeleteObject", `${OUT}/runs/run-a/INTERRUPTED`)).toBe("ImplicitDeny");
    expect(asRun("run-a", "s3:PutObject", "arn:aws:s3:::data/data/train.jsonl")).toBe("ImplicitDeny");
    expect(asRun("run-a", "s3:GetObject", "arn:aws:s3:::data/data/train.jsonl")).toBe("Allow");
    expect(asRun("run-a", "ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-0")).toBe("ImplicitDeny");
  });

  it("GIVEN a session without a RunId tag WHEN it writes any run THEN it is denied (the resource needs the tag)", () => {
    expect(evaluate(container, { action: "s3:PutObject", resource: `${OUT}/runs/run-a/outputs/x` }, REFS)).toBe("ImplicitDeny");
  });

  it("GIVEN the container role's trust WHEN evaluated THEN only the instance role may assume it, tagging exactly a RunId", () => {
    const trust = statementsOf(json, "compute_container_trust");
    expect(trust.map((s) => s.principals)).toEqual([[{ type: "AWS", identifiers: ["${aws_iam_role.compute_instance.arn}"] }]]);
    const assume = (context: Record<string, string | string[]>): Decision =>
      evaluate(trust, { action: "sts:AssumeRole", resource: "arn:aws:iam::123456789012:role/container", context }, REFS);
    expect(assume({ "aws:RequestTag/RunId": "run-a", "aws:TagKeys": ["RunId"] })).toBe("Allow");
    expect(evaluate(trust, { action: "sts:TagSession", resource: "-", context: { "aws:RequestTag/RunId": "run-a", "aws:TagKeys": ["RunId"] } })).toBe("Allow");
    expect(assume({ "aws:TagKeys": [] })).toBe("ImplicitDeny");
    expect(assume({ "aws:RequestTag/RunId": "run-a", "aws:TagKeys": ["RunId", "Admin"] })).toBe("ImplicitDeny");
  });

  it("GIVEN the instance role WHEN it writes runs THEN only its own run's prefix (the single instance's run id)", () => {
    const instance = statementsOf(json, "compute_instance_write_runs");
    const put = (key: string): Decision => evaluate(instance, { action: "s3:PutObject", resource: `${OUT}/${key}` }, REFS);
    expect(put("runs/run-single/checkpoints/LATEST.json")).toBe("Allow");
    expect(put("runs/run-other/checkpoints/LATEST.json")).toBe("ImplicitDeny");
    expect(evaluate(instance, { action: "s3:DeleteObject", resource: `${OUT}/runs/run-other/INTERRUPTED` }, REFS)).toBe("ImplicitDeny");
    expect(statementsOf(json, "compute_instance_assume_container_role")[0]?.resources).toEqual(["${aws_iam_role.compute_container.arn}"]);
  });
});
