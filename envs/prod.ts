/**
 * `prod`: the spot fleet seed's production settings, in its own region (us-west-2). Bigger instances in order of
 * preference, up to 8 nodes training one job together (torchrun), spot capped at $1.00/h.
 *
 * Deviations from the seed, on purpose:
 * - `desiredInstances` is 0, not 2: nothing bills while idle; scale up with `-var desired_instances=N`.
 * - g5.2xlarge replaces p3.2xlarge: the current GPU Deep Learning AMIs no longer list P3 (V100) as supported.
 */
import { defineEnvironment } from "../src/config/schema";
import { shared } from "./_shared";

export default defineEnvironment({
  ...shared,
  name: "prod",
  region: "us-west-2",
  compute: {
    instanceType: "g4dn.2xlarge",
    spotMaxPrice: "1.00",
    maxRuntimeHours: 24,
    rootVolumeSizeGb: 200,
    spot: { requestType: "one-time", interruptionBehavior: "terminate" },
  },
  fleet: {
    enabled: true,
    instanceTypes: ["g4dn.2xlarge", "g4dn.4xlarge", "g5.2xlarge"],
    maxInstances: 8,
    desiredInstances: 0,
    mode: "multi-node",
  },
  safety: {
    monthlyBudgetUsd: 1000,
  },
});
