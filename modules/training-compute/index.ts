/**
 * training-compute: the single GPU training instance of an environment, switched by Terraform variables on the
 * synthesized output (`terraform apply -var create_instance=true`), and the launch configuration it shares with the
 * spot fleet ({@link LaunchSpec}).
 *
 * What exists with `create_instance = false` (the default; nothing here bills while idle except the $0.40/month
 * secret): the instance role and profile with their grants, the security group (and SSH rules), the network (default
 * VPC lookups, or the dedicated VPC), the log group `/gpu-training/<env>`, the empty Hugging Face token secret.
 * With `create_instance = true`, also (count 1): the instance `aws_instance.compute_training`, its run id
 * `terraform_data.compute_run_id`, its replacement trigger `terraform_data.compute_launch_settings`, and the optional
 * Elastic IP `aws_eip.compute_training`.
 *
 * **Instance.** The latest GPU Deep Learning AMI (see `ami.ts`), IMDSv2 only (hop limit 1, instance tags readable),
 * a gp3 encrypted root volume (`var.root_volume_size_gb`), explicit monitoring, a public IPv4 address (no NAT),
 * `instance_initiated_shutdown_behavior = "terminate"` (an OS shutdown never leaves a stopped instance behind), spot
 * market options only when `var.use_spot` (a `dynamic` block: cdktf 0.21 silently drops a conditional single nested
 * block set through its typed API), tags `Name`, `RunId`, `MaxRuntimeHours` (read by the safety guard) and `AutoShutdown`.
 *
 * **Drift.** `lifecycle.ignore_changes = [ami, subnet_id]`: a new DLAMI release changes the SSM parameter, and AWS
 * offering the type in another zone may change the chosen subnet, but neither replaces a running instance; the next
 * instance (after `create_instance=false`, a replacement, or `terraform apply -replace=...`) uses them. `user_data_replace_on_change = true`: user data only runs at first boot, so a changed runtime, image tag or
 * setting needs a new instance (it resumes the same run). `replace_triggered_by` the instance type and the spot
 * settings: EC2 can only change the type of a stopped instance, which a one-time spot instance cannot be, and never
 * the market of an instance (the provider plans `use_spot=false` as an in-place update that changes nothing:
 * hashicorp/terraform-provider-aws#38141); a new instance resumes the run.
 *
 * **Run id.** `terraform_data.compute_run_id` holds `run-<UTC timestamp>`, generated when the instance is created and
 * ignored afterwards (`ignore_changes = [input]`): it survives every apply while `create_instance` stays true,
 * including the replacement of a spot-reclaimed instance (which resumes from the run's last checkpoint), and is new
 * after `create_instance=false` then `true`. `var.run_id` overrides it (resume or name a run).
 */
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { Fn, TerraformCount, TerraformLocal, Token, propertyAccess } from "cdktf";
import { Construct } from "constructs";
import { AwsContext } from "../../src/aws-context";
import { GtiError } from "../../src/errors";
import { address } from "../../src/naming";
import type { OutputSpec } from "../../src/outputs";
import { attributeAt, oneOf, resourceAddress } from "../../src/references";
import { TerraformData } from "../../src/terraform-data";
import { computeOutputs } from "./compute-outputs";
import { type LaunchSpecProps, LaunchSpec } from "./launch-spec";
import type { LaunchUserData } from "./runtime-install";
import { GENERATED_RUN_ID, INSTANCE_TAGS, runIdOrGenerated } from "./contract";
import { DEFAULT_SPOT_SETTINGS, type SpotSettings, stopWithoutPersistentRequest } from "./spot";

export * from "./ami";
export * from "./compute-outputs";
export * from "./contract";
export * from "./instance-role";
export * from "./instance-settings";
export * from "./launch-spec";
export * from "./network";
export * from "./perms";
export * from "./runtime-install";
export * from "./security-group";
export * from "./spot";
export * from "./user-data";

/** The runtime mode of the single instance (`GTI_MODE`). */
export const SINGLE_MODE = "single";


export interface TrainingComputeProps extends Omit<LaunchSpecProps, "instanceCount" | "runIds"> {
  /** Spot request settings, used when `var.use_spot` is true. @default one-time, terminate on interruption */
  readonly spot?: SpotSettings;
  /** Attach an Elastic IP (same count as the instance: released with it). @default false */
  readonly elasticIp?: boolean;
}


