/**
 * The EC2 instance types this project launches: NVIDIA GPU types on x86_64 that the GPU Deep Learning AMI supports.
 * One pinned table, shared by the configuration schema (`compute.instanceType`, `fleet.instanceTypes`), the
 * `instance_type` Terraform variable's validation and the training-fleet module, so a type is either accepted
 * everywhere or nowhere.
 *
 * Checked on 2026-12-07 against:
 * - AWS, "Specifications for Amazon EC2 accelerated computing instances"
 *   (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html) and the GPU table of the AWS Batch User Guide,
 *   "Run a GPU job" (https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html): sizes, GPUs, vCPUs;
 * - the x86_64 Deep Learning AMI release notes (`supported_ec2_instances`: G4dn, G5, G6, Gr6, G6e, G7, P4d, P4de, P5,
 *   P5e, P5en, P6-B200, P6-B300), which decide which families are allowed at all.
 *
 * Left out on purpose (each gets its own message from {@link instanceTypeProblem}):
 * - P3 and P3dn (V100): the current GPU DLAMIs no longer list them, so the AMI this project boots may not run there.
 * - G6f and Gr6f (fractional L4): a fraction of a GPU needs NVIDIA's GRID driver, which the DLAMI does not ship.
 * - G5g (Graviton, arm64) and G4ad (AMD GPUs): no x86_64 NVIDIA stack.
 * - G7, G7e and P6-B300: newer than this table; add their rows from the AWS page above once checked.
 *
 * GPU memory is the instance's total, in GiB as AWS lists it (per-GPU memory times GPUs).
 */

/** One instance type of the table. */
export interface GpuInstanceType {
  /** The EC2 instance type, e.g. `g5.xlarge`. */
  readonly type: string;
  /** The family, e.g. `g5` (the part before the dot). */
  readonly family: string;
  /** The NVIDIA GPU model. */
  readonly gpuModel: string;
  /** Number of GPUs. */
  readonly gpus: number;
  /** Total GPU memory of the instance, GiB. */
  readonly gpuMemoryGib: number;
  /** Default vCPUs. */
  readonly vcpus: number;
}

/** When the table was last checked against AWS's documentation (see the file header for the sources). */
export const GPU_INSTANCE_TABLE_CHECKED = "2026-12-07";

/** Family, GPU model, GPU memory per GPU (GiB), then each size: [size, GPUs, vCPUs]. */
type FamilyRows = readonly [family: string, gpuModel: string, memoryPerGpuGib: number, sizes: readonly (readonly [string, number, number])[]];

/** The sizes G5, G6 and G6e share (and G4dn up to 16xlarge): one GPU, but 4 in 12xlarge and 24xlarge, 8 in 48xlarge. */
const G_SIZES: FamilyRows[3] = [
  ["xlarge", 1, 4],
  ["2xlarge", 1, 8],
  ["4xlarge", 1, 16],
  ["8xlarge", 1, 32],
  ["12xlarge", 4, 48],
  ["16xlarge", 1, 64],
  ["24xlarge", 4, 96],
  ["48xlarge", 8, 192],
];

const FAMILIES: readonly FamilyRows[] = [
  // G4dn: the G sizes up to 16xlarge, then bare metal with 8 GPUs.
  ["g4dn", "NVIDIA T4", 16, [...G_SIZES.slice(0, 6), ["metal", 8, 96]]],
  ["g5", "NVIDIA A10G", 24, G_SIZES],
  ["g6", "NVIDIA L4", 24, G_SIZES],
  [
    "gr6",
    "NVIDIA L4",
    24,
    [
      ["4xlarge", 1, 16],
      ["8xlarge", 1, 32],
    ],
  ],
  ["g6e", "NVIDIA L40S", 48, G_SIZES],
  ["p4d", "NVIDIA A100 40GB", 40, [["24xlarge", 8, 96]]],
  ["p4de", "NVIDIA A100 80GB", 80, [["24xlarge", 8, 96]]],
  [
    "p5",
    "NVIDIA H100",
    80,
    [
      ["4xlarge", 1, 16],
      ["48xlarge", 8, 192],
    ],
  ],
  ["p5e", "NVIDIA H200", 141, [["48xlarge", 8, 192]]],
  ["p5en", "NVIDIA H200", 141, [["48xlarge", 8, 192]]],
  ["p6-b200", "NVIDIA B200", 180, [["48xlarge", 8, 192]]],
];

/** Every instance type this project launches, in table order (family, then size). */
export const GPU_INSTANCE_TYPES: readonly GpuInstanceType[] = FAMILIES.flatMap(([family, gpuModel, memory, sizes]) =>
  sizes.map(([size, gpus, vcpus]) => ({ type: `${family}.${size}`, family, gpuModel, gpus, gpuMemoryGib: gpus * memory, vcpus })),
);

