/** Tests of training-storage grants. */
import { TerraformCount, type TerraformStack } from "cdktf";
import { describe, expect, it } from "vitest";
import { TrainingStorage, type TrainingStorageProps } from "../../../modules/training-storage";
import { resourceOf, resourcesOf } from "../../support/synth";
import { type Statement, statementsOf, synthModule, testRole } from "../../support/module-stack";
import { ALIAS, DATA_ARN, KEY, OUTPUTS_ARN, PREFIX } from "../../support/storage/synth-fixtures";

/** Storage plus a role (`aws_iam_role.compute_instance`) that receives grants. */
function granted(grant: (storage: TrainingStorage, stack: TerraformStack) => void, props: Partial<TrainingStorageProps> = {}) {
  return synthModule((stack) => {
    const built = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX, ...props });
    grant(built, stack);
    return built;
  });
}

describe("training-storage grants", () => {
  it("GIVEN grantReadData WHEN synthesized THEN the role may list the data bucket and get its objects, nothing else", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)));
    expect(statementsOf(json, "compute_instance_read_data")).toEqual<Statement[]>([
      { sid: "ListDataBucket", effect: "Allow", actions: ["s3:ListBucket"], resources: [DATA_ARN] },
      { sid: "ReadDataObjects", effect: "Allow", actions: ["s3:GetObject"], resources: [`${DATA_ARN}/*`] },
    ]);
  });

  it("GIVEN grantReadData WHEN synthesized THEN an inline policy named read-data is put on the role", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)));
    expect(resourceOf(json, "aws_iam_role_policy", "compute_instance_read_data")).toMatchObject({
      name: "read-data",
      role: "${aws_iam_role.compute_instance.name}",
      policy: "${data.aws_iam_policy_document.compute_instance_read_data.json}",
    });
  });

  it("GIVEN SSE-KMS and grantReadData WHEN synthesized THEN the role may decrypt with that key only", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)), { kmsKeyArn: KEY });
    expect(statementsOf(json, "compute_instance_read_data")).toContainEqual({
      sid: "DecryptWithStorageKey",
      effect: "Allow",
      actions: ["kms:Decrypt"],
      resources: [KEY],
    });
  });

  it("GIVEN a KMS alias and grantReadData WHEN synthesized THEN the KMS statement names the resolved key, not the alias", () => {
    const { json } = granted((s, stack) => s.grantReadData(testRole(stack)), { kmsKeyArn: ALIAS });
    const kms = statementsOf(json, "compute_instance_read_data").find((st) => st.sid === "DecryptWithStorageKey");
    expect(kms?.resources).toEqual(["${data.aws_kms_key.storage.arn}"]);
  });

  it("GIVEN grantWriteRuns WHEN synthesized THEN the role may write, read and list under runs/ only, and delete INTERRUPTED markers only", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack)));
    expect(statementsOf(json, "compute_instance_write_runs")).toEqual<Statement[]>([
      {
        sid: "ListRuns",
        effect: "Allow",
        actions: ["s3:ListBucket"],
        resources: [OUTPUTS_ARN],
        condition: [{ test: "StringLike", variable: "s3:prefix", values: ["runs/", "runs/*"] }],
      },
      {
        sid: "WriteRunObjects",
        effect: "Allow",
        actions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        resources: [`${OUTPUTS_ARN}/runs/*`],
      },
      { sid: "ReadRunObjects", effect: "Allow", actions: ["s3:GetObject"], resources: [`${OUTPUTS_ARN}/runs/*`] },
      { sid: "DeleteInterruptedMarkers", effect: "Allow", actions: ["s3:DeleteObject"], resources: [`${OUTPUTS_ARN}/runs/*/INTERRUPTED`] },
    ]);
  });

  it("GIVEN grantWriteRuns for named runs WHEN synthesized THEN writes, reads, lists and the INTERRUPTED delete stay under those runs' prefixes", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack), { runIds: ["${local.compute_run_id}", "acme-fleet-*"] }));
    const st = statementsOf(json, "compute_instance_write_runs");
    expect(st.find((x) => x.sid === "ListRuns")?.condition).toEqual([
      {
        test: "StringLike",
        variable: "s3:prefix",
        values: ["runs/${local.compute_run_id}/", "runs/${local.compute_run_id}/*", "runs/acme-fleet-*", "runs/acme-fleet-*/", "runs/acme-fleet-*/*"],
      },
    ]);
    expect(st.find((x) => x.sid === "WriteRunObjects")?.resources).toEqual([`${OUTPUTS_ARN}/runs/\${local.compute_run_id}/*`, `${OUTPUTS_ARN}/runs/acme-fleet-*/*`]);
    expect(st.find((x) => x.sid === "DeleteInterruptedMarkers")?.resources).toEqual([
      `${OUTPUTS_ARN}/runs/\${local.compute_run_id}/INTERRUPTED`,
      `${OUTPUTS_ARN}/runs/acme-fleet-*/INTERRUPTED`,
    ]);
  });

  it("GIVEN grantWriteOwnRun WHEN synthesized THEN a session writes and lists only runs/<its RunId tag>/ and deletes nothing", () => {
    const { json } = granted((s, stack) => s.grantWriteOwnRun(testRole(stack, ["compute", "container"])));
    const st = statementsOf(json, "compute_container_write_own_run");
    expect(st.flatMap((x) => x.resources ?? [])).toEqual([OUTPUTS_ARN, `${OUTPUTS_ARN}/runs/&{aws:PrincipalTag/RunId}/*`, `${OUTPUTS_ARN}/runs/&{aws:PrincipalTag/RunId}/*`]);
    expect(st.flatMap((x) => x.actions ?? [])).not.toContain("s3:DeleteObject");
    expect(st[0]?.condition?.[0]?.values).toEqual(["runs/&{aws:PrincipalTag/RunId}/", "runs/&{aws:PrincipalTag/RunId}/*"]);
  });

  it("GIVEN grantWriteRuns WHEN synthesized THEN nothing touches the data bucket", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack)));
    const resources = statementsOf(json, "compute_instance_write_runs").flatMap((st) => st.resources ?? []);
    expect(resources.filter((r) => r.includes("storage_data"))).toEqual([]);
  });

  it("GIVEN SSE-KMS and grantWriteRuns WHEN synthesized THEN the role may generate data keys and decrypt with that key only", () => {
    const { json } = granted((s, stack) => s.grantWriteRuns(testRole(stack)), { kmsKeyArn: KEY });
    expect(statementsOf(json, "compute_instance_write_runs")).toContainEqual({
      sid: "EncryptWithStorageKey",
      effect: "Allow",
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: [KEY],
    });
  });

  it("GIVEN grantReadRuns WHEN synthesized THEN the role may list and get under runs/ only", () => {
    const { json } = granted((s, stack) => s.grantReadRuns(testRole(stack, ["eval", "job"])));
    expect(statementsOf(json, "eval_job_read_runs")).toEqual<Statement[]>([
      {
        sid: "ListRuns",
        effect: "Allow",
        actions: ["s3:ListBucket"],
        resources: [OUTPUTS_ARN],
        condition: [{ test: "StringLike", variable: "s3:prefix", values: ["runs/", "runs/*"] }],
      },
      { sid: "ReadRunObjects", effect: "Allow", actions: ["s3:GetObject"], resources: [`${OUTPUTS_ARN}/runs/*`] },
    ]);
  });

  it("GIVEN any storage grant WHEN synthesized THEN no statement allows a * resource", () => {
    const { json } = granted((s, stack) => {
      const role = testRole(stack);
      s.grantReadData(role);
      s.grantWriteRuns(role);
      s.grantReadRuns(role);
    }, { kmsKeyArn: KEY });
    const names = ["compute_instance_read_data", "compute_instance_write_runs", "compute_instance_read_runs"];
    const resources = names.flatMap((name) => statementsOf(json, name).flatMap((st) => st.resources ?? []));
    expect(resources).not.toContain("*");
  });

  it("GIVEN the same grant twice WHEN synthesized THEN it is one policy (the second call returns the first grant)", () => {
    const { built: grants, json } = synthModule((stack) => {
      const s = new TrainingStorage(stack, "Storage", { namePrefix: PREFIX });
      const role = testRole(stack);
      return [s.grantReadData(role), s.grantReadData(role)];
    });
    expect(grants[0]).toBe(grants[1]);
    expect(Object.keys(resourcesOf(json, "aws_iam_role_policy"))).toEqual(["compute_instance_read_data"]);
  });

  it("GIVEN a counted role WHEN granted THEN a GtiError says to count the instance instead", () => {
    expect(() =>
      synthModule((stack) => {
        const role = testRole(stack);
        role.count = TerraformCount.of(1);
        new TrainingStorage(stack, "Storage", { namePrefix: PREFIX }).grantReadData(role);
      }),
    ).toThrow(/role uses count.*create the role unconditionally/);
  });
});
