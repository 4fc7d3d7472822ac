/**
 * The dashboard `aws_cloudwatch_dashboard.safety` (body: dashboard.ts): GPU, training progress per run, memory, CPU,
 * disk, network, the guard's actions and errors, training log errors, the fleet's group. Free for the first 3 of an
 * account.
 */
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { Fn, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { AwsContext } from "../../src/aws-context";
import { address } from "../../src/naming";
import { type SafetyDashboardOptions, safetyDashboardBody } from "./dashboard";
import type { ITrainingInstances } from "./instances";

/** A value no instance id ever has: the dashboard's single-instance graphs match nothing without an instance. */
export const NO_INSTANCE_ID = "i-none";

export interface SafetyDashboardProps
  extends Omit<SafetyDashboardOptions, "region" | "singleInstanceId" | "metricsNamespace" | "trainingLogGroup" | "stallMinutes"> {
  /** The dashboard's name. */
  readonly dashboardName: string;
  readonly instances: ITrainingInstances;
}

/** The env's CloudWatch dashboard and its console URL. */
export class SafetyDashboard extends Construct {
  /** `aws_cloudwatch_dashboard.safety`. */
  public readonly dashboard: CloudwatchDashboard;
  /** The dashboard's console URL (a token). */
  public readonly url: string;

  public constructor(scope: Construct, id: string, props: SafetyDashboardProps) {
    super(scope, id);
    const { dashboardName, instances, ...options } = props;
    const region = AwsContext.of(this).region;
    // The single instance's id, or a value matching no metric without an instance (a local: the body is a JSON
    // string, and a quoted literal inside an interpolation there would be escaped into invalid HCL).
    const singleInstanceId = address(
      new TerraformLocal(this, "DashboardInstanceId", Fn.coalesce([instances.instanceIdExpression, NO_INSTANCE_ID])),
      "safety",
      "dashboard_instance_id",
    ).asString;
    const body = safetyDashboardBody({
      ...options,
      region,
      metricsNamespace: instances.metricsNamespace,
      trainingLogGroup: instances.logGroupName,
      singleInstanceId,
      stallMinutes: instances.stallMinutes,
    });
    this.dashboard = address(new CloudwatchDashboard(this, "Dashboard", { dashboardName, dashboardBody: JSON.stringify(body) }), "safety");
    this.url = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboard.dashboardName}`;
  }
}
