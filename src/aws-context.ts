/**
 * The AWS account, region and partition a stack deploys to, as Terraform data sources shared by every module of the
 * stack: `data.aws_caller_identity.current`, `data.aws_region.current` and `data.aws_partition.current`.
 *
 * One per stack ({@link AwsContext.of}); each data source is created the first time one of its values is read, so a
 * stack only reads what its modules use. Use these instead of literals in ARNs and names: the same synthesized JSON
 * then works in any account, region and partition.
 */
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { TerraformStack } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { address } from "./naming";

/** Construct id of the context under its stack. */
const CONTEXT_ID = "AwsContext";

/** Address of each data source: `data.aws_caller_identity.current` and so on. */
const CURRENT = "current";

export class AwsContext extends Construct {
  /** The stack's context, created on first use. */
  public static of(scope: IConstruct): AwsContext {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.tryFindChild(CONTEXT_ID);
    if (existing instanceof AwsContext) return existing;
    return new AwsContext(stack, CONTEXT_ID);
  }

  private callerIdentityData?: DataAwsCallerIdentity;
  private regionData?: DataAwsRegion;
  private partitionData?: DataAwsPartition;

  private constructor(scope: TerraformStack, id: string) {
    super(scope, id);
  }

  /** `data.aws_caller_identity.current`: who Terraform runs as. */
  public get callerIdentity(): DataAwsCallerIdentity {
    this.callerIdentityData ??= address(new DataAwsCallerIdentity(this, "CallerIdentity"), CURRENT);
    return this.callerIdentityData;
  }

  /** `data.aws_region.current`: the provider's region. */
  public get regionSource(): DataAwsRegion {
    this.regionData ??= address(new DataAwsRegion(this, "Region"), CURRENT);
    return this.regionData;
  }

  /** `data.aws_partition.current`: `aws`, `aws-cn` or `aws-us-gov`. */
  public get partitionSource(): DataAwsPartition {
    this.partitionData ??= address(new DataAwsPartition(this, "Partition"), CURRENT);
    return this.partitionData;
  }

  /** The 12-digit id of the account Terraform deploys to (a token). */
  public get accountId(): string {
    return this.callerIdentity.accountId;
  }

  /** The region code, e.g. `us-east-1` (a token). */
  public get region(): string {
    return this.regionSource.name;
  }

  /** The ARN partition, e.g. `aws` (a token): build ARNs with {@link formatArn}. */
  public get partition(): string {
    return this.partitionSource.partition;
  }

  /** The partition's DNS suffix, e.g. `amazonaws.com` (a token): service principals and endpoints. */
  public get dnsSuffix(): string {
    return this.partitionSource.dnsSuffix;
  }

  /**
   * An ARN in this stack's partition: `arn:<partition>:<service>:<region>:<account>:<resource>`, the region and account
   * this stack's unless given (`""` for global services such as IAM and Budgets). The one place ARNs are written, so
   * none hard-codes `aws` or an account.
   *
   * @example context.formatArn({ service: "ec2", resource: "instance/*" }) // arn:${partition}:ec2:${region}:${account}:instance/*
   * @example context.formatArn({ service: "iam", region: "", resource: "root" }) // arn:${partition}:iam::${account}:root
   */
  public formatArn(arn: ArnComponents): string {
    const partition = this.partition;
    const region = arn.region ?? this.region;
    const account = arn.account ?? this.accountId;
    return `arn:${partition}:${arn.service}:${region}:${account}:${arn.resource}`;
  }
}

/** The parts of an ARN besides its partition. */
export interface ArnComponents {
  /** The service namespace, e.g. `sns`, `ec2`, `iam`. */
  readonly service: string;
  /** The resource part, e.g. `instance/*` or `alarm:<name>`. */
  readonly resource: string;
  /** @default the stack's region; `""` for a global service */
  readonly region?: string;
  /** @default the stack's account; `""` where the ARN has none, or the field's fixed value (`ec2` in EC2 alarm actions) */
  readonly account?: string;
}
