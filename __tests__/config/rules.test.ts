import { describe, expect, it } from "vitest";
import { checkEnvironmentSet } from "../../src/config/load";
import { configWith, inputWith, parse } from "../support/envs";
import { configErrorOf } from "../support/config/config-errors";

type Rule = readonly [description: string, overrides: Record<string, unknown>, field: string, rule: RegExp];

const rules: readonly Rule[] = [
  ["unknown region", { region: "us-middle-1" }, "region", /not a region of the standard aws partition/],
  ["unknown state region", { state: { region: "moon-1" } }, "state.region", /not a region/],
  ["empty project name", { project: "" }, "project", /project name is 3-24 lowercase/],
  ["project name with capitals", { project: "GPU_Infra" }, "project", /project name is 3-24 lowercase/],
  ["environment name with symbols", { name: "Dev!" }, "name", /environment name is 1-16 lowercase/],
  ["account id of 4 digits", { allowedAccountIds: ["1234"] }, "allowedAccountIds[0]", /exactly 12 digits/],
  ["empty repository", { repository: "" }, "repository", /must not be empty/],
  ["a repository Terraform would interpolate", { repository: "github.com/acme/${x}" }, "repository", /holds \$\{ or %\{/],
  ["a reserved tag", { tags: { Environment: "x" } }, "tags.Environment", /sets the Environment tag itself/],
  ["state bucket with capitals", { state: { bucket: "My_Bucket" } }, "state.bucket", /only lowercase letters, digits and hyphens/],
  ["state bucket of 2 characters", { state: { bucket: "ab" } }, "state.bucket", /3 to 63 characters/],
  ["state bucket like an IP", { state: { bucket: "192.168.1.1" } }, "state.bucket", /must not look like an IP address/],
  ["state bucket with xn-- prefix", { state: { bucket: "xn--bucket" } }, "state.bucket", /must not start with xn--/],
  ["state bucket with dots", { state: { bucket: "my.state.bucket" } }, "state.bucket", /must not contain dots/],
  ["state bucket starting with a hyphen", { state: { bucket: "-state" } }, "state.bucket", /begin and end with a letter or digit/],
  ["state bucket ending -s3alias", { state: { bucket: "state-s3alias" } }, "state.bucket", /must not end with -s3alias/],
  ["bad data bucket name", { storage: { dataBucketName: "Data" } }, "storage.dataBucketName", /not a valid S3 bucket name/],
  ["bad outputs bucket name", { storage: { outputsBucketName: "o" } }, "storage.outputsBucketName", /3 to 63 characters/],
  ["bad storage KMS key", { storage: { kmsKeyArn: "my-key" } }, "storage.kmsKeyArn", /must be a KMS key or alias ARN/],
  [
    "bad access-log bucket",
    { storage: { accessLogging: { bucket: "Logs!" } } },
    "storage.accessLogging.bucket",
    /not a valid S3 bucket name/,
  ],
  [
    "Glacier before Intelligent-Tiering",
    { storage: { lifecycle: { outputsIntelligentTieringAfterDays: 60, outputsGlacierAfterDays: 30 } } },
    "storage.lifecycle.outputsGlacierAfterDays",
    /must be later than outputsIntelligentTieringAfterDays \(60\)/,
  ],
  [
    "zero-day multipart abort",
    { storage: { lifecycle: { abortIncompleteMultipartUploadDays: 0 } } },
    "storage.lifecycle.abortIncompleteMultipartUploadDays",
    /whole number of days from 1 to 365/,
  ],
  ["ECR name with capitals", { registry: { repositoryName: "Training" } }, "registry.repositoryName", /not a valid ECR repository name/],
  ["keeping zero tagged images", { registry: { keepTaggedImages: 0 } }, "registry.keepTaggedImages", /from 1 to 1000/],
  [
    "malformed owner/repo",
    { registry: { github: { repositories: [{ repository: "not-a-repo" }] } } },
    "registry.github.repositories[0].repository",
    /not a GitHub repository in owner\/repo form/,
  ],
  [
    "a wildcard branch without opting in",
    { registry: { github: { repositories: [{ repository: "acme/train", branches: ["release/*"] }] } } },
    "registry.github.repositories[0].branches[0]",
    /wildcards are off/,
  ],
  [
    "a GitHub repository with no branch and no environment",
    { registry: { github: { repositories: [{ repository: "acme/train", branches: [], environments: [] }] } } },
    "registry.github.repositories[0]",
    /allows no branch and no GitHub environment/,
  ],
  [
    "a storage KMS key in another region",
    { storage: { kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" } },
    "storage.kmsKeyArn",
    /the key is in eu-west-1 but the environment's resources are in us-east-1/,
  ],
  [
    "a registry KMS key in another region",
    { registry: { kmsKeyArn: "arn:aws:kms:us-west-2:123456789012:alias/ecr" } },
    "registry.kmsKeyArn",
    /ECR only uses keys of its own region/,
  ],
  [
    "a foreign OIDC provider ARN",
    { registry: { github: { oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/example.com" } } },
    "registry.github.oidcProviderArn",
    /token\.actions\.githubusercontent\.com OIDC provider/,
  ],
  ["non-GPU instance type", { compute: { instanceType: "t3.micro" } }, "compute.instanceType", /NVIDIA GPU instance type/],
  ["Graviton GPU instance type", { compute: { instanceType: "g5g.xlarge" } }, "compute.instanceType", /G5g is Graviton \(arm64\)/],
  ["a size the family does not have", { compute: { instanceType: "g5.3xlarge" } }, "compute.instanceType", /g5 has no size "3xlarge"/],
  ["a P3 instance type", { compute: { instanceType: "p3.2xlarge" } }, "compute.instanceType", /P3 \(V100\) is no longer supported/],
  ["a fractional-GPU instance type", { compute: { instanceType: "g6f.xlarge" } }, "compute.instanceType", /needs NVIDIA's GRID driver/],
  ["a P3 type in the fleet", { fleet: { instanceTypes: ["p3dn.24xlarge"] } }, "fleet.instanceTypes[0]", /P3dn \(V100\)/],
  ["a tag key starting with aws:", { tags: { "aws:owner": "ml" } }, "tags.aws:owner", /"aws:" prefix is reserved/],
  ["a tag key starting with AWS: in capitals", { tags: { "AWS:Owner": "ml" } }, "tags.AWS:Owner", /"aws:" prefix is reserved/],
  ["a tag key with a space", { tags: { "cost center": "ml" } }, "tags.cost center", /may hold only letters, digits/],
  ["a tag key of 129 characters", { tags: { ["k".repeat(129)]: "v" } }, `tags.${"k".repeat(129)}`, /1 to 128 characters/],
  ["a tag value of 257 characters", { tags: { team: "v".repeat(257) } }, "tags.team", /at most 256 characters/],
  ["a tag value with a forbidden character", { tags: { team: "ml;drop" } }, "tags.team", /may hold only letters, digits, spaces/],
  ["a tag the modules set", { tags: { Name: "x" } }, "tags.Name", /the modules set the Name tag themselves/],
  [
    "42 tags",
    { tags: Object.fromEntries(Array.from({ length: 42 }, (_, i) => [`t${i}`, "v"])) },
    "tags",
    /42 tags, but AWS allows 50 per resource/,
  ],
  ["zero max runtime", { compute: { maxRuntimeHours: 0 } }, "compute.maxRuntimeHours", /from 1 to 168/],
  ["max runtime over a week", { compute: { maxRuntimeHours: 200 } }, "compute.maxRuntimeHours", /from 1 to 168/],
  ["spot price as words", { compute: { spotMaxPrice: "cheap" } }, "compute.spotMaxPrice", /price in USD per hour/],
  ["a spot price cap of 0", { compute: { spotMaxPrice: "0" } }, "compute.spotMaxPrice", /cap of 0 can never be met/],
  ["a spot price cap of 0.00", { compute: { spotMaxPrice: "0.00" } }, "compute.spotMaxPrice", /cap of 0 can never be met/],
  ["a 20 GiB root volume", { compute: { rootVolumeSizeGb: 20 } }, "compute.rootVolumeSizeGb", /from 100 to 16384/],
  ["image tag with spaces", { compute: { trainingImageTag: "my tag" } }, "compute.trainingImageTag", /not a valid image tag/],
  ["malformed AMI id", { compute: { ami: { id: "ami-xyz" } } }, "compute.ami.id", /not an AMI id/],
  ["unsupported Ubuntu", { compute: { ami: { os: "ubuntu-20.04" } } }, "compute.ami.os", /must be one of "ubuntu-24.04", "ubuntu-22.04"/],
  [
    "stop on interruption with a one-time request",
    { compute: { spot: { interruptionBehavior: "stop" } } },
    "compute.spot.interruptionBehavior",
    /"stop" needs a persistent spot request/,
  ],
  [
    "a persistent spot request with auto-shutdown",
    { compute: { autoShutdown: true, spot: { requestType: "persistent", interruptionBehavior: "stop" } } },
    "compute.spot.requestType",
    /launches a new instance every time the runtime terminates its instance/,
  ],
  ["a /8 VPC", { compute: { network: { vpcCidr: "10.0.0.0/8" } } }, "compute.network.vpcCidr", /between \/16 and \/24/],
  ["a VPC CIDR with host bits", { compute: { network: { vpcCidr: "10.0.0.1/16" } } }, "compute.network.vpcCidr", /host bits set/],
  ["bad CIDR", { compute: { network: { vpcCidr: "not-a-cidr" } } }, "compute.network.vpcCidr", /not a valid IPv4 CIDR/],
  [
    "SSH from 0.0.0.0/0",
    { compute: { ssh: { keyPairName: "k", allowedCidrs: ["0.0.0.0/0"] } } },
    "compute.ssh.allowedCidrs[0]",
    /whole internet is not allowed/,
  ],
  [
    "SSH from ::/0",
    { compute: { ssh: { keyPairName: "k", allowedCidrs: ["::/0"] } } },
    "compute.ssh.allowedCidrs[0]",
    /whole internet is not allowed/,
  ],
  [
    "SSH from an impossible address",
    { compute: { ssh: { keyPairName: "k", allowedCidrs: ["300.1.1.1/32"] } } },
    "compute.ssh.allowedCidrs[0]",
    /not a valid IPv4 or IPv6 CIDR/,
  ],
  [
    "SSH CIDRs without a key pair",
    { compute: { ssh: { allowedCidrs: ["203.0.113.0/24"] } } },
    "compute.ssh.allowedCidrs",
    /without a key pair/,
  ],
  ["zero-minute checkpoints", { compute: { checkpointIntervalMinutes: 0 } }, "compute.checkpointIntervalMinutes", /from 1 to 1440/],
  ["a spot grace past the 2-minute window", { compute: { spotGraceSeconds: 120 } }, "compute.spotGraceSeconds", /from 5 to 90/],
  ["wrong type", { compute: { useSpot: "yes" } }, "compute.useSpot", /must be a boolean/],
  ["a misspelt field", { compute: { instnaceType: "g5.xlarge" } }, "compute.instnaceType", /unknown field/],
  ["desired over the maximum", { fleet: { maxInstances: 2, desiredInstances: 3 } }, "fleet.desiredInstances", /must not exceed fleet\.maxInstances \(2\)/],
  [
    "on-demand base over the maximum",
    { fleet: { maxInstances: 2, onDemandBaseCapacity: 3 } },
    "fleet.onDemandBaseCapacity",
    /must not exceed fleet\.maxInstances/,
  ],
  ["a fleet without instance types", { fleet: { instanceTypes: [] } }, "fleet.instanceTypes", /at least one instance type/],
  ["a non-GPU fleet type", { fleet: { instanceTypes: ["t3.large"] } }, "fleet.instanceTypes[0]", /NVIDIA GPU instance type/],
  [
    "a placement group for independent workers",
    { fleet: { placementGroup: true, mode: "independent" } },
    "fleet.placementGroup",
    /only helps multi-node training/,
  ],
  ["a malformed subnet id", { fleet: { subnetIds: ["sub-123"] } }, "fleet.subnetIds[0]", /not a subnet id/],
  ["an empty subnet list", { fleet: { subnetIds: [] } }, "fleet.subnetIds", /leaves the fleet nowhere to launch/],
  ["a fleet type listed twice", { fleet: { instanceTypes: ["g5.xlarge", "g6.xlarge", "g5.xlarge"] } }, "fleet.instanceTypes[2]", /g5\.xlarge is listed twice/],
  [
    "a placement group over every subnet",
    { fleet: { mode: "multi-node", placementGroup: true } },
    "fleet.subnetIds",
    /cluster placement group lives in one availability zone.*none listed/,
  ],
  [
    "a placement group over two subnets",
    { fleet: { mode: "multi-node", placementGroup: true, subnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"] } },
    "fleet.subnetIds",
    /exactly one subnet \(2 listed\)/,
  ],
  ["a drain timeout under AWS's 30 s", { fleet: { drainTimeoutSeconds: 10 } }, "fleet.drainTimeoutSeconds", /from 30 to 7200/],
  ["a rendezvous timeout of 30 s", { fleet: { rendezvousTimeoutSeconds: 30 } }, "fleet.rendezvousTimeoutSeconds", /from 60 to 3600/],
  ["a bad e-mail", { safety: { alertEmails: ["not-an-email"] } }, "safety.alertEmails[0]", /not an e-mail address/],
  ["a zero budget", { safety: { monthlyBudgetUsd: 0 } }, "safety.monthlyBudgetUsd", /budget must be greater than 0/],
  ["a negative budget", { safety: { monthlyBudgetUsd: -5 } }, "safety.monthlyBudgetUsd", /budget must be greater than 0/],
  ["a prose schedule", { safety: { guard: { schedule: "every hour" } } }, "safety.guard.schedule", /must be rate\(<n> <unit>\) or cron/],
  ["a plural rate of 1", { safety: { guard: { schedule: "rate(1 hours)" } } }, "safety.guard.schedule", /rate\(1 hour\), singular/],
  ["a 4-field cron", { safety: { guard: { schedule: "cron(0 * * *)" } } }, "safety.guard.schedule", /has 6 fields/],
  ["a retention CloudWatch refuses", { safety: { logRetentionDays: 10 } }, "safety.logRetentionDays", /not a retention CloudWatch Logs accepts/],
  ["an idle threshold of 0%", { safety: { idleGpu: { thresholdPercent: 0 } } }, "safety.idleGpu.thresholdPercent", /from 1 to 99/],
  ["idle minutes not in whole 5-minute periods", { safety: { idleGpu: { minutes: 42 } } }, "safety.idleGpu.minutes", /must be a multiple of 5/],
  ["idle minutes over a day", { safety: { idleGpu: { minutes: 1445 } } }, "safety.idleGpu.minutes", /from 5 to 1440/],
  [
    "eleven alert e-mails",
    { safety: { alertEmails: Array.from({ length: 11 }, (_, i) => `ops${i}@example.com`) } },
    "safety.alertEmails",
    /at most 10 addresses/,
  ],
  [
    "the same alert e-mail twice",
    { safety: { alertEmails: ["ops@example.com", "Ops@Example.com"] } },
    "safety.alertEmails[1]",
    /"Ops@Example\.com" is listed twice/,
  ],
  ["an alert e-mail Terraform would interpolate", { safety: { alertEmails: ["${ops}@example.com"] } }, "safety.alertEmails[0]", /which Terraform would read as part of an expression/],
  ["an alias as the alerts key", { safety: { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:alias/alerts" } }, "safety.kmsKeyArn", /must be the ARN of a KMS key \(not an alias\)/],
  [
    "an alerts key in another region",
    { safety: { kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" } },
    "safety.kmsKeyArn",
    /the key is in eu-west-1 but the alerts topic is in us-east-1/,
  ],
  ["a reserved concurrency of 0", { safety: { guard: { reservedConcurrency: 0 } } }, "safety.guard.reservedConcurrency", /from 1 to 1000/],
  ["a guard that stops one-time spot instances", { safety: { guard: { action: "stop" } } }, "safety.guard.action", /one-time spot instance .* cannot be stopped/],
  ["an idle alarm that stops one-time spot instances", { safety: { idleGpu: { action: "stop" } } }, "safety.idleGpu.action", /one-time spot instance .* cannot be stopped/],
  ["a stalled-run alarm that stops one-time spot instances", { safety: { stalledRun: { action: "stop" } } }, "safety.stalledRun.action", /one-time spot instance .* cannot be stopped/],
  ["stall minutes under 5", { safety: { stalledRun: { minutes: 4 } } }, "safety.stalledRun.minutes", /from 5 to 1440/],
  ["stall minutes over a day", { safety: { stalledRun: { minutes: 1441 } } }, "safety.stalledRun.minutes", /from 5 to 1440/],
  ["fractional stall minutes", { safety: { stalledRun: { minutes: 7.5 } } }, "safety.stalledRun.minutes", /whole number|integer/],
  ["an unknown stalled-run action", { safety: { stalledRun: { action: "reboot" } } }, "safety.stalledRun.action", /notify|terminate|stop/],
  [
    "a fleet drain shorter than the spot grace and the sync reserve",
    { compute: { spotGraceSeconds: 90 }, fleet: { enabled: true, drainTimeoutSeconds: 30 } },
    "fleet.drainTimeoutSeconds",
    /a draining node needs at least 200 s .*compute\.spotGraceSeconds 90.*INTERRUPTED marker/,
  ],
];

describe("every configuration rule rejects its bad value", () => {
  it.each(rules)("GIVEN %s WHEN parsed THEN the error names the field and the rule", (_description, overrides, field, rule) => {
    const error = configErrorOf(() => parse(inputWith(overrides)));
    const problem = error.problems.find((p) => p.field === field);
    expect(problem, `problems found: ${error.message}`).toBeDefined();
    expect(problem?.rule).toMatch(rule);
    expect(problem?.fix.length).toBeGreaterThan(5);
  });

  it("GIVEN a fleet drain of 30 s with a 90 s grace WHEN parsed THEN the error names env, field, value, rule and the fix", () => {
    const error = configErrorOf(() => parse(inputWith({ compute: { spotGraceSeconds: 90 }, fleet: { enabled: true, drainTimeoutSeconds: 30 } })));
    expect(error.problems.find((p) => p.field === "fleet.drainTimeoutSeconds")).toMatchObject({
      value: 30,
      fix: "set fleet.drainTimeoutSeconds to 200 or more (default 300), or lower compute.spotGraceSeconds",
    });
    expect(error.message).toContain("training");
  });

  it("GIVEN the default grace and drain, or a fleet that is off WHEN parsed THEN the drain rule accepts them", () => {
    expect(configWith({ fleet: { enabled: true } }).fleet.drainTimeoutSeconds).toBe(300);
    expect(configWith({ fleet: { enabled: true, drainTimeoutSeconds: 110 } }).fleet.drainTimeoutSeconds).toBe(110);
    expect(configWith({ fleet: { drainTimeoutSeconds: 30 } }).fleet.drainTimeoutSeconds).toBe(30);
  });

  it("GIVEN a CIDR with host bits WHEN parsed THEN the fix gives the network address", () => {
    const error = configErrorOf(() => parse(inputWith({ compute: { network: { vpcCidr: "10.0.0.1/16" } } })));
    expect(error.problems[0]?.fix).toBe('use the network address "10.0.0.0/16"');
  });

  it("GIVEN the longest project and env names WHEN a bucket name is generated THEN it fits S3's 63 characters", () => {
    const env = configWith({ project: "a-very-long-project-name", name: "abcdefghijklmnop" }, "abcdefghijklmnop");
    expect(`${env.project}-${env.name}-outputs-123456789012`.length).toBeLessThanOrEqual(63);
  });

  it("GIVEN a name that differs from the file WHEN parsed THEN it fails, since the name is the stack name", () => {
    const error = configErrorOf(() => parse(inputWith({ name: "staging" }), "training"));
    expect(error.problems[0]).toMatchObject({ field: "name", value: "staging" });
    expect(error.problems[0]?.fix).toContain('set name: "training"');
  });

  it("GIVEN two envs with different state buckets WHEN checked together THEN the second one is rejected", () => {
    const one = configWith({});
    const two = parse(inputWith({ name: "other", state: { bucket: "another-state-bucket" } }), "other");
    const error = configErrorOf(() => checkEnvironmentSet([one, two]));
    expect(error.env).toBe("other");
    expect(error.problems[0]?.field).toBe("state");
  });

  it("GIVEN wildcards explicitly allowed WHEN parsed THEN a wildcard branch is accepted", () => {
    const env = configWith({
      registry: { github: { allowWildcards: true, repositories: [{ repository: "acme/train", branches: ["release/*"] }] } },
    });
    expect(env.registry.github.repositories[0]?.branches).toEqual(["release/*"]);
  });

  it("GIVEN a GitHub repository allowing only an environment WHEN parsed THEN it is accepted", () => {
    const env = configWith({ registry: { github: { repositories: [{ repository: "acme/train", branches: [], environments: ["release"] }] } } });
    expect(env.registry.github.repositories[0]).toEqual({ repository: "acme/train", branches: [], environments: ["release"] });
  });

  it("GIVEN KMS keys in the environment's region WHEN parsed THEN they are accepted", () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const env = configWith({ storage: { kmsKeyArn: key }, registry: { kmsKeyArn: key } });
    expect([env.storage.kmsKeyArn, env.registry.kmsKeyArn]).toEqual([key, key]);
  });

  it("GIVEN a multi-node fleet in a placement group with one subnet WHEN parsed THEN it is accepted, with the fleet defaults", () => {
    const env = configWith({ fleet: { enabled: true, mode: "multi-node", placementGroup: true, subnetIds: ["subnet-0123456789abcdef0"] } });
    expect(env.fleet).toMatchObject({ placementGroup: true, masterPort: 29500, rendezvousTimeoutSeconds: 600, drainTimeoutSeconds: 300 });
  });

  it("GIVEN stop with a persistent request WHEN parsed THEN it is accepted", () => {
    const env = configWith({ compute: { autoShutdown: false, spot: { requestType: "persistent", interruptionBehavior: "stop" } } });
    expect(env.compute.spot.interruptionBehavior).toBe("stop");
  });
});
