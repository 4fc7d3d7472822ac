import { describe, expect, it } from "vitest";
import { addressesIn, dataOf, resourceOf, resourcesOf } from "../support/synth";
import { configWith, realEnvironment, realEnvironments } from "../support/envs";
import { synthBootstrap, synthEnvironment } from "../support/stacks";

const ENVIRONMENTS = ["training", "dev", "prod"] as const;

describe("environment stacks", () => {
  it.each(ENVIRONMENTS)("GIVEN env %s WHEN synthesized THEN the stack is named after it", async (name) => {
    const { stack } = synthEnvironment(await realEnvironment(name));
    expect(stack.node.id).toBe(name);
  });

  it.each(ENVIRONMENTS)("GIVEN env %s WHEN synthesized THEN the S3 backend keeps state under its own key", async (name) => {
    const { json } = synthEnvironment(await realEnvironment(name));
    expect(json.terraform.backend).toEqual({
      s3: {
        bucket: "gpu-training-infra-tfstate-123456789012",
        key: `gpu-training-infra/${name}/terraform.tfstate`,
        region: "us-east-1",
        encrypt: true,
        use_lockfile: true,
      },
    });
  });

  it("GIVEN any env WHEN synthesized THEN locking is native S3 (use_lockfile), with no DynamoDB table", async () => {
    const { json } = synthEnvironment(await realEnvironment("training"));
    const backend = json.terraform.backend?.s3 ?? {};
    expect(backend.use_lockfile).toBe(true);
    expect(Object.keys(backend)).not.toContain("dynamodb_table");
    expect(resourcesOf(json, "aws_dynamodb_table")).toEqual({});
  });

  it.each(ENVIRONMENTS)("GIVEN env %s WHEN synthesized THEN the provider targets its region", async (name) => {
    const env = await realEnvironment(name);
    const { json } = synthEnvironment(env);
    expect(json.provider?.aws?.[0]?.region).toBe(env.region);
  });

  it("GIVEN an env WHEN synthesized THEN every resource is tagged Project, Environment, ManagedBy and Repository", async () => {
    const { json } = synthEnvironment(await realEnvironment("dev"));
    expect(json.provider?.aws?.[0]?.default_tags).toEqual([
      {
        tags: {
          Project: "gpu-training-infra",
          Environment: "dev",
          ManagedBy: "cdktf",
          Repository: "github.com/example-org/gpu-training-infra",
        },
      },
    ]);
  });

  it("GIVEN extra tags WHEN synthesized THEN they join the default tags", () => {
    const { json } = synthEnvironment(configWith({ tags: { CostCenter: "ml-research" } }));
    const tags = (json.provider?.aws?.[0]?.default_tags as { tags: Record<string, string> }[])[0]?.tags;
    expect(tags).toMatchObject({ CostCenter: "ml-research", Environment: "training" });
  });

  it("GIVEN no account guard WHEN synthesized THEN allowed_account_ids is absent", async () => {
    const { json } = synthEnvironment(await realEnvironment("training"));
    expect(json.provider?.aws?.[0]).not.toHaveProperty("allowed_account_ids");
  });

  it("GIVEN allowedAccountIds WHEN synthesized THEN the provider refuses other accounts", () => {
    const { json } = synthEnvironment(configWith({ allowedAccountIds: ["111122223333"] }));
    expect(json.provider?.aws?.[0]?.allowed_account_ids).toEqual(["111122223333"]);
  });

  it("GIVEN any env WHEN synthesized THEN it pins hashicorp/aws 5.100.0 and Terraform >= 1.10", async () => {
    const { json } = synthEnvironment(await realEnvironment("training"));
    expect(json.terraform.required_providers?.aws?.version).toBe("5.100.0");
    expect(json.terraform.required_version).toBe(">= 1.10.0");
  });
});

