/**
 * One stack per environment, named exactly after it (`cdktf deploy training` deploys `training`): the AWS provider
 * for the env's region with default tags and the optional account guard, the S3 remote-state backend with native
 * S3 locking, and the training modules.
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Backend, type TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { TrainingCompute, instanceMetadataTagKeyProblems } from "../modules/training-compute";
import { TrainingFleet } from "../modules/training-fleet";
import { TrainingRegistry } from "../modules/training-registry";
import { TrainingSafety } from "../modules/training-safety";
import { TrainingStorage } from "../modules/training-storage";
import { placeholdersOf } from "../src/config/placeholders";
import type { EnvironmentConfig } from "../src/config/schema";
import { GtiError } from "../src/errors";
import { FleetVariables } from "../src/fleet-variables";
import { addPlaceholderGuard } from "./placeholder-guard";
import { applyPolicy } from "../src/policy";
import { addOutputs } from "../src/outputs";
import { REQUIRED_TERRAFORM_VERSION, stateKey } from "../src/state";
import type { TerraformData } from "../src/terraform-data";
import { TrainingVariables } from "../src/variables";
import { defaultTags } from "./tags";

export interface TrainingEnvironmentStackProps {
  /** The validated environment (from `loadEnvironments`). */
  readonly config: EnvironmentConfig;
}

export class TrainingEnvironmentStack extends TerraformStack {
  /** The environment this stack deploys. */
  public readonly config: EnvironmentConfig;
  /** The AWS provider (region, default tags, account guard). */
  public readonly provider: AwsProvider;
  /** The S3 remote-state backend. */
  public readonly backend: S3Backend;
  /** training-storage: the data and outputs buckets. */
  public readonly storage: TrainingStorage;
  /** training-registry: the ECR repository and the GitHub Actions OIDC role. */
  public readonly registry: TrainingRegistry;
  /** The Terraform variables ops teams flip at apply time (`create_instance`, `use_spot`, ...). */
  public readonly variables: TrainingVariables;
  /** training-compute: the single GPU instance and the launch configuration the fleet shares. */
  public readonly compute: TrainingCompute;
  /** `desired_instances` and `on_demand_base_capacity`; only in envs with `fleet.enabled`. */
  public readonly fleetVariables: FleetVariables | undefined;
  /** training-fleet: the spot fleet (auto-scaling group); only in envs with `fleet.enabled`. */
  public readonly fleet: TrainingFleet | undefined;
  /** training-safety: runtime guard, alerts topic, idle-GPU and guard alarms, budget, dashboard. */
  public readonly safety: TrainingSafety;
  /**
   * `terraform_data.placeholder_guard`: refuses plan and apply outside AWS's example account while the env still
   * holds example values (src/config/placeholders.ts); undefined when it holds none.
   */
  public readonly placeholderGuard: TerraformData | undefined;
  /** The Terraform outputs (the env's Terraform interface), declared here from what the modules offer. */
  public readonly outputs: readonly TerraformOutput[];