/**
 * The environment's single GPU training instance and its launch configuration.
 *
 * @example
 * const variables = new TrainingVariables(this, "Variables", { defaults: config.compute });
 * const compute = new TrainingCompute(this, "Compute", {
 *   namePrefix: "gpu-training-infra-dev", project: "gpu-training-infra", environment: "dev",
 *   storage, registry, variables: variables.tokens,
 * });
 * compute.instance;    // aws_instance.compute_training (count = var.create_instance ? 1 : 0)
 * compute.launchSpec;  // what the spot fleet builds its launch template from
 */
export class TrainingCompute extends Construct {
  /** The Terraform outputs this module offers; the stack declares them (`addOutputs`, src/outputs.ts). */
  public readonly outputs: readonly OutputSpec[];
  /** The shared launch configuration. */
  public readonly launchSpec: LaunchSpec;
  /** `var.create_instance ? 1 : 0`, on everything that exists only with the instance. */
  public readonly count: TerraformCount;
  /** `aws_instance.compute_training` (counted: reference it through {@link instanceIdExpression}, never `.id`). */
  public readonly instance: Instance;
  /** `terraform_data.compute_run_id`: the generated run id, stable for the instance's lifetime. */
  public readonly runIdData: TerraformData;
  /**
   * `terraform_data.compute_launch_settings`: replaces the instance when `var.instance_type`, `var.use_spot` or (on
   * spot) `var.spot_max_price` changes.
   */
  public readonly launchSettingsTrigger: TerraformData;
  /** `local.compute_run_id`: `var.run_id`, else the generated id ("" without an instance). A token. */
  public readonly runId: string;
  /** `aws_eip.compute_training` (counted), when `elasticIp`. */
  public readonly elasticIp: Eip | undefined;
  /** The single instance's user data (mode `single`). */
  public readonly userData: LaunchUserData;
  /** `one(aws_instance.compute_training[*].id)`: the instance id, or null without an instance (a token). */
  public readonly instanceIdExpression: string;
  /** The public IPv4 address (the Elastic IP's when there is one), or null without an instance (a token). */
  public readonly publicIpExpression: string;
  /** The spot settings in force. */
  public readonly spot: Required<SpotSettings>;

  /** The instance id at `index` of {@link count} (e.g. `count.index` in a resource sharing it). A token. */
  public instanceIdAt(index: number): string {
    return attributeAt(this.instance, index, "id");
  }

  /** The CloudWatch namespace the instances' agent and runtime write. */
  public get metricsNamespace(): string {
    return this.launchSpec.metricsNamespace;
  }

  /** The training log group. */
  public get logGroupName(): string {
    return this.launchSpec.logGroupName;
  }

  /** Minutes without a new step before a run counts as stalled. */
  public get stallMinutes(): number {
    return this.launchSpec.stallMinutes;
  }

  /** The spot request type of the single instance. */
  public get spotRequestType(): "one-time" | "persistent" {
    return this.spot.requestType;
  }

