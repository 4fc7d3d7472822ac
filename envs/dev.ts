/**
 * `dev`: the spot fleet seed's development settings. Small and cheap: g4dn.xlarge (T4 16 GB) capped at $0.30/h,
 * at most one node, scaled to zero until asked.
 */
import { defineEnvironment } from "../src/config/schema";
import { shared } from "./_shared";

export default defineEnvironment({
  ...shared,
  name: "dev",
  region: "us-east-1",
  compute: {
    instanceType: "g4dn.xlarge",
    spotMaxPrice: "0.30",
    maxRuntimeHours: 6,
    rootVolumeSizeGb: 150,
  },
  fleet: {
    enabled: true,
    instanceTypes: ["g4dn.xlarge"],
    maxInstances: 1,
    desiredInstances: 0,
    mode: "independent",
  },
  safety: {
    monthlyBudgetUsd: 50,
  },
});