describe("bootstrap stack", () => {
  async function bootstrap() {
    return synthBootstrap(await realEnvironments());
  }

  it("GIVEN the envs WHEN synthesized THEN the stack is named bootstrap and keeps local state at the project root", async () => {
    const { stack, json } = await bootstrap();
    expect(stack.node.id).toBe("bootstrap");
    expect(json.terraform.backend).toEqual({ local: { path: "../../../terraform.bootstrap.tfstate" } });
  });

  it("GIVEN the envs WHEN synthesized THEN it creates the state bucket they all use, protected from destroy", async () => {
    const { json } = await bootstrap();
    expect(resourceOf(json, "aws_s3_bucket", "state")).toMatchObject({
      bucket: "gpu-training-infra-tfstate-123456789012",
      force_destroy: false,
      lifecycle: { prevent_destroy: true },
    });
  });

  it("GIVEN the envs WHEN synthesized THEN the provider uses the state region", async () => {
    const { json } = await bootstrap();
    expect(json.provider?.aws?.[0]?.region).toBe("us-east-1");
  });

  it("GIVEN the state bucket WHEN synthesized THEN versioning is enabled", async () => {
    const { json } = await bootstrap();
    expect(resourceOf(json, "aws_s3_bucket_versioning", "state").versioning_configuration).toEqual({ status: "Enabled" });
  });

  it("GIVEN the state bucket WHEN synthesized THEN it is encrypted with SSE-S3 by default", async () => {
    const { json } = await bootstrap();
    expect(resourceOf(json, "aws_s3_bucket_server_side_encryption_configuration", "state").rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
  });

  it("GIVEN the state bucket WHEN synthesized THEN all four public access blocks are on", async () => {
    const { json } = await bootstrap();
    expect(resourceOf(json, "aws_s3_bucket_public_access_block", "state")).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });

  it("GIVEN the state bucket WHEN synthesized THEN ACLs are off (BucketOwnerEnforced)", async () => {
    const { json } = await bootstrap();
    expect(resourceOf(json, "aws_s3_bucket_ownership_controls", "state").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  });

  it("GIVEN the state bucket WHEN synthesized THEN its policy denies requests without TLS or with TLS < 1.2", async () => {
    const { json } = await bootstrap();
    const statements = dataOf(json, "aws_iam_policy_document", "state").statement as Record<string, unknown>[];
    expect(statements).toEqual([
      {
        sid: "DenyInsecureTransport",
        effect: "Deny",
        principals: [{ type: "*", identifiers: ["*"] }],
        actions: ["s3:*"],
        resources: ["${aws_s3_bucket.state.arn}", "${aws_s3_bucket.state.arn}/*"],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
      {
        sid: "DenyOutdatedTls",
        effect: "Deny",
        principals: [{ type: "*", identifiers: ["*"] }],
        actions: ["s3:*"],
        resources: ["${aws_s3_bucket.state.arn}", "${aws_s3_bucket.state.arn}/*"],
        condition: [{ test: "NumericLessThan", variable: "s3:TlsVersion", values: ["1.2"] }],
      },
    ]);
    expect(resourceOf(json, "aws_s3_bucket_policy", "state").policy).toBe("${data.aws_iam_policy_document.state.json}");
  });

  it("GIVEN the state bucket WHEN synthesized THEN superseded state versions expire after 90 days", async () => {
    const { json } = await bootstrap();
    expect(resourceOf(json, "aws_s3_bucket_lifecycle_configuration", "state").rule).toEqual([
      {
        id: "expire-superseded-state-versions",
        status: "Enabled",
        filter: [{ prefix: "" }],
        noncurrent_version_expiration: [{ noncurrent_days: 90 }],
        abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
      },
    ]);
  });

  it("GIVEN the state bucket WHEN synthesized THEN its name and ARN are outputs", async () => {
    const { json } = await bootstrap();
    expect(Object.keys(json.output ?? {})).toEqual(["state_bucket", "state_bucket_arn"]);
    for (const output of Object.values(json.output ?? {})) expect(output.description).toBeTruthy();
  });

  it("GIVEN envs that share an account guard WHEN synthesized THEN the bootstrap provider uses it too", () => {
    const one = configWith({ allowedAccountIds: ["111122223333"] });
    const { json } = synthBootstrap([one]);
    expect(json.provider?.aws?.[0]?.allowed_account_ids).toEqual(["111122223333"]);
  });

  it("GIVEN envs with different account guards WHEN synthesized THEN the bootstrap provider has none", () => {
    const one = configWith({ allowedAccountIds: ["111122223333"] });
    const two = configWith({ allowedAccountIds: ["444455556666"] });
    const { json } = synthBootstrap([one, two]);
    expect(json.provider?.aws?.[0]).not.toHaveProperty("allowed_account_ids");
  });
});

describe("modules wired together", () => {
  it.each(["dev", "prod"] as const)("GIVEN fleet env %s WHEN synthesized THEN the runtime guard may terminate members of that fleet only, named without a reference to the group", async (name) => {
    const { json } = synthEnvironment(await realEnvironment(name));
    const statements = (dataOf(json, "aws_iam_policy_document", "safety_guard_terminate_fleet_members").statement ?? []) as {
      actions: string[];
      resources: string[];
    }[];
    expect(statements.map((s) => s.actions)).toEqual([["autoscaling:TerminateInstanceInAutoScalingGroup"]]);
    // Built from the group's name: a reference to the group would defer the document to apply time whenever the group changes.
    expect(statements[0]?.resources).toEqual([
      `arn:\${data.aws_partition.current.partition}:autoscaling:\${data.aws_region.current.name}:\${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/gpu-training-infra-${name}-fleet`,
    ]);
  });

  it("GIVEN env training (no fleet) WHEN synthesized THEN the guard has no fleet permission and there is no group", async () => {
    const { json } = synthEnvironment(await realEnvironment("training"));
    expect(addressesIn(json).filter((a) => a.includes("fleet"))).toEqual([]);
  });
});

describe("readable Terraform addresses", () => {
  it.each(["bootstrap", ...ENVIRONMENTS])("GIVEN stack %s WHEN synthesized THEN no address carries a cdktf hash", async (name) => {
    const { json } = name === "bootstrap" ? synthBootstrap(await realEnvironments()) : synthEnvironment(await realEnvironment(name));
    const hashed = addressesIn(json).filter((a) => /_[0-9A-F]{8}$/.test(a));
    expect(hashed).toEqual([]);
  });
});

describe("whole-stack snapshots (change detection: a renamed address is a state move for every user)", () => {
  it("GIVEN the bootstrap stack WHEN synthesized THEN it matches the snapshot", async () => {
    expect(synthBootstrap(await realEnvironments()).json).toMatchSnapshot();
  });

  it.each(ENVIRONMENTS)("GIVEN env %s WHEN synthesized THEN it matches the snapshot", async (name) => {
    expect(synthEnvironment(await realEnvironment(name)).json).toMatchSnapshot();
  });
});
