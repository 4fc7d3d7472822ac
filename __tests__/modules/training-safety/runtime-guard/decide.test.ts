/**
 * The runtime guard Lambda (modules/training-safety/runtime-guard): its pure decisions (decide.ts).
 */
import { describe, expect, it } from "vitest";
import { decide, type GuardInstance, parseMaxRuntimeHours } from "../../../../modules/training-safety/runtime-guard/decide";

const NOW = new Date("2026-05-04T12:00:00.000Z");
const HOUR = 3_600_000;

describe("decide (pure)", () => {
  const guardInstance = (hoursAgo: number, tags: Record<string, string>): GuardInstance => ({
    instanceId: "i-1",
    instanceType: "g5.xlarge",
    state: "running",
    launchTime: new Date(NOW.getTime() - hoursAgo * HOUR),
    tags,
  });

  it("GIVEN uptime exactly equal to the limit WHEN decided THEN the instance is within its limit", () => {
    const [decision] = decide([guardInstance(12, { MaxRuntimeHours: "12" })], NOW, { maxRuntimeTag: "MaxRuntimeHours" });
    expect(decision).toMatchObject({ kind: "within-limit", uptimeHours: 12, limitHours: 12 });
  });

  it("GIVEN uptime one minute over a fractional limit WHEN decided THEN the instance is over its limit", () => {
    const [decision] = decide([guardInstance(1.5 + 1 / 60, { MaxRuntimeHours: "1.5" })], NOW, { maxRuntimeTag: "MaxRuntimeHours" });
    expect(decision).toMatchObject({ kind: "over-limit", limitHours: 1.5 });
  });

  it("GIVEN a custom tag key WHEN decided THEN only that key is read", () => {
    const decisions = decide([guardInstance(5, { MaxRuntimeHours: "1" })], NOW, { maxRuntimeTag: "GuardHours" });
    expect(decisions[0]?.kind).toBe("untagged");
  });

  it("GIVEN a launch time in the future (clock skew) WHEN decided THEN uptime is 0, not negative", () => {
    const [decision] = decide([guardInstance(-2, { MaxRuntimeHours: "1" })], NOW, { maxRuntimeTag: "MaxRuntimeHours" });
    expect(decision).toMatchObject({ kind: "within-limit", uptimeHours: 0 });
  });

  it.each([
    ["12", 12],
    ["1.5", 1.5],
    [" 6 ", 6],
    [".5", 0.5],
  ])("GIVEN the tag value %j WHEN parsed THEN it is %d hours", (text, hours) => {
    expect(parseMaxRuntimeHours(text)).toBe(hours);
  });

  it.each(["0", "0.0", "-1", "12h", "1e3", "0x10", "", " ", "Infinity", "NaN", "twelve"])(
    "GIVEN the tag value %j WHEN parsed THEN it is rejected",
    (text) => {
      expect(parseMaxRuntimeHours(text)).toBeUndefined();
    },
  );
});
