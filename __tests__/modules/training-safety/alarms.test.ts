/** Tests of training-safety: alarms. */
import { describe, expect, it } from "vitest";
import { resourceOf, resourcesOf } from "../../support/synth";
import { ENVIRONMENT, PREFIX, synthSafety } from "../../support/safety/stack";
import {
  PARTITION,
  REGION,
  TOPIC,
  custom,
  defaults,
} from "../../support/safety/synth-fixtures";

const COUNT = "${var.create_instance ? 1 : 0}";
describe("training-safety: alarms", () => {
  const idle = resourceOf(defaults.json, "aws_cloudwatch_metric_alarm", "safety_idle_gpu");

  it("GIVEN the instance's count WHEN synthesized THEN the idle-GPU alarm has the same count and watches that instance", () => {
    expect(idle.count).toBe(COUNT);
    expect(idle.dimensions).toEqual({ InstanceId: "${aws_instance.compute_training[count.index].id}" });
  });

  it("GIVEN the agent's metric WHEN synthesized THEN the alarm reads the busiest GPU in GpuTraining/<env> over 12 five-minute periods under 5%", () => {
    expect(idle).toMatchObject({
      namespace: `GpuTraining/${ENVIRONMENT}`,
      metric_name: "nvidia_smi_utilization_gpu",
      statistic: "Maximum",
      period: 300,
      evaluation_periods: 12,
      datapoints_to_alarm: 12,
      threshold: 5,
      comparison_operator: "LessThanThreshold",
    });
  });

  it("GIVEN missing data (booting, agent not up) WHEN evaluated THEN it never counts as idle", () => {
    expect(idle.treat_missing_data).toBe("notBreaching");
  });

  it("GIVEN auto_shutdown WHEN the alarm fires THEN it terminates the instance and notifies; with auto_shutdown false it only notifies", () => {
    expect(idle.alarm_actions).toBe(
      `\${var.auto_shutdown ? ["arn:${PARTITION}:automate:${REGION}:ec2:terminate", aws_sns_topic.safety_alerts.arn] : [aws_sns_topic.safety_alerts.arn]}`,
    );
  });

  it("GIVEN idle settings WHEN synthesized THEN threshold, periods and the stop action follow them", () => {
    const alarm = resourceOf(custom.json, "aws_cloudwatch_metric_alarm", "safety_idle_gpu");
    expect(alarm).toMatchObject({ threshold: 10, evaluation_periods: 6, datapoints_to_alarm: 6 });
    expect(alarm.alarm_actions).toContain(`automate:${REGION}:ec2:stop`);
  });

  it("GIVEN the idle alarm disabled WHEN synthesized THEN there is none", () => {
    const { json } = synthSafety({ safety: { idleGpu: { enabled: false } } });
    expect(resourcesOf(json, "aws_cloudwatch_metric_alarm")).not.toHaveProperty("safety_idle_gpu");
  });

  it("GIVEN the guard WHEN it errors THEN an alarm on its Errors metric notifies the topic", () => {
    expect(resourceOf(defaults.json, "aws_cloudwatch_metric_alarm", "safety_guard_errors")).toMatchObject({
      alarm_name: `${PREFIX}-runtime-guard-errors`,
      namespace: "AWS/Lambda",
      metric_name: "Errors",
      dimensions: { FunctionName: "${aws_lambda_function.safety_guard.function_name}" },
      statistic: "Sum",
      threshold: 1,
      comparison_operator: "GreaterThanOrEqualToThreshold",
      treat_missing_data: "notBreaching",
      alarm_actions: [TOPIC],
    });
  });
});
