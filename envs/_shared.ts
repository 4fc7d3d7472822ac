/**
 * Settings every environment shares. Files in envs/ whose name starts with "_" are not environments.
 *
 * Change `state.bucket` before the first deploy: S3 bucket names are global, so pick one nobody else has (adding your
 * account id is the usual way). The bootstrap stack creates it; every environment keeps its state there under
 * `gpu-training-infra/<env>/terraform.tfstate`.
 */
import type { EnvironmentInput } from "../src/config/schema";

export const shared = {
  project: "gpu-training-infra",
  repository: "github.com/example-org/gpu-training-infra",
  state: {
    bucket: "gpu-training-infra-tfstate-123456789012",
    region: "us-east-1",
  },
} as const satisfies Partial<EnvironmentInput>;
