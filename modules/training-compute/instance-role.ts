/**
 * The training instances' identity: `aws_iam_role.compute_instance` with its instance profile and least-privilege
 * grants (read the data bucket, write runs, pull images, Session Manager, logs and metrics, the Hugging Face token,
 * shut itself down, read the runtime bundle), and `aws_iam_role.compute_container`, which the runtime assumes for one
 * run (session tag `RunId`): read the data bucket, write that run's prefix only.
 */
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { Construct } from "constructs";
import type { TrainingRegistry } from "../training-registry";
import type { TrainingStorage } from "../training-storage";
import { AwsContext } from "../../src/aws-context";
import { type Grant, grantToRole, serviceRole } from "../../src/iam";
import { address } from "../../src/naming";
import {
  CONTAINER_ROLE_ASSUME_ACTIONS,
  LOG_WRITE_ACTIONS,
  METRIC_WRITE_ACTIONS,
  SECRET_READ_ACTIONS,
  SELF_SHUTDOWN_ACTIONS,
  SSM_REGISTER_ACTIONS,
  SSM_SESSION_CHANNEL_ACTIONS,
  TAG_READ_ACTIONS,
} from "./perms";

export interface InstanceRoleProps {
  /** Start of the role names (`<prefix>-instance`, `<prefix>-container`). */
  readonly namePrefix: string;
  /** The `Project` and `Environment` tags the self-shutdown permission requires on the target. */
  readonly project: string;
  readonly environment: string;
  /** The buckets: read the data bucket, write runs. */
  readonly storage: TrainingStorage;
  /** The repository: pull its images. */
  readonly registry: TrainingRegistry;
  /** Run ids (literals, references or `*` patterns) whose prefixes the instance role may write. @default every run */
  readonly runIds?: readonly string[];
  /** ARN of the instances' log group. */
  readonly logGroupArn: string;
  /** The CloudWatch namespace the instances may write. */
  readonly metricsNamespace: string;
  /** ARN of the Hugging Face token secret. */
  readonly hfTokenSecretArn: string;
  /** Key of the runtime bundle in the outputs bucket. */
  readonly runtimeBundleKey: string;
}

/** The instance role and profile, the container role, and every grant on them. */
export class InstanceRole extends Construct {
  /** `aws_iam_role.compute_instance` (always present: roles cost nothing, grants need it). */
  public readonly role: IamRole;
  /** `aws_iam_instance_profile.compute_instance`. */
  public readonly instanceProfile: IamInstanceProfile;
  /** `aws_iam_role.compute_container`. */
  public readonly containerRole: IamRole;
  /** Every grant on the roles, in the order the instance depends on them. */
  public readonly grants: readonly Grant[];

  public constructor(scope: Construct, id: string, props: InstanceRoleProps) {
    super(scope, id);
    this.role = serviceRole(this, "Instance", {
      service: "ec2",
      sid: "Ec2AssumesTheInstanceRole",
      name: `${props.namePrefix}-instance`,
      description: "GPU training instances: read training data, write runs, pull images, Session Manager, logs and metrics, own token, shut itself down.",
      trustAddress: ["compute", "instance_trust"],
      roleAddress: ["compute", "instance"],
    });
    this.instanceProfile = address(
      new IamInstanceProfile(this, "InstanceProfile", { name: this.role.name, role: this.role.name }),
      "compute",
      "instance",
    );
    this.containerRole = this.createContainerRole(props.namePrefix);
    const { storage } = props;
    this.grants = [
      storage.grantReadData(this.role),
      storage.grantWriteRuns(this.role, { runIds: props.runIds }),
      props.registry.grantPull(this.role),
      ...this.grantInstancePermissions(props),
      grantToRole(this, this.role, "assume_container_role", [
        {
          sid: "AssumeTheContainerRoleForARun",
          effect: "Allow",
          actions: [...CONTAINER_ROLE_ASSUME_ACTIONS],
          resources: [this.containerRole.arn],
        },
      ]),
      storage.grantReadData(this.containerRole),
      storage.grantWriteOwnRun(this.containerRole),
      grantToRole(this, this.role, "read_runtime", [
        {
          sid: "ReadTheRuntimeBundle",
          effect: "Allow",
          actions: ["s3:GetObject"],
          resources: [`${storage.outputsBucket.arn}/${props.runtimeBundleKey}`],
        },
      ]),
    ];
  }

