/**
 * The guard's decisions, as pure functions: no AWS calls, no clock, no logging. Everything here is decided from the
 * instances found, the time given and the configuration.
 */
import type { GuardConfig } from "./config";

/** An instance as the guard sees it (converted from the EC2 API's `Instance`). */
export interface GuardInstance {
  readonly instanceId: string;
  readonly instanceType: string;
  /** EC2 state name at the time of the listing, e.g. `running`. */
  readonly state: string;
  /** Launch time (reset by every start, so uptime counts since the last start). */
  readonly launchTime: Date;
  readonly tags: Readonly<Record<string, string>>;
}

interface DecisionBase {
  readonly instance: GuardInstance;
  /** Hours since launch (0 when the launch time is in the future). */
  readonly uptimeHours: number;
}

/**
 * What to do with one instance:
 * - `untagged`: no limit tag: reported, left alone;
 * - `invalid-tag`: the tag is not a positive number of hours: reported, left alone;
 * - `within-limit`: uptime <= limit: kept;
 * - `over-limit`: uptime > limit: terminate or stop (or only report, in a dry run).
 */
export type Decision =
  | (DecisionBase & { readonly kind: "untagged" })
  | (DecisionBase & { readonly kind: "invalid-tag"; readonly tagValue: string })
  | (DecisionBase & { readonly kind: "within-limit"; readonly limitHours: number; readonly tagValue: string })
  | (DecisionBase & { readonly kind: "over-limit"; readonly limitHours: number; readonly tagValue: string });

const HOUR_MS = 3_600_000;
/** Plain decimal: digits with an optional fraction (no sign, exponent, hex, units or Infinity). */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Parses a limit tag value: a positive decimal number of hours (surrounding spaces allowed), e.g. `12` or `1.5`.
 * Returns undefined for anything else (`0`, `-1`, `12h`, `1e3`, `0x10`, empty).
 */
export function parseMaxRuntimeHours(value: string): number | undefined {
  const text = value.trim();
  if (!DECIMAL.test(text)) return undefined;
  const hours = Number(text);
  return Number.isFinite(hours) && hours > 0 ? hours : undefined;
}

/** Hours between `launchTime` and `now`, never negative. */
export function uptimeHours(launchTime: Date, now: Date): number {
  return Math.max(0, now.getTime() - launchTime.getTime()) / HOUR_MS;
}

/**
 * Decides, for each instance (same order), whether it is untagged, has an invalid tag, is within its limit or over it.
 * An instance is over the limit only when its uptime is strictly greater than the limit.
 */
export function decide(
  instances: readonly GuardInstance[],
  now: Date,
  config: Pick<GuardConfig, "maxRuntimeTag">,
): Decision[] {
  return instances.map((instance): Decision => {
    const uptime = uptimeHours(instance.launchTime, now);
    const tagValue = instance.tags[config.maxRuntimeTag];
    if (tagValue === undefined) return { kind: "untagged", instance, uptimeHours: uptime };
    const limitHours = parseMaxRuntimeHours(tagValue);
    if (limitHours === undefined) return { kind: "invalid-tag", instance, uptimeHours: uptime, tagValue };
    return {
      kind: uptime > limitHours ? "over-limit" : "within-limit",
      instance,
      uptimeHours: uptime,
      limitHours,
      tagValue,
    };
  });
}
