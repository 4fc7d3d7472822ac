/**
 * Placeholders (src/config/placeholders.ts): which example values are found, where they are attributed, the shape
 * other tools rely on, and the Terraform guard the stacks carry while any is left.
 */
import { describe, expect, it } from "vitest";
import { loadProject } from "../../src/config/load";
import { EXAMPLE_ACCOUNT_ID, findPlaceholders, placeholdersOf } from "../../src/config/placeholders";
import { resourcesOf } from "../support/synth";
import { configWith, realEnvironments } from "../support/envs";
import { synthBootstrap, synthEnvironment } from "../support/stacks";

/** A config with no example value left (the training env with its shared placeholders replaced). */
function ownConfig(overrides: Record<string, unknown> = {}) {
  return configWith({ repository: "github.com/acme-ml/gpu-training-infra", state: { bucket: "acme-ml-gti-tfstate-210987654321" }, ...overrides });
}

describe("placeholders in the shipped envs", () => {
  it("GIVEN envs/ WHEN checked THEN the state bucket and the Repository tag are found once, in envs/_shared.ts, for every env", async () => {
    const findings = findPlaceholders((await loadProject()).environments);
    expect(findings.map((f) => [f.file, f.field, f.value, f.environments])).toEqual([
      ["envs/_shared.ts", "repository", "github.com/example-org/gpu-training-infra", ["dev", "prod", "training"]],
      ["envs/_shared.ts", "state.bucket", "gpu-training-infra-tfstate-123456789012", ["dev", "prod", "training"]],
    ]);
    for (const f of findings) expect(f.line).toBeGreaterThan(0);
  });

  it("GIVEN envs/training.ts WHEN loaded THEN it trusts no GitHub repository (nobody else's can push images)", async () => {
    const training = (await realEnvironments()).find((env) => env.name === "training");
    expect(training?.registry.github.repositories).toEqual([]);
  });

  it("GIVEN any finding WHEN returned THEN it has the documented shape: file, field, value and fix as non-empty strings", async () => {
    for (const finding of findPlaceholders((await loadProject()).environments)) {
      for (const key of ["file", "field", "value", "fix", "reason"] as const) {
        expect(typeof finding[key]).toBe("string");
        expect(finding[key].length, key).toBeGreaterThan(0);
      }
    }
  });
});

describe("what counts as a placeholder", () => {
  it.each([
    ["an example owner in the Repository tag", { repository: "github.com/example-org/x" }, "repository"],
    ["GitHub's documentation org trusted to push", { registry: { github: { repositories: [{ repository: "octo-org/train" }] } } }, "registry.github.repositories[0].repository"],
    ["an example e-mail domain", { safety: { alertEmails: ["ml-alerts@example.org"] } }, "safety.alertEmails[0]"],
    ["a .test e-mail domain", { safety: { alertEmails: ["ops@team.test"] } }, "safety.alertEmails[0]"],
    ["a documentation account guard", { allowedAccountIds: ["111122223333"] }, "allowedAccountIds[0]"],
    ["a KMS key of the example account", { storage: { kmsKeyArn: `arn:aws:kms:us-east-1:${EXAMPLE_ACCOUNT_ID}:alias/data` } }, "storage.kmsKeyArn"],
    ["a documentation IPv4 range for SSH", { compute: { ssh: { keyPairName: "k", allowedCidrs: ["198.51.100.7/32"] } } }, "compute.ssh.allowedCidrs[0]"],
    ["a documentation IPv6 range for SSH", { compute: { ssh: { keyPairName: "k", allowedCidrs: ["2001:db8::/48"] } } }, "compute.ssh.allowedCidrs[0]"],
  ])("GIVEN %s WHEN checked THEN it is found, with a fix", (_what, overrides, field) => {
    const found = placeholdersOf(ownConfig(overrides)).find((p) => p.field === field);
    expect(found, JSON.stringify(placeholdersOf(ownConfig(overrides)))).toBeDefined();
    expect(found?.fix.length).toBeGreaterThan(10);
  });

  it("GIVEN real-looking values WHEN checked THEN nothing is found", () => {
    const config = ownConfig({
      allowedAccountIds: ["210987654321"],
      registry: { github: { repositories: [{ repository: "acme-ml/llm-training" }] } },
      safety: { alertEmails: ["ml-alerts@acme-ml.io"] },
      compute: { ssh: { keyPairName: "k", allowedCidrs: ["198.51.101.0/24"] } },
    });
    expect(placeholdersOf(config)).toEqual([]);
  });

  it("GIVEN configs only (no loader) WHEN checked THEN findings name envs/<env>.ts", () => {
    const [finding] = findPlaceholders([ownConfig({ safety: { alertEmails: ["a@example.com"] } })]);
    expect(finding).toMatchObject({ file: "envs/training.ts", field: "safety.alertEmails[0]", value: "a@example.com" });
  });
});

describe("the Terraform guard", () => {
  it("GIVEN an env holding placeholders WHEN synthesized THEN terraform_data.placeholder_guard refuses other accounts", () => {
    const { json } = synthEnvironment(configWith({}));
    const guard = resourcesOf(json, "terraform_data").placeholder_guard as {
      lifecycle: { precondition: { condition: string; error_message: string }[] };
    };
    expect(guard.lifecycle.precondition[0]?.condition).toBe(`\${(data.aws_caller_identity.current.account_id == "${EXAMPLE_ACCOUNT_ID}")}`);
    expect(guard.lifecycle.precondition[0]?.error_message).toContain('- state.bucket = "gpu-training-infra-tfstate-123456789012": ');
    expect(guard.lifecycle.precondition[0]?.error_message).toContain("AWS account ${data.aws_caller_identity.current.account_id}");
  });

  it("GIVEN an env without placeholders WHEN synthesized THEN there is no guard", () => {
    const { json } = synthEnvironment(ownConfig());
    expect(resourcesOf(json, "terraform_data").placeholder_guard).toBeUndefined();
  });

  it("GIVEN placeholders in fields bootstrap does not use WHEN it is synthesized THEN its guard lists only its own", () => {
    const env = configWith({ safety: { alertEmails: ["ops@example.com"] } });
    const { json } = synthBootstrap([env]);
    const guard = resourcesOf(json, "terraform_data").placeholder_guard as { lifecycle: { precondition: { error_message: string }[] } };
    const message = guard.lifecycle.precondition[0]?.error_message ?? "";
    expect(message).toContain("- state.bucket = ");
    expect(message).not.toContain("alertEmails");
  });
});
