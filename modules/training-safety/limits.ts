/**
 * The safety nets' value rules, as plain values (no constructs): the constructs validate against them and the config
 * schema (`src/config/sections/safety.ts`) imports them, so the two can never drift.
 */

/** Idle-GPU alarm period (seconds); `idleGpu.minutes` counts whole periods (each ~5 of the agent's 1-minute samples). */
export const IDLE_GPU_PERIOD_SECONDS = 300;

/** The idle-GPU alarm period in minutes: `idleGpu.minutes` is a multiple of it. */
export const IDLE_GPU_PERIOD_MINUTES = IDLE_GPU_PERIOD_SECONDS / 60;

/** `idleGpu.minutes`: whole periods, at most a day (CloudWatch evaluates at most a day of periods). */
export const IDLE_GPU_MINUTES_RANGE = { min: IDLE_GPU_PERIOD_MINUTES, max: 1440 } as const;

/** True when `minutes` is a whole number of idle-GPU periods within {@link IDLE_GPU_MINUTES_RANGE}. */
export function isIdleGpuMinutes(minutes: number): boolean {
  const { min, max } = IDLE_GPU_MINUTES_RANGE;
  return Number.isInteger(minutes) && minutes % IDLE_GPU_PERIOD_MINUTES === 0 && minutes >= min && minutes <= max;
}
