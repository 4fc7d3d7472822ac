/** Tests of training-compute: the instance role; training-compute: log group and token secret. */
import { describe, expect, it } from "vitest";
import { isStarResourceAction } from "../../../src/policy/rules/iam";
import { type SynthesizedStack, resourceOf, resourcesOf } from "../../support/synth";
import { type Statement, statementsOf } from "../../support/module-stack";
import { ENVIRONMENT, PREFIX, PROJECT, synthCompute } from "../../support/compute/stack";
import { defaults } from "../../support/compute/synth-fixtures";

const ACCOUNT_INSTANCES =
  "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:instance/*";

function statement(json: SynthesizedStack, document: string, sid: string): Statement {
  const found = statementsOf(json, document).find((s) => s.sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${document}`);
  return found;
}

describe("training-compute: the instance role", () => {
  const { json } = defaults;

  it("GIVEN the role WHEN assumed THEN only EC2 may assume it", () => {
    expect(statementsOf(json, "compute_instance_trust")).toEqual([
      {
        sid: "Ec2AssumesTheInstanceRole",
        effect: "Allow",
        actions: ["sts:AssumeRole"],
        principals: [{ type: "Service", identifiers: ["ec2.${data.aws_partition.current.dns_suffix}"] }],
      },
    ]);
  });

  it("GIVEN the role WHEN synthesized THEN it carries exactly the storage, registry and compute policies", () => {
    const policies = Object.entries(resourcesOf(json, "aws_iam_role_policy"))
      .filter(([, p]) => p.role === "${aws_iam_role.compute_instance.name}")
      .map(([name]) => name)
      .sort();
    expect(policies).toEqual(
      [
        "compute_instance_logs_and_metrics",
        "compute_instance_pull_images",
        "compute_instance_read_data",
        "compute_instance_read_hf_token",
        "compute_instance_self_shutdown",
        "compute_instance_session_manager",
        "compute_instance_write_runs",
        "compute_instance_assume_container_role",
        "compute_instance_read_runtime",
      ].sort(),
    );
  });

  it("GIVEN self-shutdown WHEN allowed THEN terminate and stop apply only to the calling instance, tagged with this env", () => {
    expect(statement(json, "compute_instance_self_shutdown", "TerminateOrStopOnlyItself")).toEqual({
      sid: "TerminateOrStopOnlyItself",
      effect: "Allow",
      actions: ["ec2:TerminateInstances", "ec2:StopInstances"],
      resources: [ACCOUNT_INSTANCES],
      condition: [
        {
          test: "ArnLike",
          variable: "ec2:SourceInstanceARN",
          values: [
            "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:instance/&{ec2:InstanceId}",
          ],
        },
        { test: "StringEquals", variable: "aws:ResourceTag/Project", values: [PROJECT] },
        { test: "StringEquals", variable: "aws:ResourceTag/Environment", values: [ENVIRONMENT] },
      ],
    });
  });

  it("GIVEN Session Manager WHEN allowed THEN registration is scoped to this account's instances and only the channels are on *", () => {
    expect(statementsOf(json, "compute_instance_session_manager")).toEqual([
      { sid: "RegisterWithSystemsManager", effect: "Allow", actions: ["ssm:UpdateInstanceInformation"], resources: [ACCOUNT_INSTANCES] },
      {
        sid: "SessionManagerChannels",
        effect: "Allow",
        actions: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
        resources: ["*"],
      },
    ]);
  });

  it("GIVEN logs WHEN allowed THEN streams and events go to the env's own log group only, and no group can be created", () => {
    const logs = statement(json, "compute_instance_logs_and_metrics", "WriteOwnLogGroup");
    expect(logs.actions).toEqual(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]);
    expect(logs.resources).toEqual(["${aws_cloudwatch_log_group.compute.arn}", "${aws_cloudwatch_log_group.compute.arn}:*"]);
  });

  it("GIVEN metrics WHEN allowed THEN PutMetricData is limited to the GpuTraining/<env> namespace", () => {
    expect(statement(json, "compute_instance_logs_and_metrics", "PutMetricsInOwnNamespace")).toMatchObject({
      actions: ["cloudwatch:PutMetricData"],
      resources: ["*"],
      condition: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [`GpuTraining/${ENVIRONMENT}`] }],
    });
  });

  it("GIVEN the token secret WHEN allowed THEN only GetSecretValue on the env's own secret", () => {
    expect(statementsOf(json, "compute_instance_read_hf_token")).toEqual([
      {
        sid: "ReadOwnHuggingFaceToken",
        effect: "Allow",
        actions: ["secretsmanager:GetSecretValue"],
        resources: ["${aws_secretsmanager_secret.compute_hf_token.arn}"],
      },
    ]);
  });

  it("GIVEN every compute policy WHEN read THEN a * resource carries only actions AWS grants on * alone", () => {
    for (const document of ["compute_instance_session_manager", "compute_instance_logs_and_metrics", "compute_instance_read_hf_token", "compute_instance_self_shutdown"]) {
      for (const s of statementsOf(json, document).filter((s) => s.resources?.includes("*"))) {
        expect(s.actions?.filter((a) => !isStarResourceAction(a)), `${document}/${s.sid}`).toEqual([]);
      }
    }
  });

  it("GIVEN every compute policy WHEN read THEN no action is a wildcard", () => {
    for (const document of ["compute_instance_session_manager", "compute_instance_logs_and_metrics", "compute_instance_read_hf_token", "compute_instance_self_shutdown"]) {
      for (const s of statementsOf(json, document)) expect(s.actions?.filter((a) => a.includes("*")), `${document}/${s.sid}`).toEqual([]);
    }
  });

  it("GIVEN the storage and registry grants WHEN given to the instance role THEN they are the modules' own (read data, write runs, pull)", () => {
    expect(statementsOf(json, "compute_instance_read_data").map((s) => s.sid)).toEqual(["ListDataBucket", "ReadDataObjects"]);
    expect(statementsOf(json, "compute_instance_write_runs").map((s) => s.sid)).toContain("WriteRunObjects");
    expect(statementsOf(json, "compute_instance_pull_images").map((s) => s.sid)).toEqual(["GetRegistryLoginToken", "PullImages"]);
  });

  it("GIVEN the role WHEN synthesized THEN its instance profile carries it under the same name", () => {
    expect(resourceOf(json, "aws_iam_instance_profile", "compute_instance")).toEqual(
      expect.objectContaining({ name: "${aws_iam_role.compute_instance.name}", role: "${aws_iam_role.compute_instance.name}" }),
    );
    expect(resourceOf(json, "aws_iam_role", "compute_instance").name).toBe(`${PREFIX}-instance`);
  });
});

describe("training-compute: log group and token secret", () => {
  it("GIVEN no retention setting WHEN synthesized THEN /gpu-training/<env> keeps logs 30 days", () => {
    expect(resourceOf(defaults.json, "aws_cloudwatch_log_group", "compute")).toMatchObject({ name: `/gpu-training/${ENVIRONMENT}`, retention_in_days: 30 });
  });

  it("GIVEN a retention WHEN synthesized THEN the log group uses it", () => {
    expect(resourceOf(synthCompute({ compute: { logRetentionDays: 7 } }).json, "aws_cloudwatch_log_group", "compute").retention_in_days).toBe(7);
  });

  it("GIVEN the token secret WHEN synthesized THEN it is created empty (no version: the value is set out of band)", () => {
    expect(resourceOf(defaults.json, "aws_secretsmanager_secret", "compute_hf_token")).toMatchObject({
      name: `${PREFIX}/hf-token`,
      recovery_window_in_days: 7,
    });
    expect(resourcesOf(defaults.json, "aws_secretsmanager_secret_version")).toEqual({});
  });
});
