/** The fleet's props rules, checked at synth (the config schema checks the same ranges from limits.ts). */
import { minimumDrainSeconds } from "../training-compute/contract";
import { GtiError } from "../../src/errors";
import { isGpuInstanceType } from "../../src/gpu-instance-types";
import type { FleetMode } from "./contract";
import type { TrainingFleetProps } from "./index";
import { DRAIN_TIMEOUT_SECONDS_RANGE } from "./limits";

/**
 * @throws GtiError naming the fleet and every problem: no or non-GPU or repeated instance types, a placement group
 *   outside multi-node or across zones, an empty subnet list, a drain timeout out of range or too short for the grace
 */
export function validateFleetProps(props: TrainingFleetProps, mode: FleetMode): void {
  const problems: string[] = [];
  if (props.instanceTypes.length === 0) problems.push("instanceTypes is empty (the fleet needs at least one type)");
  const notGpu = props.instanceTypes.filter((type) => !isGpuInstanceType(type));
  if (notGpu.length > 0) problems.push(`instanceTypes ${notGpu.join(", ")} are not in the GPU instance table (src/gpu-instance-types.ts)`);
  if (new Set(props.instanceTypes).size !== props.instanceTypes.length) problems.push("instanceTypes lists a type twice");
  if (props.placementGroup && mode !== "multi-node") problems.push("a placement group is for multi-node training only");
  if (props.placementGroup && props.subnetIds?.length !== 1) {
    problems.push("a cluster placement group lives in one availability zone: give exactly one subnet id");
  }
  if (props.subnetIds && props.subnetIds.length === 0) problems.push("subnetIds is empty");
  const drain = props.drainTimeoutSeconds ?? 300;
  const range = DRAIN_TIMEOUT_SECONDS_RANGE;
  if (!Number.isInteger(drain) || drain < range.min || drain > range.max) problems.push(`drainTimeoutSeconds ${drain} is not in ${range.min}..${range.max}`);
  const needed = minimumDrainSeconds(props.launchSpec.spotGraceSeconds);
  if (drain < needed) {
    problems.push(`drainTimeoutSeconds ${drain} is shorter than a drain needs with a ${props.launchSpec.spotGraceSeconds} s spot grace (${needed} s: grace, final sync, marker)`);
  }
  if (problems.length > 0) {
    throw new GtiError(`Invalid training fleet ${props.namePrefix}-fleet: ${problems.join("; ")}. Fix: correct the fleet settings (fleet.* in envs/<env>.ts).`);
  }
}
