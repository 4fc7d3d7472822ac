/**
 * The budget `aws_budgets_budget.safety_monthly`: the env's monthly cost (cost allocation tag `Environment`), alerts at
 * 80% actual and 100% forecasted, to the alerts topic and to the e-mails directly.
 */
import { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { address } from "../../src/naming";
import type { IAlertsTopic } from "./alerts-topic";

/** The cost allocation tag the budget filters on (a user-defined tag: `user:` prefix in Budgets filters). */
export const BUDGET_COST_TAG = "Environment";

export interface MonthlyBudgetProps {
  /** The budget's name. */
  readonly name: string;
  /** The value of the {@link BUDGET_COST_TAG} tag whose costs count. */
  readonly environment: string;
  /** The limit in USD. */
  readonly limitUsd: number;
  readonly alerts: IAlertsTopic;
  /** What must exist before the budget: Budgets checks its permission on the topic when the budget is created. */
  readonly topicPolicy: ITerraformDependable;
  /** E-mail addresses notified directly. @default [] */
  readonly emails?: readonly string[];
}

/** The env's monthly cost budget. */
export class MonthlyBudget extends Construct {
  /** `aws_budgets_budget.safety_monthly`. */
  public readonly budget: BudgetsBudget;

  public constructor(scope: Construct, id: string, props: MonthlyBudgetProps) {
    super(scope, id);
    const emails = props.emails ?? [];
    this.budget = address(
      new BudgetsBudget(this, "MonthlyBudget", {
        name: props.name,
        budgetType: "COST",
        limitAmount: String(props.limitUsd),
        limitUnit: "USD",
        timeUnit: "MONTHLY",
        // Costs of resources tagged Environment = <env> (a cost allocation tag: activate it once, see the README).
        costFilter: [{ name: "TagKeyValue", values: [`user:${BUDGET_COST_TAG}$${props.environment}`] }],
        notification: [
          { threshold: 80, notificationType: "ACTUAL" },
          { threshold: 100, notificationType: "FORECASTED" },
        ].map((n) => ({
          ...n,
          comparisonOperator: "GREATER_THAN",
          thresholdType: "PERCENTAGE",
          subscriberSnsTopicArns: [props.alerts.arn],
          // Directly as well: the budget mail does not depend on the topic, its key or a confirmed subscription.
          subscriberEmailAddresses: emails.length > 0 ? [...emails] : undefined,
        })),
        dependsOn: [props.topicPolicy],
      }),
      "safety",
      "monthly",
    );
  }
}
