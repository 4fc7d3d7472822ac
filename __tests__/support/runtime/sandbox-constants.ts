/** The sandbox's fixed names and paths, and the fast timings the runtime tests run with. */
import { join } from "node:path";

export const PROJECT_DIR = join(__dirname, "..", "..", "..");
export const RUNTIME_DIR = join(PROJECT_DIR, "runtime");
export const STUBS_DIR = join(__dirname, "stubs");
/** Commands the runtime expects from the machine; each gets a recording stub on PATH. */
export const STUBBED_COMMANDS = [
  "aws", "docker", "nvidia-smi", "systemctl", "mdadm", "mkfs.ext4", "mount", "mountpoint", "lsblk", "blkid", "dpkg", "nvidia-ctk",
  "iptables",
] as const;

export const OUTPUTS_BUCKET = "outputs-bucket";
export const DATA_BUCKET = "data-bucket";
export const RUN_ID = "run-test-1";
export const INSTANCE_ID = "i-0123456789abcdef0";
export const ECR_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gpu-training-infra-training-training";

/** Fast timings for tests; every one of them has a production default asserted separately. */
export const FAST_KNOBS: Record<string, string> = {
  GTI_SPOT_POLL_SECONDS: "0.1",
  GTI_CHECKPOINT_INTERVAL_SECONDS: "3600",
  GTI_S3_RETRIES: "3",
  GTI_S3_BACKOFF_SECONDS: "0.05",
  GTI_NVME_WAIT_SECONDS: "0",
  GTI_STOP_WAIT_SECONDS: "20",
  GTI_FLEET_POLL_SECONDS: "0.1",
  GTI_DEADLINE_MARGIN_SECONDS: "1",
  GTI_MARKER_RESERVE_SECONDS: "1",
  GTI_FINAL_SYNC_SECONDS: "5",
  FAKE_STEP_SECONDS: "0.05",
};
