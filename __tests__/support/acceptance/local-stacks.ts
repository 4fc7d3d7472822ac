/**
 * The project's stacks applied with the real AWS provider against the local AWS API (`scripts/local-aws.py`):
 *
 * - {@link synthesizeProject} runs `main.ts` exactly as `npm run synth` does, writing into a scratch directory
 *   (`<scratch>/cdktf.out/stacks/<stack>`), never into the checkout;
 * - {@link LocalStack} points the provider at the emulator WITHOUT editing the synthesized JSON: a Terraform override
 *   file (`zz_local_aws_override.tf.json`, merged into the provider block: endpoints, path-style S3, `skip_*` flags,
 *   test credentials) beside `cdk.tf.json`, and for the S3 backend only the endpoint and path-style addressing at
 *   init (`-backend-config`); bucket, key, `encrypt` and `use_lockfile` come from the synthesized JSON;
 * - every apply can be followed by {@link LocalStack.plan}, whose changes are listed attribute by attribute.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { SynthesizedStack } from "../synth";
import { runTerraform, type TerraformResult, type TerraformToolchain } from "../terraform";
import { EMULATOR_CREDENTIALS } from "../aws-emulator";
import { describeChanges, type PlanJson, type PlannedChange, plannedChanges } from "./plan-changes";

const PROJECT_ROOT = join(__dirname, "..", "..", "..");

/** The name of the override file written beside `cdk.tf.json` (`*_override.tf.json` is merged last by Terraform). */
export const OVERRIDE_FILE = "zz_local_aws_override.tf.json";

/**
 * The provider `endpoints` keys of every AWS service these stacks call. A service missing here would be called on
 * the real AWS endpoint, which fails (no credentials, no network): add it when a stack starts using a new service.
 */
export const PROVIDER_ENDPOINT_SERVICES = [
  "autoscaling",
  "budgets",
  "cloudwatch",
  "cloudwatchlogs",
  "ec2",
  "ecr",
  "events",
  "iam",
  "kms",
  "lambda",
  "s3",
  "secretsmanager",
  "sns",
  "ssm",
  "sts",
] as const;

/** Time limit of one `terraform apply` (measured 25-95 s per stack on 2 shared cores; mostly the provider waiting). */
export const APPLY_TIMEOUT_MS = 600_000;
/** Time limit of one `terraform plan` (measured 6-15 s). */
export const PLAN_TIMEOUT_MS = 300_000;

/** A synthesized project in a scratch directory. */
export interface ScratchProject {
  /** The scratch root: holds `cdktf.out/` and the bootstrap stack's local state (`terraform.bootstrap.tfstate`). */
  readonly root: string;
  /** `<root>/cdktf.out/stacks/<name>`. */
  stackDir(name: string): string;
  /** Removes the scratch directory. */
  cleanup(): void;
}

