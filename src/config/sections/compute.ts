/**
 * Settings of the training-compute module (the single GPU instance) and of what it shares with fleet mode (AMI,
 * network, spot, runtime). The `compute.*` values marked "Terraform variable default" only seed the defaults of the
 * synthesized variables; ops teams override them at apply time without re-synthesizing.
 */
import { z } from "zod";
import { parseCidr } from "../../rules";
import {
  IMAGE_TAG_PATTERN,
  MAX_RUNTIME_HOURS_RANGE,
  ROOT_VOLUME_SIZE_GB_RANGE,
  SPOT_MAX_PRICE_PATTERN,
} from "../../variable-rules";
import { RUNTIME_TIMINGS, minimumDrainSeconds } from "../../../modules/training-compute/contract";
import {
  DEFAULT_SPOT_SETTINGS,
  SPOT_INTERRUPTION_BEHAVIORS,
  SPOT_REQUEST_TYPES,
  stopWithoutPersistentRequest,
} from "../../../modules/training-compute/spot";
import { cidr, gpuInstanceType, intInRange, kmsKeyArn, rule } from "./common";

/** Defined with the Terraform variables and the runtime contract that enforce them; re-exported for the schema. */
export { IMAGE_TAG_PATTERN, MAX_RUNTIME_HOURS_RANGE, ROOT_VOLUME_SIZE_GB_RANGE, RUNTIME_TIMINGS, SPOT_MAX_PRICE_PATTERN, minimumDrainSeconds };

const spotMaxPrice = z
  .string()
  .regex(new RegExp(SPOT_MAX_PRICE_PATTERN), {
    error: rule(
      "must be empty (capped at the on-demand price) or a price in USD per hour",
      `write it as a string such as "0.50", or "" for the on-demand cap`,
    ),
  })
  .refine((value) => value === "" || !/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) > 0, {
    error: rule("a spot price cap of 0 can never be met (AWS rejects it)", `set a price above 0 such as "0.50", or "" for the on-demand cap`),
  });

export const spotSchema = z
  .strictObject({
    /** Spot request type. `persistent` re-requests capacity after an interruption. @default "one-time" */
    requestType: z.enum(SPOT_REQUEST_TYPES).default(DEFAULT_SPOT_SETTINGS.requestType),
    /** What AWS does on interruption. `stop` needs a persistent request. @default "terminate" */
    interruptionBehavior: z.enum(SPOT_INTERRUPTION_BEHAVIORS).default(DEFAULT_SPOT_SETTINGS.interruptionBehavior),
  })
  .superRefine((value, ctx) => {
    if (stopWithoutPersistentRequest(value)) {
      ctx.addIssue({
        code: "custom",
        path: ["interruptionBehavior"],
        message: rule(
          `"stop" needs a persistent spot request (AWS rejects it for one-time requests; requestType is "${value.requestType}")`,
          `set compute.spot.requestType = "persistent", or use interruptionBehavior "terminate"`,
        ),
      });
    }
  });

export const networkSchema = z.strictObject({
  /**
   * `default-vpc` uses the account's default VPC and its subnets; `dedicated` creates a VPC with public subnets in
   * several AZs and an internet gateway (never a NAT gateway: nothing billed while idle).
   * @default "default-vpc"
   */
  mode: z.enum(["default-vpc", "dedicated"]).default("default-vpc"),
  /** CIDR of the dedicated VPC (mode "dedicated" only), /16 to /24. @default "10.42.0.0/16" */
  vpcCidr: cidr({ internet: "reject", ipv6: false })
    .refine((value) => {
      // A malformed CIDR is reported once, by cidr(), not a second time for its prefix.
      const parsed = parseCidr(value);
      return !parsed || (parsed.prefix >= 16 && parsed.prefix <= 24);
    }, { error: rule("a VPC CIDR must be between /16 and /24", `use e.g. "10.42.0.0/16"`) })
    .default("10.42.0.0/16"),
  /** Number of availability zones (public subnets) of the dedicated VPC. @default 2 */
  availabilityZoneCount: intInRange(2, 6, "availability zones").default(2),
});

