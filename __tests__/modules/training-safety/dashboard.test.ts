/** Tests of training-safety: dashboard and outputs; training-safety in the environment stacks. */
import { describe, expect, it } from "vitest";
import { policyReportOf } from "../../../src/policy";
import { type SynthesizedStack, resourceOf } from "../../support/synth";
import { realEnvironment } from "../../support/envs";
import { ENVIRONMENT, FLEET_GROUP, PREFIX } from "../../support/safety/stack";
import { synthEnvironment } from "../../support/stacks";
import {
  REGION,
  TOPIC,
  custom,
  defaults,
} from "../../support/safety/synth-fixtures";

function dashboardOf(json: SynthesizedStack): { widgets: Array<{ type: string; x: number; y: number; width: number; height: number; properties: Record<string, unknown> }> } {
  return JSON.parse(resourceOf(json, "aws_cloudwatch_dashboard", "safety").dashboard_body as string);
}

describe("training-safety: dashboard and outputs", () => {
  const body = dashboardOf(defaults.json);
  const text = JSON.stringify(body);

  it("GIVEN the dashboard body WHEN parsed THEN it is JSON whose widgets tile the 24-column grid without overlapping", () => {
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x += 1) {
        for (let y = w.y; y < w.y + w.height; y += 1) {
          expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it("GIVEN the dashboard WHEN read THEN it graphs GPU utilisation and memory, CPU, memory, disk from the env's namespace", () => {
    for (const metric of ["nvidia_smi_utilization_gpu", "nvidia_smi_memory_used", "cpu_usage_active", "mem_used_percent", "disk_used_percent"]) {
      expect(text).toContain(JSON.stringify(`{GpuTraining/${ENVIRONMENT},InstanceId} MetricName="${metric}"`).slice(1, -1));
    }
    expect(text).toContain('"value":5,"label":"idle-GPU alarm threshold"');
  });

  it("GIVEN the dashboard WHEN read THEN network is graphed for the single instance by its id (or a placeholder)", () => {
    expect(text).toContain('["AWS/EC2","NetworkIn","InstanceId","${local.safety_dashboard_instance_id}"');
    expect(defaults.json.locals?.safety_dashboard_instance_id).toBe('${coalesce(one(aws_instance.compute_training[*].id), "i-none")}');
  });

  it("GIVEN the dashboard WHEN read THEN Logs Insights shows the guard's actions and the training log errors", () => {
    const queries = body.widgets.filter((w) => w.type === "log").map((w) => w.properties.query as string);
    expect(queries).toEqual([
      expect.stringMatching(new RegExp(`^SOURCE '/aws/lambda/${PREFIX}-runtime-guard' \\| .*filter ispresent\\(instanceId\\)`)),
      expect.stringMatching(new RegExp(`^SOURCE '/gpu-training/${ENVIRONMENT}' \\| .*traceback`)),
    ]);
  });

  it("GIVEN no fleet WHEN read THEN no fleet widget; GIVEN a fleet THEN its group's instances and network are graphed", () => {
    expect(text).not.toContain("AWS/AutoScaling");
    const fleetText = JSON.stringify(dashboardOf(custom.json));
    expect(fleetText).toContain('["AWS/AutoScaling","GroupInServiceInstances","AutoScalingGroupName","${aws_autoscaling_group.fleet.name}"');
    expect(fleetText).toContain('["AWS/EC2","NetworkIn","AutoScalingGroupName","${aws_autoscaling_group.fleet.name}"');
    expect(FLEET_GROUP).toBe(`${PREFIX}-fleet`);
  });

  it("GIVEN the module WHEN synthesized THEN alerts_topic_arn and dashboard_url are outputs with descriptions", () => {
    expect(defaults.json.output?.alerts_topic_arn).toMatchObject({ value: TOPIC, description: expect.stringContaining("SNS topic") });
    expect(defaults.json.output?.dashboard_url).toMatchObject({
      value: `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#dashboards/dashboard/\${aws_cloudwatch_dashboard.safety.dashboard_name}`,
      description: expect.stringContaining("CloudWatch dashboard"),
    });
  });
});

describe("training-safety in the environment stacks", () => {
  it.each(["training", "dev", "prod"])("GIVEN env %s WHEN synthesized THEN its safety nets follow its config and pass the policy packs", async (name) => {
    const env = await realEnvironment(name);
    const { stack, json } = synthEnvironment(env);
    expect(stack.safety.node.path).toBe(`${name}/Safety`);
    expect(resourceOf(json, "aws_budgets_budget", "safety_monthly").limit_amount).toBe(String(env.safety.monthlyBudgetUsd));
    expect(resourceOf(json, "aws_cloudwatch_event_rule", "safety_guard_schedule").schedule_expression).toBe(env.safety.guard.schedule);
    expect(Object.keys(json.output ?? {})).toEqual(expect.arrayContaining(["alerts_topic_arn", "dashboard_url"]));
    expect(policyReportOf(stack)?.violations).toEqual([]);
  });
});
