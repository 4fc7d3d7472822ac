/** Tests of training-safety: budget. */
import { describe, expect, it } from "vitest";
import { resourceOf } from "../../support/synth";
import { ENVIRONMENT, PREFIX } from "../../support/safety/stack";
import {
  EMAILS,
  TOPIC,
  custom,
  defaults,
} from "../../support/safety/synth-fixtures";

describe("training-safety: budget", () => {
  it("GIVEN the config WHEN synthesized THEN a monthly COST budget of the amount filters on the env's cost allocation tag", () => {
    expect(resourceOf(custom.json, "aws_budgets_budget", "safety_monthly")).toMatchObject({
      name: `${PREFIX}-monthly`,
      budget_type: "COST",
      limit_amount: "250",
      limit_unit: "USD",
      time_unit: "MONTHLY",
      cost_filter: [{ name: "TagKeyValue", values: [`user:Environment$${ENVIRONMENT}`] }],
      depends_on: ["aws_sns_topic_policy.safety_alerts"],
    });
  });

  it("GIVEN e-mails WHEN synthesized THEN 80% actual and 100% forecasted notify the topic and the e-mails", () => {
    const common = { comparison_operator: "GREATER_THAN", threshold_type: "PERCENTAGE", subscriber_sns_topic_arns: [TOPIC], subscriber_email_addresses: EMAILS };
    expect(resourceOf(custom.json, "aws_budgets_budget", "safety_monthly").notification).toEqual([
      { ...common, threshold: 80, notification_type: "ACTUAL" },
      { ...common, threshold: 100, notification_type: "FORECASTED" },
    ]);
  });

  it("GIVEN no e-mails WHEN synthesized THEN the notifications go to the topic only", () => {
    const notifications = resourceOf(defaults.json, "aws_budgets_budget", "safety_monthly").notification as Array<Record<string, unknown>>;
    expect(notifications.map((n) => [n.subscriber_sns_topic_arns, n.subscriber_email_addresses])).toEqual([
      [[TOPIC], undefined],
      [[TOPIC], undefined],
    ]);
  });
});
