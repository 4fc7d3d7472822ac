/**
 * `terraform_data`, Terraform's built-in resource (Terraform >= 1.4), without cdktf's synth-time binary check.
 *
 * Why not cdktf's own `DataResource`: its constructor adds a validation that runs `terraform version` in a shell for
 * every instance when the app synthesizes. That makes `npm run synth` fail outright on a machine without a `terraform`
 * binary (tests and CI synthesize without one: the real-terraform checks are optional there), and costs about 45 ms
 * of process spawning per resource on every synth. The version requirement is enforced where it matters instead: every
 * stack declares `required_version` (`src/state.ts`), which Terraform itself checks before any plan.
 *
 * The second difference: `input` and `triggersReplace` take any value (a plain string too), as Terraform does;
 * `DataResource` types them as maps, which forced an `addOverride` for a string input.
 */
import { TerraformResource, type TerraformResourceLifecycle, type TerraformCount } from "cdktf";
import type { Construct } from "constructs";

/** Settings of a `terraform_data` resource. */
export interface TerraformDataProps {
  /** A value stored in state and reflected in `output` after apply. @default none (output is null) */
  readonly input?: unknown;
  /** A value whose change replaces the resource (and so refreshes `output` from `input`). @default none */
  readonly triggersReplace?: unknown;
  /** Count meta-argument (e.g. driven by `create_instance`). @default one instance */
  readonly count?: number | TerraformCount;
  /** Lifecycle meta-argument (e.g. `ignoreChanges: ["input"]` to freeze a generated value). @default none */
  readonly lifecycle?: TerraformResourceLifecycle;
}

/** The `terraform_data` resource. Give it a readable address with `address()` like every other resource. */
export class TerraformData extends TerraformResource {
  private readonly input: unknown;
  private readonly triggersReplace: unknown;

  public constructor(scope: Construct, id: string, props: TerraformDataProps = {}) {
    super(scope, id, {
      terraformResourceType: "terraform_data",
      terraformGeneratorMetadata: { providerName: "terraform" },
      count: props.count,
      lifecycle: props.lifecycle,
    });
    this.input = props.input;
    this.triggersReplace = props.triggersReplace;
  }

  /** `id`: a random id Terraform assigns (replaced when `triggersReplace` changes). */
  public get id(): string {
    return this.getStringAttribute("id");
  }

  /** `output`, as a string token (the `input` after apply; use with a string input). */
  public get outputString(): string {
    return this.getStringAttribute("output");
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { input: this.input, triggers_replace: this.triggersReplace };
  }

  protected override synthesizeHclAttributes(): Record<string, unknown> {
    return {
      input: { value: this.input, isBlock: false, type: "any", storageClassType: "any" },
      triggers_replace: { value: this.triggersReplace, isBlock: false, type: "any", storageClassType: "any" },
    };
  }
}
