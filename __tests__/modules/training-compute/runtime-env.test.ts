/**
 * The training instance's user data: the runtime contract (every file of runtime/ installed under /opt/gpu-training
 * with its mode, runtime.env written, install.sh run), the encoding (YAML literal blocks with Terraform's template
 * sequences escaped, gz+b64 where text cannot go), and the 16 KB budget.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RUNTIME_DIR, installedContent, renderEnvFile } from "../../../modules/training-compute";
import { GtiError } from "../../../src/errors";
import { cloudConfigOf, evaluatedUserData, fileBytes, runtimeBundleOf, runtimeEnvOf, runtimeObjectOf, synthCompute, unpackBundle } from "../../support/compute/stack";
import {
  hasPython,
  pyYaml,
  runtimeFilesOnDisk,
  tempRuntime,
  temps,
  walkFiles,
} from "../../support/compute/user-data-fixtures";

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The keys of the runtime's configuration table in runtime/README.md (its documented contract). */
const RUNTIME_CONFIG_KEYS: string[] = (() => {
  const readme = readFileSync(join(__dirname, "..", "..", "..", "runtime", "README.md"), "utf8");
  const table = /^## Configuration[\s\S]*?\n\n(\|[\s\S]*?)\n\n/m.exec(readme)?.[1] ?? "";
  return [...table.matchAll(/`([A-Z_][A-Z0-9_]*)`/g)].map((m) => m[1] as string);
})();

describe("training-compute user data: the runtime contract", () => {
  const { json } = synthCompute();
  const object = runtimeObjectOf(json);
  const bundle = runtimeBundleOf(json);
  const sha = createHash("sha256").update(bundle, "utf8").digest("hex");

  it("GIVEN the project's runtime/ WHEN the bundle is unpacked THEN it writes every file but *.md, with exactly its bytes as installed", () => {
    const out = unpackBundle(bundle, tempRuntime({}));
    expect(walkFiles(out)).toEqual(runtimeFilesOnDisk());
    for (const path of runtimeFilesOnDisk()) {
      expect(readFileSync(join(out, path)).equals(installedContent(path, readFileSync(join(RUNTIME_DIR, path)))), path).toBe(true);
    }
  });

  it("GIVEN the bundle WHEN unpacked THEN files under bin/ and *.sh are 0755, the rest 0644", () => {
    const out = unpackBundle(bundle, tempRuntime({}));
    for (const path of runtimeFilesOnDisk()) {
      expect((statSync(join(out, path)).mode & 0o777).toString(8), path).toBe(path.startsWith("bin/") || path.endsWith(".sh") ? "755" : "644");
    }
  });

  it("GIVEN the bundle WHEN uploaded THEN its key is runtime/<its SHA-256>.sh in the outputs bucket, from a file asset, replaced create-first", () => {
    expect(object.key).toBe(`runtime/${sha}.sh`);
    expect(object.source).toMatch(new RegExp(`^assets/[^/]+/[0-9A-F]+/${sha}\\.sh$`));
    expect(object).not.toHaveProperty("content"); // plans show a path, not the scripts
    expect(object.bucket).toBe("${aws_s3_bucket.storage_outputs.bucket}");
    expect(object.lifecycle).toEqual({ create_before_destroy: true });
    expect(object.server_side_encryption).toBe("AES256");
  });

  it("GIVEN the user data WHEN cloud-init runs it THEN it writes runtime.env and fetch-runtime.sh, and runs the fetch with the bundle's URI and SHA-256", () => {
    const config = cloudConfigOf(json);
    expect(config.write_files.map((f) => [f.path, f.permissions, f.owner])).toEqual([
      ["/etc/gpu-training/runtime.env", "0644", "root:root"],
      ["/opt/gpu-training/fetch-runtime.sh", "0755", "root:root"],
    ]);
    expect(config.runcmd).toEqual([
      ["/opt/gpu-training/fetch-runtime.sh", "s3://${aws_s3_object.compute_runtime.bucket}/${aws_s3_object.compute_runtime.key}", sha],
    ]);
    const fetch = config.write_files.find((f) => f.path.endsWith("fetch-runtime.sh"))!;
    expect(fileBytes(fetch).equals(installedContent("fetch-runtime.sh", readFileSync(join(RUNTIME_DIR, "fetch-runtime.sh"))))).toBe(true);
  });

  it("GIVEN the user data WHEN read THEN it is a cloud-config (first line #cloud-config) naming the bundle's hash", () => {
    expect(evaluatedUserData(json).split("\n")[0]).toBe("#cloud-config");
    expect(evaluatedUserData(json)).toContain(`(SHA-256 ${sha})`);
  });

  it("GIVEN the runtime's CloudWatch agent config WHEN bundled THEN its literal ${aws:InstanceId} arrives intact", () => {
    expect(bundle).toContain("${aws:InstanceId}"); // a file, no Terraform template: nothing to escape
    const out = unpackBundle(bundle, tempRuntime({}));
    expect(readFileSync(join(out, "cloudwatch-agent.json"), "utf8")).toContain("${aws:InstanceId}");
  });

  it("GIVEN the instance role WHEN granted THEN it may get exactly the bundle's object, nothing else of the runtime prefix", () => {
    const policy = (json.data as Record<string, Record<string, { statement: { sid: string; actions: string[]; resources: string[] }[] }>>)
      .aws_iam_policy_document.compute_instance_read_runtime;
    expect(policy?.statement).toEqual([
      expect.objectContaining({ sid: "ReadTheRuntimeBundle", actions: ["s3:GetObject"], resources: [`\${aws_s3_bucket.storage_outputs.arn}/runtime/${sha}.sh`] }),
    ]);
  });

  it.skipIf(!hasPython)("GIVEN the user data WHEN parsed by PyYAML (cloud-init's parser) THEN it reads the same files and command", () => {
    const config = pyYaml(evaluatedUserData(json)) as { write_files: { path: string; content: string }[]; runcmd: unknown };
    const ours = cloudConfigOf(json);
    expect(config.write_files.map((f) => [f.path, f.content])).toEqual(ours.write_files.map((f) => [f.path, f.content]));
    expect(config.runcmd).toEqual(ours.runcmd);
  });
});

