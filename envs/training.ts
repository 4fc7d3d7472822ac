/**
 * `training`: the four-module design's environment. One g5.xlarge (A10G 24 GB) on spot, started with
 * `-var create_instance=true`, shutting itself down when training ends and never running more than 12 hours.
 *
 * No GitHub repository may push images yet: trusting a repository is a decision about who can put code on your GPUs,
 * so the example trusts none. Name yours in `registry.github.repositories` (modules/training-registry/README.md, "GitHub Actions OIDC").
 */
import { defineEnvironment } from "../src/config/schema";
import { shared } from "./_shared";

export default defineEnvironment({
  ...shared,
  name: "training",
  region: "us-east-1",
  compute: {
    createInstance: false,
    instanceType: "g5.xlarge",
    useSpot: true,
    autoShutdown: true,
    maxRuntimeHours: 12,
    rootVolumeSizeGb: 200,
    ami: { os: "ubuntu-24.04" },
  },
  registry: {
    keepTaggedImages: 10,
    keepUntaggedImages: 3,
    github: {
      // The repositories whose workflows may push training images, e.g.
      // repositories: [{ repository: "<your-org>/<your-training-code>", branches: ["main"] }],
      repositories: [],
    },
  },
  safety: {
    monthlyBudgetUsd: 150,
  },
});