export const sshSchema = z
  .strictObject({
    /** Name of an existing EC2 key pair. @default none: no SSH, use SSM Session Manager */
    keyPairName: z.string().min(1).max(255).optional(),
    /** CIDRs allowed to reach port 22; 0.0.0.0/0 and ::/0 are rejected. @default [] */
    allowedCidrs: z.array(cidr({ internet: "reject", ipv6: true })).default([]),
  })
  .superRefine((value, ctx) => {
    if (value.allowedCidrs.length > 0 && !value.keyPairName) {
      ctx.addIssue({
        code: "custom",
        path: ["allowedCidrs"],
        message: rule(
          "SSH ingress without a key pair opens a port nobody can log in through",
          "set compute.ssh.keyPairName, or remove allowedCidrs and use SSM Session Manager",
        ),
      });
    }
  });

export const computeSchema = z.strictObject({
  /** Terraform variable default of `create_instance`. @default false: no instance until asked */
  createInstance: z.boolean().default(false),
  /** Terraform variable default of `instance_type`. @default "g5.xlarge" (A10G 24 GB) */
  instanceType: gpuInstanceType.default("g5.xlarge"),
  /** Terraform variable default of `use_spot`. @default true */
  useSpot: z.boolean().default(true),
  /** Terraform variable default of `auto_shutdown`: the instance terminates itself when training ends. @default true */
  autoShutdown: z.boolean().default(true),
  /** Terraform variable default of `max_runtime_hours` (enforced by the safety module). @default 12 */
  maxRuntimeHours: intInRange(MAX_RUNTIME_HOURS_RANGE.min, MAX_RUNTIME_HOURS_RANGE.max, "hours").default(12),
  /** Terraform variable default of `spot_max_price`; "" caps at the on-demand price. @default "" */
  spotMaxPrice: spotMaxPrice.default(""),
  /** Terraform variable default of `root_volume_size_gb`. @default 200 */
  rootVolumeSizeGb: intInRange(ROOT_VOLUME_SIZE_GB_RANGE.min, ROOT_VOLUME_SIZE_GB_RANGE.max, "GiB").default(200),
  /** Terraform variable default of `training_image_tag`. @default "latest" */
  trainingImageTag: z
    .string()
    .regex(new RegExp(IMAGE_TAG_PATTERN), {
      error: rule("not a valid image tag", `use up to 128 letters, digits, "_", "." and "-" (e.g. "latest" or a git SHA)`),
    })
    .default("latest"),
  /** AMI selection. @default the latest GPU Deep Learning AMI for Ubuntu 24.04, from its public SSM parameter */
  ami: z
    .strictObject({
      /** Ubuntu release of the Deep Learning AMI. @default "ubuntu-24.04" */
      os: z.enum(["ubuntu-24.04", "ubuntu-22.04"]).default("ubuntu-24.04"),
      /** An explicit (custom) AMI id; overrides `os`. @default none: resolve the DLAMI through SSM */
      id: z
        .string()
        .regex(/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, { error: rule("not an AMI id", `use "ami-" followed by 8 or 17 hex digits`) })
        .optional(),
    })
    .prefault({}),
  /** Spot request settings. @default one-time request, terminate on interruption */
  spot: spotSchema.prefault({}),
  /** KMS key for the root volume. @default the account's default EBS key (aws/ebs) */
  rootVolumeKmsKeyArn: kmsKeyArn.optional(),
  /** CloudWatch detailed (1-minute) monitoring; billed per metric. @default false */
  detailedMonitoring: z.boolean().default(false),
  /** Network placement. @default the default VPC */
  network: networkSchema.prefault({}),
  /** Optional SSH access. @default off (SSM Session Manager only) */
  ssh: sshSchema.prefault({}),
  /** Attach an Elastic IP to the instance (billed while allocated). @default false */
  elasticIp: z.boolean().default(false),
  /** Minutes between checkpoint syncs to S3 while training. @default 15 */
  checkpointIntervalMinutes: intInRange(1, 1440, "minutes").default(15),
  /** Seconds the training container gets after SIGTERM on a spot notice, inside AWS's 2-minute window. @default 30 */
  spotGraceSeconds: intInRange(5, 90, "seconds").default(30),
}).superRefine((value, ctx) => {
  // AWS re-opens a persistent spot request whose instance is terminated: an instance terminating itself when its run
  // ended (auto-shutdown) would be replaced by another, which finds the run ended and terminates too, and so on.
  if (value.spot.requestType === "persistent" && value.autoShutdown) {
    ctx.addIssue({
      code: "custom",
      path: ["spot", "requestType"],
      message: rule(
        "a persistent spot request launches a new instance every time the runtime terminates its instance at the end of a run (autoShutdown), a billed loop",
        `set compute.autoShutdown = false with a persistent request (stop or terminate the instance yourself), or use requestType "one-time"`,
      ),
    });
  }
});