/** Runs `main.ts` (as `npm run synth` does) with its outdir in a new scratch directory. */
export async function synthesizeProject(): Promise<ScratchProject> {
  const root = mkdtempSync(join(tmpdir(), "gti-acceptance-app-"));
  const outdir = join(root, "cdktf.out");
  const tsx = join(PROJECT_ROOT, "node_modules", ".bin", "tsx");
  const result = await run(tsx, ["main.ts"], { cwd: PROJECT_ROOT, env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" } }, 120_000);
  if (result.code !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`synth (tsx main.ts) failed with exit ${result.code}:\n${result.stderr || result.stdout}`);
  }
  return {
    root,
    stackDir: (name) => join(outdir, "stacks", name),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Terraform variables for one command (`-var name=value`). */
export type Vars = Readonly<Record<string, string | number | boolean>>;

/** What a plan would change. */
export interface PlanResult {
  /** Every change (empty when the plan reports no changes). */
  readonly changes: readonly PlannedChange[];
  /** {@link changes}, readably. */
  readonly description: string;
}

/** A plan right after an apply must be empty; when it is not, the failure lists every changing attribute. */
export function expectNoChanges(plan: PlanResult, after: string): void {
  expect(plan.changes, `terraform plan right after ${after} is not empty:\n${plan.description}`).toEqual([]);
}

/** One synthesized stack, applied against the local AWS API. */
export class LocalStack {
  /** The synthesized `cdk.tf.json`, as written by synth (the override file is a separate file). */
  public readonly json: SynthesizedStack;

  public constructor(
    /** Stack name (`bootstrap`, `training`, ...). */
    public readonly name: string,
    /** The stack's directory in a {@link ScratchProject}. */
    public readonly dir: string,
    private readonly toolchain: TerraformToolchain,
    /** `http://127.0.0.1:PORT`. */
    private readonly endpoint: string,
  ) {
    this.json = JSON.parse(readFileSync(join(dir, "cdk.tf.json"), "utf8")) as SynthesizedStack;
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(endpoint)) throw new Error(`the local AWS API must listen on 127.0.0.1, not ${endpoint}`);
    writeFileSync(join(dir, OVERRIDE_FILE), `${JSON.stringify(providerOverride(endpoint), null, 2)}\n`);
  }

  /** The provider's region (each env has its own: the SDK clients checking what an apply created must use it). */
  public get region(): string {
    return String(this.json.provider?.aws?.[0]?.region ?? "us-east-1");
  }

  /** The S3 backend's settings from the synthesized JSON, or undefined for a local backend. */
  public get s3Backend(): { bucket: string; key: string; encrypt?: boolean; use_lockfile?: boolean; region: string } | undefined {
    return this.json.terraform.backend?.s3 as never;
  }

  /** `terraform init`; for the S3 backend, only the endpoint and path-style addressing are supplied. */
  public async init(): Promise<void> {
    const args = ["init", "-input=false", "-no-color"];
    if (this.s3Backend) {
      // The backend checks its credentials with STS, so STS goes to the emulator too.
      args.push(`-backend-config=endpoints={s3="${this.endpoint}",sts="${this.endpoint}"}`, "-backend-config=use_path_style=true");
    }
    await this.terraform(args, PLAN_TIMEOUT_MS, "init");
  }

  /** `terraform apply -auto-approve` with `vars`; returns Terraform's summary line (`Apply complete! ...`). */
  public async apply(vars: Vars = {}): Promise<string> {
    const result = await this.terraform(["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=60s", ...varArgs(vars)], APPLY_TIMEOUT_MS, "apply");
    return /Apply complete!.*/.exec(result.stdout)?.[0] ?? "(no summary line)";
  }

  /** `terraform plan -detailed-exitcode` with `vars`: what it would change, attribute by attribute. */
  public async plan(vars: Vars = {}): Promise<PlanResult> {
    const planFile = "acceptance.tfplan";
    const result = await runTerraform(
      this.toolchain,
      this.dir,
      ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock-timeout=60s", `-out=${planFile}`, ...varArgs(vars)],
      PLAN_TIMEOUT_MS,
      terraformEnv(),
    );
    if (result.code === 0) return { changes: [], description: "(no changes)" };
    if (result.code !== 2) throw new Error(failure(this.name, "plan", result));
    const shown = await this.terraform(["show", "-json", "-no-color", planFile], PLAN_TIMEOUT_MS, "show");
    const changes = plannedChanges(JSON.parse(shown.stdout) as PlanJson);
    return { changes, description: describeChanges(changes) };
  }

  /** `terraform output -json`, as name -> value. */
  public async outputs(): Promise<Record<string, unknown>> {
    const result = await this.terraform(["output", "-json", "-no-color"], PLAN_TIMEOUT_MS, "output");
    const parsed = JSON.parse(result.stdout) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(parsed).map(([name, output]) => [name, output.value]));
  }

  private async terraform(args: string[], timeoutMs: number, what: string): Promise<TerraformResult> {
    const result = await runTerraform(this.toolchain, this.dir, args, timeoutMs, terraformEnv());
    if (result.code !== 0) throw new Error(failure(this.name, what, result));
    return result;
  }
}

/**
 * The override merged into the synthesized `provider "aws"` block: every service the stacks call goes to the
 * emulator, S3 by path (no `<bucket>.127.0.0.1` host names), no EC2 metadata or real STS lookups, test credentials.
 * The account id still comes from the emulator's STS (moto's default account, 123456789012).
 */
export function providerOverride(endpoint: string): Record<string, unknown> {
  return {
    "//": "Written by the acceptance tests (__tests__/support/acceptance/local-stacks.ts): the AWS provider talks to the local AWS API.",
    provider: {
      aws: [
        {
          access_key: EMULATOR_CREDENTIALS.AWS_ACCESS_KEY_ID,
          secret_key: EMULATOR_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
          s3_use_path_style: true,
          skip_credentials_validation: true,
          skip_metadata_api_check: "true",
          endpoints: [Object.fromEntries(PROVIDER_ENDPOINT_SERVICES.map((service) => [service, endpoint]))],
        },
      ],
    },
  };
}

/**
 * The environment of every terraform command: test credentials (the S3 backend reads them from the environment; they
 * come before any profile in the credential chain), and no EC2 metadata lookups.
 */
function terraformEnv(): Record<string, string> {
  return { ...EMULATOR_CREDENTIALS, AWS_EC2_METADATA_DISABLED: "true" };
}

function varArgs(vars: Vars): string[] {
  return Object.entries(vars).map(([name, value]) => `-var=${name}=${String(value)}`);
}

function failure(stack: string, what: string, result: TerraformResult): string {
  const tail = (text: string) => text.split("\n").slice(-60).join("\n");
  return `terraform ${what} of the ${stack} stack failed (exit ${result.code}):\n${tail(result.stderr)}\n${tail(result.stdout)}`;
}

/** Runs a command, never throwing: exit code and output. */
export function run(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
  timeoutMs: number,
): Promise<TerraformResult> {
  return new Promise((resolve) => {
    execFile(command, [...args], { ...options, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: error && !stderr ? String(error.message) : stderr });
    });
  });
}
