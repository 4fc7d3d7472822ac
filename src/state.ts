/**
 * The remote-state contract: where each environment keeps its Terraform state. Ops teams and scripts rely on these
 * keys; changing them strands existing state.
 */

/** Fixed first segment of every state key (independent of `project`, so renaming the project moves no state). */
export const STATE_KEY_PREFIX = "gpu-training-infra";

/** The S3 key of an environment's state: `gpu-training-infra/<env>/terraform.tfstate`. */
export function stateKey(env: string): string {
  return `${STATE_KEY_PREFIX}/${env}/terraform.tfstate`;
}

/** Name of the stack that creates the state bucket (it keeps its own state locally). */
export const BOOTSTRAP_STACK = "bootstrap";

/**
 * Where the bootstrap stack keeps its local state, relative to `cdktf.out/stacks/bootstrap/` (Terraform's working
 * directory): the project root, so deleting `cdktf.out` never loses it.
 */
export const BOOTSTRAP_STATE_PATH = "../../../terraform.bootstrap.tfstate";

/** Oldest Terraform that understands everything synthesized (S3 backend `use_lockfile` arrived in 1.10). */
export const REQUIRED_TERRAFORM_VERSION = ">= 1.10.0";