  /** The container role: trusted by the instance role only, for a session tagged with a run id. */
  private createContainerRole(namePrefix: string): IamRole {
    const trust = address(
      new DataAwsIamPolicyDocument(this, "ContainerTrust", {
        statement: [
          {
            sid: "TheInstanceRoleAssumesItForOneRun",
            effect: "Allow",
            actions: [...CONTAINER_ROLE_ASSUME_ACTIONS],
            principals: [{ type: "AWS", identifiers: [this.role.arn] }],
            condition: [
              // The session must carry RunId (its grants are scoped by it) and no other tag.
              { test: "StringLike", variable: "aws:RequestTag/RunId", values: ["?*"] },
              { test: "ForAllValues:StringEquals", variable: "aws:TagKeys", values: ["RunId"] },
            ],
          },
        ],
      }),
      "compute",
      "container_trust",
    );
    return address(
      new IamRole(this, "ContainerRole", {
        name: `${namePrefix}-container`,
        description: "GPU training containers: read training data, write their own run's prefix (session tag RunId). Assumed by the runtime.",
        assumeRolePolicy: trust.json,
        // Role chaining (instance role -> this role) caps sessions at one hour; the runtime refreshes them.
        maxSessionDuration: 3600,
      }),
      "compute",
      "container",
    );
  }

  /** Session Manager, logs and metrics, the token, and shutting itself down. */
  private grantInstancePermissions(props: InstanceRoleProps): Grant[] {
    const context = AwsContext.of(this);
    const instances = context.formatArn({ service: "ec2", resource: "instance/*" });
    return [
      grantToRole(this, this.role, "session_manager", [
        // Registration of this account's instances with Systems Manager (the agent's heartbeat).
        { sid: "RegisterWithSystemsManager", effect: "Allow", actions: [...SSM_REGISTER_ACTIONS], resources: [instances] },
        // "*": ssmmessages has no resource type; the channels only serve sessions a user with ssm:StartSession opens.
        { sid: "SessionManagerChannels", effect: "Allow", actions: [...SSM_SESSION_CHANNEL_ACTIONS], resources: ["*"] },
      ]),
      grantToRole(this, this.role, "logs_and_metrics", [
        {
          sid: "WriteOwnLogGroup",
          effect: "Allow",
          actions: [...LOG_WRITE_ACTIONS],
          resources: [props.logGroupArn, `${props.logGroupArn}:*`],
        },
        // "*": PutMetricData has no resource type; the condition limits it to this environment's namespace.
        {
          sid: "PutMetricsInOwnNamespace",
          effect: "Allow",
          actions: [...METRIC_WRITE_ACTIONS],
          resources: ["*"],
          condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [props.metricsNamespace] }],
        },
        // "*": EC2 Describe* calls take no resource ARN (the CloudWatch agent reads its auto-scaling group tag).
        { sid: "ReadInstanceTags", effect: "Allow", actions: [...TAG_READ_ACTIONS], resources: ["*"] },
      ]),
      grantToRole(this, this.role, "read_hf_token", [
        { sid: "ReadOwnHuggingFaceToken", effect: "Allow", actions: [...SECRET_READ_ACTIONS], resources: [props.hfTokenSecretArn] },
      ]),
      grantToRole(this, this.role, "self_shutdown", [
        {
          sid: "TerminateOrStopOnlyItself",
          effect: "Allow",
          actions: [...SELF_SHUTDOWN_ACTIONS],
          resources: [instances],
          condition: [
            // The caller's instance (ec2:SourceInstanceARN, set for instance-profile credentials) must be the target
            // (ec2:InstanceId of the instance acted on, as a policy variable; "&{" is aws_iam_policy_document's
            // escape for "${"). The same pattern as AWS's managed AWSEC2VssSnapshotPolicy.
            {
              test: "ArnLike",
              variable: "ec2:SourceInstanceARN",
              values: [context.formatArn({ service: "ec2", resource: "instance/&{ec2:InstanceId}" })],
            },
            // And the target must carry this environment's tags (defense in depth: the role never tags anything).
            { test: "StringEquals", variable: "aws:ResourceTag/Project", values: [props.project] },
            { test: "StringEquals", variable: "aws:ResourceTag/Environment", values: [props.environment] },
          ],
        },
      ]),
    ];
  }
}