  public constructor(scope: Construct, props: TrainingEnvironmentStackProps) {
    const { config } = props;
    super(scope, config.name);
    this.config = config;
    // Security and cost rule packs: a violation fails synth (docs/policy.md).
    applyPolicy(this);

    this.addOverride("terraform.required_version", REQUIRED_TERRAFORM_VERSION);

    this.provider = new AwsProvider(this, "aws", {
      region: config.region,
      allowedAccountIds: config.allowedAccountIds.length > 0 ? [...config.allowedAccountIds] : undefined,
      defaultTags: [{ tags: defaultTags(config) }],
    });

    this.backend = new S3Backend(this, {
      bucket: config.state.bucket,
      key: stateKey(config.name),
      region: config.state.region,
      encrypt: true,
    });
    // Native S3 state locking (Terraform >= 1.10): no DynamoDB lock table to create, pay for or forget.
    // cdktf 0.21's S3BackendConfig has no `useLockfile` field, so it is added to the JSON directly.
    this.backend.addOverride("use_lockfile", true);

    const namePrefix = `${config.project}-${config.name}`;
    this.storage = new TrainingStorage(this, "Storage", {
      namePrefix,
      dataBucketName: config.storage.dataBucketName,
      outputsBucketName: config.storage.outputsBucketName,
      kmsKeyArn: config.storage.kmsKeyArn,
      accessLogging: config.storage.accessLogging,
      lifecycle: config.storage.lifecycle,
    });
    this.registry = new TrainingRegistry(this, "Registry", {
      namePrefix,
      repositoryName: config.registry.repositoryName,
      kmsKeyArn: config.registry.kmsKeyArn,
      keepTaggedImages: config.registry.keepTaggedImages,
      keepUntaggedImages: config.registry.keepUntaggedImages,
      github: {
        repositories: config.registry.github.repositories,
        oidcProviderArn: config.registry.github.oidcProviderArn,
        allowWildcards: config.registry.github.allowWildcards,
      },
    });

    // The instance reads its tags from instance metadata (the run id), which restricts the keys of every tag it
    // carries, the provider's default tags (and so the env's extra tags) included.
    const tagProblems = instanceMetadataTagKeyProblems(Object.keys(defaultTags(config)));
    if (tagProblems.length > 0) {
      throw new GtiError(
        `Invalid tags for environment "${config.name}": ${tagProblems.join("; ")}. ` +
          "Fix: rename the keys in tags of envs/" + config.name + ".ts (e.g. cost-center instead of \"cost center\").",
      );
    }
    this.variables = new TrainingVariables(this, "Variables", { defaults: config.compute });
    const { compute } = config;
    this.compute = new TrainingCompute(this, "Compute", {
      namePrefix,
      project: config.project,
      environment: config.name,
      storage: this.storage,
      registry: this.registry,
      variables: this.variables.tokens,
      ami: compute.ami,
      spot: compute.spot,
      rootVolumeKmsKeyArn: compute.rootVolumeKmsKeyArn,
      detailedMonitoring: compute.detailedMonitoring,
      network: compute.network,
      ssh: compute.ssh,
      elasticIp: compute.elasticIp,
      checkpointIntervalMinutes: compute.checkpointIntervalMinutes,
      spotGraceSeconds: compute.spotGraceSeconds,
      stallMinutes: config.safety.stalledRun.minutes,
      logRetentionDays: config.safety.logRetentionDays,
    });

    // Spot fleet mode: only where the env enables it (no fleet resources, variables or outputs otherwise).
    const { fleet } = config;
    if (fleet.enabled) {
      this.fleetVariables = new FleetVariables(this, "FleetVariables", {
        maxInstances: fleet.maxInstances,
        environment: config.name,
        desiredInstances: fleet.desiredInstances,
        onDemandBaseCapacity: fleet.onDemandBaseCapacity,
      });
      this.fleet = new TrainingFleet(this, "Fleet", {
        namePrefix,
        launchSpec: this.compute.launchSpec,
        variables: this.variables.tokens,
        fleetVariables: this.fleetVariables.tokens,
        tags: defaultTags(config),
        instanceTypes: fleet.instanceTypes,
        mode: fleet.mode,
        placementGroup: fleet.placementGroup,
        subnetIds: fleet.subnetIds,
        masterPort: fleet.masterPort,
        rendezvousTimeoutSeconds: fleet.rendezvousTimeoutSeconds,
        drainTimeoutSeconds: fleet.drainTimeoutSeconds,
      });
    } else {
      this.fleetVariables = undefined;
      this.fleet = undefined;
    }

    // Last: the safety nets watch what the modules above create.
    const { safety } = config;
    this.safety = new TrainingSafety(this, "Safety", {
      namePrefix,
      project: config.project,
      environment: config.name,
      instances: this.compute,
      autoShutdown: this.variables.autoShutdown.booleanValue,
      useSpot: this.variables.useSpot.booleanValue,
      ...(this.fleet ? { fleet: this.fleet } : {}),
      alertEmails: safety.alertEmails,
      monthlyBudgetUsd: safety.monthlyBudgetUsd,
      kmsKeyArn: safety.kmsKeyArn,
      guard: safety.guard,
      idleGpu: safety.idleGpu,
      stalledRun: { enabled: safety.stalledRun.enabled, action: safety.stalledRun.action ?? safety.idleGpu.action },
      logRetentionDays: safety.logRetentionDays,
    });

    // The Terraform interface: the stack declares every output, from what the modules offer.
    this.outputs = addOutputs(this, [
      ...this.storage.outputs,
      ...this.registry.outputs,
      ...this.compute.outputs,
      ...(this.fleet?.outputs ?? []),
      ...this.safety.outputs,
    ]);

    // Example values left in the env files: synth warns (main.ts), Terraform refuses to deploy them to a real account.
    this.placeholderGuard = addPlaceholderGuard(this, placeholdersOf(config));
  }
}
