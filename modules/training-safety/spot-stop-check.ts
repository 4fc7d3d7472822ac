/**
 * A Terraform-time check that the safety nets can act on the instance they guard. EC2 refuses to stop a one-time spot
 * instance, so a `stop` action (runtime guard or idle-GPU alarm) on one would fail every time and leave the GPU
 * billing. The config schema refuses that combination at synth when the env's `compute.useSpot` is true; this check
 * refuses it at plan when `-var use_spot=true` turns it on later (`terraform_data.safety_spot_stop_check`, counted
 * like the instance, with a precondition on `var.use_spot`).
 */
import { type IResolvable, Op, type TerraformCount } from "cdktf";
import { Construct } from "constructs";
import { address } from "../../src/naming";
import { TerraformData } from "../../src/terraform-data";

export interface SpotStopCheckProps {
  /** `var.use_spot` (`TrainingVariables.useSpot.booleanValue`): the check refuses it. */
  readonly useSpot: IResolvable;
  /** The instance's count: the check exists only with the instance. */
  readonly count: TerraformCount;
  /** Which nets stop instead of terminating, e.g. `["safety.guard.action"]`; none: no check is created. */
  readonly stoppingNets: readonly string[];
  /** The spot request type of the instance (`compute.spot.requestType`): a persistent request can be stopped. */
  readonly requestType: "one-time" | "persistent";
}

/** The check, when a net stops and the spot request is one-time; otherwise nothing (a no-op construct). */
export class SpotStopCheck extends Construct {
  /** `terraform_data.safety_spot_stop_check`, or undefined when nothing can go wrong. */
  public readonly check: TerraformData | undefined;

  public constructor(scope: Construct, id: string, props: SpotStopCheckProps) {
    super(scope, id);
    if (props.stoppingNets.length === 0 || props.requestType !== "one-time") {
      this.check = undefined;
      return;
    }
    const nets = props.stoppingNets.join(" and ");
    this.check = address(
      new TerraformData(this, "Check", {
        count: props.count,
        input: nets,
        lifecycle: {
          precondition: [
            {
              condition: Op.not(props.useSpot),
              errorMessage:
                `use_spot = true makes a one-time spot instance, which EC2 cannot stop, but ${nets} is "stop": ` +
                "the net would fail and leave the GPU running. Fix: apply with -var use_spot=false, or set " +
                `${nets} to "terminate" (the run resumes from its last checkpoint), or compute.spot.requestType = "persistent", then synthesize again.`,
            },
          ],
        },
      }),
      "safety",
      "spot_stop_check",
    );
  }
}
