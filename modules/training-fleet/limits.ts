/**
 * The fleet's value ranges, as plain values (no constructs): the construct validates its props against them and the
 * config schema (`src/config/sections/fleet.ts`) imports them, so the two can never drift.
 */

/**
 * Heartbeat timeout of the fleet's termination lifecycle hook, in seconds: AWS accepts 30 to 7200. It bounds how long
 * a terminating node may take for its final checkpoint sync before the group terminates it anyway.
 */
export const DRAIN_TIMEOUT_SECONDS_RANGE = { min: 30, max: 7200 } as const;

/** How long a multi-node fleet's nodes wait for their peers before giving up, in seconds. */
export const RENDEZVOUS_TIMEOUT_SECONDS_RANGE = { min: 60, max: 3600 } as const;