/** The families of the table, in order. */
export const GPU_INSTANCE_FAMILIES: readonly string[] = FAMILIES.map(([family]) => family);

/** The instance type names of the table. */
export const GPU_INSTANCE_TYPE_NAMES: readonly string[] = GPU_INSTANCE_TYPES.map((row) => row.type);

const byType = new Map(GPU_INSTANCE_TYPES.map((row) => [row.type, row]));

/** The table's row for a type, or undefined when the project does not launch it. */
export function gpuInstanceType(type: string): GpuInstanceType | undefined {
  return byType.get(type);
}

/** True for a type of the table (an NVIDIA GPU type on x86_64 that the GPU DLAMI supports). */
export function isGpuInstanceType(type: string): boolean {
  return byType.has(type);
}

/** Families left out on purpose, with the reason (see the file header). */
const EXCLUDED_FAMILIES: Readonly<Record<string, string>> = {
  p3: "P3 (V100) is no longer supported by the current GPU Deep Learning AMIs this project boots",
  p3dn: "P3dn (V100) is no longer supported by the current GPU Deep Learning AMIs this project boots",
  p2: "P2 (K80) is retired and not supported by the GPU Deep Learning AMIs",
  g3: "G3 (M60) is not supported by the GPU Deep Learning AMIs",
  g3s: "G3s (M60) is not supported by the GPU Deep Learning AMIs",
  g6f: "G6f has a fraction of an L4 GPU, which needs NVIDIA's GRID driver; the Deep Learning AMI does not ship it",
  gr6f: "Gr6f has a fraction of an L4 GPU, which needs NVIDIA's GRID driver; the Deep Learning AMI does not ship it",
  g5g: "G5g is Graviton (arm64); the project's AMI and runtime are x86_64",
  "p6e-gb200": "P6e-GB200 is Grace (arm64); the project's AMI and runtime are x86_64",
  g4ad: "G4ad has AMD GPUs; the project needs NVIDIA (CUDA)",
  g7: "G7 is newer than this project's instance table (src/gpu-instance-types.ts)",
  g7e: "G7e is newer than this project's instance table (src/gpu-instance-types.ts)",
  "p6-b300": "P6-B300 is newer than this project's instance table (src/gpu-instance-types.ts)",
};

/** A few good first choices, for fix messages. */
const SUGGESTIONS = ["g5.xlarge", "g6.xlarge", "g6e.xlarge", "p4d.24xlarge"] as const;

/**
 * Why a value is not an instance type this project launches, with the fix; undefined when it is one.
 * Distinguishes a size the family does not have (`g5.3xlarge`), a family left out on purpose (P3, Graviton,
 * fractional GPUs) and anything else (`t3.micro`).
 */
export function instanceTypeProblem(value: string): { readonly rule: string; readonly fix: string } | undefined {
  if (byType.has(value)) return undefined;
  const [family = "", size] = value.split(".");
  const sizes = GPU_INSTANCE_TYPES.filter((row) => row.family === family).map((row) => row.type.slice(family.length + 1));
  if (sizes.length > 0) {
    return {
      rule: `${family} has no size ${JSON.stringify(size ?? "")}: the ${family} sizes are ${sizes.join(", ")}`,
      fix: `use one of ${sizes.map((s) => `"${family}.${s}"`).join(", ")}`,
    };
  }
  const excluded = EXCLUDED_FAMILIES[family];
  if (excluded) {
    return {
      rule: `${excluded}`,
      fix: `pick a supported type such as ${SUGGESTIONS.map((s) => `"${s}"`).join(", ")} (the list: src/gpu-instance-types.ts)`,
    };
  }
  return {
    rule: `not an NVIDIA GPU instance type on x86_64 that this project launches (families ${GPU_INSTANCE_FAMILIES.join(", ")})`,
    fix: `pick one such as ${SUGGESTIONS.map((s) => `"${s}"`).join(", ")} (the list: src/gpu-instance-types.ts)`,
  };
}

/** The table as Markdown (docs/configuration.md embeds it; a test keeps the two equal). */
export function gpuInstanceTableMarkdown(): string {
  const rows = GPU_INSTANCE_TYPES.map(
    (row) => `| \`${row.type}\` | ${row.gpuModel} | ${row.gpus} | ${row.gpuMemoryGib} | ${row.vcpus} |`,
  );
  return ["| type | GPU | GPUs | GPU memory (GiB) | vCPUs |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}
