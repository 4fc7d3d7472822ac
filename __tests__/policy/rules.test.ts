/**
 * Every policy rule, three ways: a compliant fixture passes synth; a fixture breaking exactly that rule fails synth
 * with the rule id, the Terraform address, what is wrong and the fix; the same fixture with the rule suppressed passes
 * synth and reports the suppressed finding.
 */
import { describe, expect, it } from "vitest";
import { ALL_RULES, formatSummary, policyReportOf, suppressRule } from "../../src/policy";
import { synthJson } from "../support/synth";
import { policyStack } from "../support/policy/fixtures";
import { CASES } from "../support/policy/rule-cases";

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("policy rules", () => {
  it("GIVEN the packs WHEN listed THEN every rule has a case here (compliant, broken, suppressed)", () => {
    expect(CASES.map((c) => c.id)).toEqual(ALL_RULES.map((r) => r.id));
  });

  describe.each(CASES)("$id", (rule) => {
    it(`GIVEN ${rule.compliantAs} WHEN synthesized THEN the pack passes`, () => {
      const stack = policyStack();
      rule.compliant(stack);
      expect(() => synthJson(stack)).not.toThrow();
      expect(policyReportOf(stack)?.violations).toEqual([]);
    });

    it(`GIVEN ${rule.brokenAs} WHEN synthesized THEN synth fails naming ${rule.id}, the address, what is wrong and the fix`, () => {
      const stack = policyStack();
      rule.broken(stack);
      const line = new RegExp(`^  - ${escape(rule.id)} ${escape(rule.address)}: .*${escape(rule.what)}.*\\. Fix: \\S.+$`, "m");
      expect(() => synthJson(stack)).toThrow(line);
      expect(policyReportOf(stack)?.violations.map((v) => `${v.ruleId} ${v.address}`)).toEqual([`${rule.id} ${rule.address}`]);
    });

    it(`GIVEN ${rule.brokenAs} with ${rule.id} suppressed WHEN synthesized THEN synth passes and reports the suppression`, () => {
      const stack = policyStack();
      const element = rule.broken(stack);
      suppressRule(element, rule.id, "accepted in this fixture on purpose");
      expect(() => synthJson(stack)).not.toThrow();
      const report = policyReportOf(stack);
      expect(report?.suppressed.map((s) => [s.ruleId, s.address, s.reason])).toEqual([[rule.id, rule.address, "accepted in this fixture on purpose"]]);
      expect(formatSummary(report ? [report] : [], { details: true })).toContain(`suppressed [fixture] ${rule.id} ${rule.address}: accepted in this fixture on purpose`);
    });
  });
});