describe("training-compute user data: runtime.env", () => {
  const { json } = synthCompute({ compute: { checkpointIntervalMinutes: 20, spotGraceSeconds: 45 } });
  const env = new Map(runtimeEnvOf(json));

  it("GIVEN the single instance WHEN its runtime.env is written THEN it has every key the runtime needs, in order", () => {
    expect([...env.keys()]).toEqual([
      "GTI_PROJECT",
      "GTI_ENVIRONMENT",
      "GTI_MODE",
      "AWS_REGION",
      "GTI_DATA_BUCKET",
      "GTI_DATA_PREFIX",
      "GTI_OUTPUTS_BUCKET",
      "GTI_ECR_REPOSITORY_URL",
      "GTI_IMAGE_TAG",
      "GTI_RUN_ID",
      "GTI_AUTO_SHUTDOWN",
      "GTI_CHECKPOINT_INTERVAL_MINUTES",
      "GTI_SPOT_GRACE_SECONDS",
      "GTI_HF_TOKEN_SECRET_ARN",
      "GTI_LOG_GROUP",
      "GTI_METRICS_NAMESPACE",
      "GTI_NVME_MOUNT",
      "GTI_CONTAINER_ROLE_ARN",
      "GTI_STALL_MINUTES",
    ]);
  });

  it("GIVEN runtime.env WHEN compared with the runtime's documented configuration THEN every key it writes is one the runtime defines", () => {
    expect([...env.keys()].filter((key) => !RUNTIME_CONFIG_KEYS.includes(key))).toEqual([]);
  });

  it("GIVEN runtime.env WHEN compared with the runtime's code THEN it sets every key the runtime requires (no default)", () => {
    const common = readFileSync(join(RUNTIME_DIR, "lib", "common.sh"), "utf8");
    const required = [...common.matchAll(/\[ -n "\$\{(GTI_[A-Z_]+):-\}" \] \|\| die/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    for (const key of required) expect([...env.keys()], key).toContain(key);
  });

  it("GIVEN the stack WHEN runtime.env is written THEN the buckets, repository, secret and region are Terraform references", () => {
    expect(env.get("GTI_DATA_BUCKET")).toBe("${aws_s3_bucket.storage_data.bucket}");
    expect(env.get("GTI_OUTPUTS_BUCKET")).toBe("${aws_s3_bucket.storage_outputs.bucket}");
    expect(env.get("GTI_ECR_REPOSITORY_URL")).toBe("${aws_ecr_repository.registry_training.repository_url}");
    expect(env.get("GTI_HF_TOKEN_SECRET_ARN")).toBe("${aws_secretsmanager_secret.compute_hf_token.arn}");
    expect(env.get("AWS_REGION")).toBe("${data.aws_region.current.name}");
  });

  it("GIVEN the variables WHEN runtime.env is written THEN the image tag, auto-shutdown and run id follow them", () => {
    expect(env.get("GTI_IMAGE_TAG")).toBe("${var.training_image_tag}");
    expect(env.get("GTI_AUTO_SHUTDOWN")).toBe("${var.auto_shutdown}");
    expect(env.get("GTI_RUN_ID")).toBe("${local.compute_run_id}");
  });

  it("GIVEN the env's settings WHEN runtime.env is written THEN mode, names, intervals, log group and namespace are literals", () => {
    expect(Object.fromEntries([...env].filter(([, v]) => !v.includes("${")))).toEqual({
      GTI_PROJECT: "acme",
      GTI_ENVIRONMENT: "dev",
      GTI_MODE: "single",
      GTI_DATA_PREFIX: "data/",
      GTI_CHECKPOINT_INTERVAL_MINUTES: "20",
      GTI_SPOT_GRACE_SECONDS: "45",
      GTI_LOG_GROUP: "/gpu-training/dev",
      GTI_METRICS_NAMESPACE: "GpuTraining/dev",
      GTI_NVME_MOUNT: "/opt/dlami/nvme",
      GTI_STALL_MINUTES: "30",
    });
  });

  it("GIVEN runtime.env with values filled in WHEN sourced by bash THEN every variable has its value", () => {
    const entry = cloudConfigOf(json).write_files.find((f) => f.path === "/etc/gpu-training/runtime.env")!;
    const file = join(tempRuntime({}), "runtime.env");
    writeFileSync(file, entry.content.replace(/\$\{[^}]+\}/g, "filled-in"));
    const out = execFileSync("bash", ["-c", 'set -eu; . "$1"; printf "%s|%s|%s" "$GTI_MODE" "$GTI_DATA_BUCKET" "$GTI_LOG_GROUP"', "bash", file]);
    expect(out.toString()).toBe("single|filled-in|/gpu-training/dev");
  });

  it("GIVEN a literal value with a quote WHEN the env file is rendered THEN a GtiError names the key", () => {
    expect(() => renderEnvFile([{ key: "GTI_PROJECT", value: "it's" }])).toThrow(/GTI_PROJECT = "it's" holds a quote/);
  });

  it("GIVEN a literal value with a newline WHEN the env file is rendered THEN a GtiError names the key", () => {
    expect(() => renderEnvFile([{ key: "GTI_X", value: "a\nb" }])).toThrow(GtiError);
  });

  it("GIVEN a key that is not a shell variable name WHEN the env file is rendered THEN a GtiError names it", () => {
    expect(() => renderEnvFile([{ key: "gti-x", value: "a" }])).toThrow(/"gti-x" is not a shell variable name/);
  });

  it("GIVEN a key set twice WHEN the env file is rendered THEN a GtiError says so", () => {
    expect(() => renderEnvFile([{ key: "GTI_X", value: "a" }, { key: "GTI_X", value: "b" }])).toThrow(/GTI_X is set twice/);
  });

  it("GIVEN a literal value with a template directive WHEN rendered THEN it is escaped so Terraform writes it as is", () => {
    expect(renderEnvFile([{ key: "GTI_X", value: "a%{c}" }])).toContain("GTI_X='a%%{c}'");
  });

  it("GIVEN a value with ${...} WHEN rendered THEN it is kept as a Terraform interpolation", () => {
    expect(renderEnvFile([{ key: "GTI_X", value: "${var.x}" }])).toContain("GTI_X='${var.x}'");
  });
});