  public constructor(scope: Construct, id: string, props: TrainingComputeProps) {
    super(scope, id);
    const v = props.variables;
    // Variable references as tokens; inside a "${...}" expression cdktf writes them bare (var.use_spot).
    const useSpot = Token.asString(v.useSpot);
    const spotMaxPrice = v.spotMaxPrice;
    this.spot = { ...DEFAULT_SPOT_SETTINGS, ...props.spot };
    if (stopWithoutPersistentRequest(this.spot)) {
      throw new GtiError(
        `Spot interruption behavior "stop" needs a persistent request (AWS rejects it for one-time requests; requestType is "${this.spot.requestType}"). ` +
          'Fix: set compute.spot.requestType = "persistent", or interruptionBehavior = "terminate".',
      );
    }

    // "count": "${var.create_instance ? 1 : 0}" (a count from a variable needs Token.asNumber around the conditional).
    this.count = TerraformCount.of(Token.asNumber(Fn.conditional(v.createInstance, 1, 0)));
    const name = `${props.namePrefix}-gpu`;

    this.runIdData = address(
      new TerraformData(this, "RunId", {
        count: this.count,
        // run-20250131-143005 (UTC), generated at the first apply, then frozen by ignore_changes.
        input: GENERATED_RUN_ID,
        lifecycle: { ignoreChanges: ["input"] },
      }),
      "compute",
      "run_id",
    );
    this.runId = address(
      new TerraformLocal(
        this,
        "RunIdLocal",
        runIdOrGenerated(v.runId, Token.asString(Fn.join("", Token.asList(propertyAccess(this.runIdData, ["*", "output"]))))),
      ),
      "compute",
      "run_id",
    ).asString;
    // The instance role writes this instance's run only (a fleet grants its own runs on the shared role).
    this.launchSpec = new LaunchSpec(this, "LaunchSpec", { ...props, instanceCount: this.count, runIds: [this.runId] });
    const spec = this.launchSpec;
    this.launchSettingsTrigger = address(
      new TerraformData(this, "LaunchSettingsTrigger", {
        count: this.count,
        input: {
          instance_type: v.instanceType,
          use_spot: v.useSpot,
          // The price only matters on spot: changing it for an on-demand instance replaces nothing.
          spot_max_price: `\${${useSpot} ? ${spotMaxPrice} : ""}`,
        },
      }),
      "compute",
      "launch_settings",
    );

    this.userData = spec.userData({ mode: SINGLE_MODE, runId: this.runId });
    const subnetCheck = spec.network.instanceSubnetCheck;

    this.instance = address(
      new Instance(this, "Instance", {
        count: this.count,
        ami: spec.amiId,
        instanceType: v.instanceType,
        subnetId: spec.network.instanceSubnetId,
        vpcSecurityGroupIds: [spec.securityGroup.id],
        // No NAT gateway: the instance reaches S3, ECR and the internet through its public address.
        associatePublicIpAddress: true,
        iamInstanceProfile: spec.instanceProfile.name,
        keyName: spec.keyName,
        monitoring: spec.detailedMonitoring,
        // An OS-level shutdown (the runtime's fallback when the API call fails) terminates: no stopped instance left.
        instanceInitiatedShutdownBehavior: "terminate",
        metadataOptions: { ...spec.metadataOptions },
        rootBlockDevice: {
          volumeType: spec.rootVolume.volumeType,
          volumeSize: spec.rootVolume.volumeSize,
          encrypted: spec.rootVolume.encrypted,
          kmsKeyId: spec.rootVolume.kmsKeyId,
          deleteOnTermination: spec.rootVolume.deleteOnTermination,
          tags: { Name: `${name}-root`, [INSTANCE_TAGS.runId]: this.runId },
        },
        userDataBase64: this.userData.base64Gzip,
        userDataReplaceOnChange: true,
        tags: spec.instanceTags(name, this.runId),
        // The grants exist before the first boot (IAM is eventually consistent; the runtime's first calls need them).
        dependsOn: spec.grants.map((grant) => grant.policy),
        lifecycle: {
          // ami: a new DLAMI release must not replace a training instance (the next instance boots it).
          // subnet_id: the chosen zone moves when AWS adds the type to an earlier-named zone; same reason.
          ignoreChanges: ["ami", "subnet_id"],
          // cdktf renders a resource here as "${...}", which Terraform's JSON syntax rejects: src/references.ts.
          replaceTriggeredBy: [resourceAddress(this.launchSettingsTrigger)],
          precondition: [{ condition: `\${${subnetCheck.condition}}`, errorMessage: subnetCheck.errorMessage }],
        },
      }),
      "compute",
      "training",
    );
    // cdktf 0.21 silently drops a conditional instance_market_options (typed API), so the dynamic block is
    // written into the JSON directly: present (spot) when var.use_spot, absent (on demand) otherwise.
    this.instance.addOverride("dynamic.instance_market_options", {
      for_each: `\${${useSpot} ? [1] : []}`,
      content: {
        market_type: "spot",
        spot_options: {
          spot_instance_type: this.spot.requestType,
          instance_interruption_behavior: this.spot.interruptionBehavior,
          // null (no cap but the on-demand price) when the variable is empty.
          max_price: `\${${spotMaxPrice} == "" ? null : ${spotMaxPrice}}`,
        },
      },
    });

    this.instanceIdExpression = oneOf(this.instance, "id");
    if (props.elasticIp) {
      this.elasticIp = address(
        new Eip(this, "ElasticIp", {
          count: this.count,
          domain: "vpc",
          instance: this.instanceIdAt(this.count.index),
          tags: { Name: name },
          dependsOn: spec.network.internetGateway ? [spec.network.internetGateway] : undefined,
        }),
        "compute",
        "training",
      );
    }
    this.publicIpExpression = oneOf(this.elasticIp ?? this.instance, "public_ip");

    this.outputs = computeOutputs({
      instance: this.instance,
      elasticIp: this.elasticIp,
      role: this.launchSpec.role,
      hfTokenSecret: this.launchSpec.hfTokenSecret,
      keyName: this.launchSpec.keyName,
      sshFromCidrs: (props.ssh?.allowedCidrs ?? []).length > 0,
      region: AwsContext.of(this).region,
    });
  }
}
