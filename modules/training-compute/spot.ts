/**
 * Spot request settings and their rule, as plain values (no constructs): the construct validates its props with them
 * and the config schema (`src/config/sections/compute.ts`) builds `compute.spot` from them.
 */

/** Spot request types: `persistent` re-requests capacity after an interruption. */
export const SPOT_REQUEST_TYPES = ["one-time", "persistent"] as const;
/** What AWS does to a spot instance on interruption. */
export const SPOT_INTERRUPTION_BEHAVIORS = ["terminate", "stop"] as const;

/** Spot request settings (`compute.spot`). */
export interface SpotSettings {
  /** `persistent` re-requests capacity after an interruption. @default "one-time" */
  readonly requestType?: (typeof SPOT_REQUEST_TYPES)[number];
  /** What AWS does on interruption; `stop` needs a persistent request. @default "terminate" */
  readonly interruptionBehavior?: (typeof SPOT_INTERRUPTION_BEHAVIORS)[number];
}

/** The defaults of {@link SpotSettings}. */
export const DEFAULT_SPOT_SETTINGS: Required<SpotSettings> = { requestType: "one-time", interruptionBehavior: "terminate" };

/** AWS rejects the interruption behavior "stop" for one-time requests: true when the settings break that rule. */
export function stopWithoutPersistentRequest(spot: Required<SpotSettings>): boolean {
  return spot.interruptionBehavior === "stop" && spot.requestType !== "persistent";
}
