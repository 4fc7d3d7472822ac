/**
 * The `bootstrap` stack: creates the S3 bucket every environment keeps its Terraform state in. It keeps its own
 * state locally (a remote backend cannot live in the bucket it creates), at the project root as
 * `terraform.bootstrap.tfstate`. Deploy it once, before any environment.
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { placeholdersOf } from "../src/config/placeholders";
import type { EnvironmentConfig } from "../src/config/schema";
import { address } from "../src/naming";
import { addPlaceholderGuard } from "./placeholder-guard";
import { applyPolicy } from "../src/policy";
import { SecureBucket } from "../src/secure-bucket";
import { BOOTSTRAP_STACK, BOOTSTRAP_STATE_PATH, REQUIRED_TERRAFORM_VERSION } from "../src/state";
import { MANAGED_BY } from "./tags";

export interface BootstrapStackProps {
  /**
   * The validated environments; they all share one state bucket (checked by `loadEnvironments`), which this stack
   * creates.
   */
  readonly environments: readonly EnvironmentConfig[];
  /** Days a superseded state version is kept (to roll back a bad apply). @default 90 */
  readonly noncurrentStateVersionDays?: number;
}

export class BootstrapStack extends TerraformStack {
  /** The state bucket. */
  public readonly stateBucket: SecureBucket;

  public constructor(scope: Construct, props: BootstrapStackProps) {
    super(scope, BOOTSTRAP_STACK);
    // Security and cost rule packs: a violation fails synth (docs/policy.md).
    applyPolicy(this);
    const [first] = props.environments;
    if (!first) throw new Error("BootstrapStack needs at least one environment");

    this.addOverride("terraform.required_version", REQUIRED_TERRAFORM_VERSION);
    new LocalBackend(this, { path: BOOTSTRAP_STATE_PATH });

    const accountSets = new Set(props.environments.map((env) => [...env.allowedAccountIds].sort().join(",")));
    const [sharedAccounts] = accountSets;
    new AwsProvider(this, "aws", {
      region: first.state.region,
      // The account guard applies only when every environment names the same accounts.
      allowedAccountIds: accountSets.size === 1 && sharedAccounts ? sharedAccounts.split(",") : undefined,
      defaultTags: [
        { tags: { Project: first.project, Environment: BOOTSTRAP_STACK, ManagedBy: MANAGED_BY, Repository: first.repository } },
      ],
    });

    this.stateBucket = new SecureBucket(this, "StateBucket", {
      bucketName: first.state.bucket,
      address: ["state"],
      lifecycleRules: [
        {
          id: "expire-superseded-state-versions",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentStateVersionDays ?? 90 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });

    address(
      new TerraformOutput(this, "StateBucketOutput", {
        value: this.stateBucket.name,
        description: "Name of the S3 bucket holding every environment's Terraform state.",
      }),
      "state_bucket",
    );
    address(
      new TerraformOutput(this, "StateBucketArnOutput", {
        value: this.stateBucket.arn,
        description: "ARN of the Terraform state bucket.",
      }),
      "state_bucket_arn",
    );

    // Example values among what this stack uses (the state bucket, the Repository tag, the account guard): synth
    // warns (main.ts), Terraform refuses to deploy them to a real account.
    const used = (field: string) => field.startsWith("state.") || field === "repository" || field.startsWith("allowedAccountIds");
    const seen = new Set<string>();
    const placeholders = props.environments
      .flatMap((env) => placeholdersOf(env))
      .filter((p) => used(p.field) && !seen.has(`${p.field}=${p.value}`) && seen.add(`${p.field}=${p.value}`));
    addPlaceholderGuard(this, placeholders);
  }
}
