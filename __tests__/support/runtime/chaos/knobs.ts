/** The chaos soak's scaled clocks and the stop budget systemd is simulated with (used by the runner and the invariants). */

/**
 * The soak's scaled clocks (production value in the comment). One second here stands for about 20 in production, but
 * the runtime counts whole seconds: margin and reserve keep at least 1-2 s.
 */
export const CHAOS_KNOBS = {
  GTI_SPOT_POLL_SECONDS: "0.25", // 5
  GTI_CHECKPOINT_INTERVAL_SECONDS: "0.8", // 900: the periodic early sync
  GTI_S3_RETRIES: "5", // 5
  GTI_S3_BACKOFF_SECONDS: "0.1", // 2: retries span 1.5 s (30 s)
  GTI_DEADLINE_MARGIN_SECONDS: "1", // 5
  GTI_MARKER_RESERVE_SECONDS: "2", // 10
  GTI_FINAL_SYNC_SECONDS: "2", // 60
  GTI_IMDS_TIMEOUT: "0.5", // 2
  GTI_IMDS_RETRIES: "3", // 3
} as const;
/** runtime.env values of the soak (the sandbox's defaults otherwise). */
export const CHAOS_CONFIG = { GTI_SPOT_GRACE_SECONDS: "1", GTI_CHECKPOINT_SETTLE_SECONDS: "1" } as const;
const GRACE_S = 1;
/** What install.sh derives: grace + max(grace, final sync) + reserve; systemd's TimeoutStopSec adds 10 s (here 1). */
export const STOP_BUDGET_S = GRACE_S + Math.max(GRACE_S, Number(CHAOS_KNOBS.GTI_FINAL_SYNC_SECONDS)) + Number(CHAOS_KNOBS.GTI_MARKER_RESERVE_SECONDS);
export const STOP_TIMEOUT_S = STOP_BUDGET_S + 1;
