/**
 * Issue 19's end-to-end check: the README's own command, `npx cdktf deploy`, run for real (synth, init, apply,
 * outputs) against the local AWS API with the environment-only setup of docs/local-aws.md: AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_S3, test credentials, TF_CLI_ARGS_init for the env stacks' S3 backend, `--skip-provider-lock`, a
 * CLI config with the provider mirror, CHECKPOINT_DISABLE=1. This is the sequence docs/local-aws.md ends with:
 * bootstrap, training with defaults, `--var create_instance=true`, back to `false`, and again with no change. Each
 * must exit 0, print no stack trace, and print the stack's outputs. Own server.
 *
 * One difference from the documented commands: `--output` puts the synthesized stacks (and so the bootstrap stack's
 * local state, `../../../terraform.bootstrap.tfstate` from its stack directory) in a scratch directory instead of the
 * checkout.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SynthesizedStack } from "../support/synth";
import type { TerraformToolchain } from "../support/terraform";
import { type AwsEmulator, EMULATOR_CREDENTIALS, startEmulator } from "../support/aws-emulator";
import { emulatorClients, liveInstances } from "../support/acceptance/clients";
import { run } from "../support/acceptance/local-stacks";
import { timedScenario } from "../support/acceptance/report";

const terraform = inject("terraform");
const emulatorDetection = inject("awsEmulator");
const reportDir = inject("acceptanceReportDir");
const reasons = [terraform, emulatorDetection].flatMap((d) => (d.available ? [] : [d.reason]));

const PROJECT_ROOT = join(__dirname, "..", "..");
/** Measured 67 s for a first deploy and ~26 s for a toggle (shared 2-core machine); generous for a busy one. */
const DEPLOY_TIMEOUT_MS = 600_000;
/** Lines of output pasted into the report for each row. */
const LAST_LINES = 8;

interface DeployRow {
  readonly command: string;
  readonly exit: number;
  readonly seconds: number;
  /** Terraform's summary: `Apply complete! Resources: ...` (after `No changes.` when nothing changed). */
  readonly summary: string;
  readonly lastLines: readonly string[];
}

/** Terminal control sequences (colours, cursor movement of cdktf's progress display). */
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

describe.skipIf(reasons.length > 0)(
  reasons.length ? `acceptance: npx cdktf deploy (SKIPPED: ${reasons.join("; ")})` : "acceptance: npx cdktf deploy against the local AWS API, environment variables only",
  () => {
    const toolchain = (terraform as { toolchain: TerraformToolchain }).toolchain;
    let emulator: AwsEmulator;
    let scratch: string;
    const rows: DeployRow[] = [];
    let failedBefore: string | undefined;

    beforeAll(async () => {
      emulator = await startEmulator();
      scratch = mkdtempSync(join(tmpdir(), "gti-acceptance-deploy-"));
    });

    afterAll(async () => {
      if (rows.length) {
        console.log(
          [
            "npx cdktf deploy against the local AWS API (issue 19's table):",
            "| command | exit | time | Terraform | last lines |",
            ...rows.map((r) => `| ${r.command} | ${r.exit} | ${r.seconds} s | ${r.summary} | ${r.lastLines.join(" / ")} |`),
          ].join("\n"),
        );
      }
      await emulator?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    /** The environment of docs/local-aws.md, nothing else of AWS from the parent process. */
    function deployEnv(stack: string): NodeJS.ProcessEnv {
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const key of Object.keys(env)) if (key.startsWith("AWS_") || key.startsWith("TF_")) delete env[key];
      return {
        ...env,
        ...EMULATOR_CREDENTIALS,
        AWS_ENDPOINT_URL: emulator.endpoint,
        AWS_ENDPOINT_URL_S3: emulator.endpoint,
        AWS_REGION: "us-east-1",
        AWS_EC2_METADATA_DISABLED: "true",
        CHECKPOINT_DISABLE: "1",
        TF_CLI_CONFIG_FILE: toolchain.cliConfigFile,
        // Only the env stacks have an S3 backend (the bootstrap stack's is local and rejects the argument).
        ...(stack === "bootstrap" ? {} : { TF_CLI_ARGS_init: "-backend-config=use_path_style=true" }),
      };
    }

    /**
     * What cdktf prints after Terraform's own output: the stack's name on a line of its own, then the outputs. The
     * interactive renderer (a terminal) draws it below a "Stacks waiting" progress line; with `CI` set (CI runners)
     * ink renders once, without that line, so the block is found by the last line holding only the stack's name.
     */
    function outputsBlock(text: string, stack: string): string {
      const names = [...text.matchAll(new RegExp(`^[ \\t]*${stack}[ \\t]*$`, "gm"))];
      const last = names.at(-1);
      return last?.index === undefined ? "" : text.slice(last.index);
    }

    /**
     * Runs one row of the table and checks what every row must satisfy; returns the output without escapes (`text`)
     * and its final part, where cdktf prints the outputs (`printed`).
     */
    async function deploy(stack: string, vars: readonly string[], label: string): Promise<{ text: string; printed: string }> {
      if (failedBefore) throw new Error(`the sequence stopped at "${failedBefore}"`);
      const args = ["cdktf", "deploy", stack, "--auto-approve", "--skip-provider-lock", "--output", join(scratch, "cdktf.out"), ...vars.flatMap((v) => ["--var", v])];
      const command = `npx cdktf deploy ${stack} --auto-approve --skip-provider-lock${vars.map((v) => ` --var ${v}`).join("")}`;
      const started = Date.now();
      const result = await run("npx", args, { cwd: PROJECT_ROOT, env: deployEnv(stack) }, DEPLOY_TIMEOUT_MS);
      const text = `${result.stdout}\n${result.stderr}`.replace(ANSI, "").replace(/\r/g, "");
      const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim());
      const summary = [
        /No changes\. Your infrastructure matches the configuration\./.exec(text)?.[0],
        /Apply complete! .*/.exec(text)?.[0],
        /Output_instance_id =.*/.exec(outputsBlock(text, stack))?.[0].trim(),
      ]
        .filter(Boolean)
        .join(" ");
      rows.push({
        command,
        exit: result.code,
        seconds: Math.round((Date.now() - started) / 1000),
        summary: summary || "(no Terraform summary)",
        lastLines: lines.slice(-LAST_LINES).map((l) => l.trim()),
      });
      failedBefore = label;
      expect(result.code, `${command} exited ${result.code}:\n${lines.slice(-60).join("\n")}`).toBe(0);
      expect(text, "no stack trace").not.toMatch(/^\s+at .+[(\s].+:\d+:\d+\)?$/m);
      expect(text, "no JavaScript error").not.toMatch(/\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/);
      // The outputs, grouped by construct under the stack's name: one `<id> = <value>` per Terraform output.
      const synthesized = JSON.parse(readFileSync(join(scratch, "cdktf.out", "stacks", stack, "cdk.tf.json"), "utf8")) as SynthesizedStack;
      const printed = outputsBlock(text, stack);
      expect(printed, "the outputs are printed under the stack's name").toMatch(new RegExp(`^\\s*${stack}$`, "m"));
      expect(printed.match(/^\s+[A-Za-z]\w* =( |$)/gm) ?? [], printed).toHaveLength(Object.keys(synthesized.output ?? {}).length);
      failedBefore = undefined;
      return { text, printed };
    }

    it("19 deploy: GIVEN the environment of docs/local-aws.md WHEN npx cdktf deploy runs the documented sequence THEN every deploy exits 0 with its outputs and no stack trace", async () => {
      const aws = emulatorClients(emulator);
      const training = { Project: "gpu-training-infra", Environment: "training" };

      await timedScenario(reportDir, "19a deploy bootstrap", async () => {
        const { printed } = await deploy("bootstrap", [], "bootstrap");
        expect(printed).toMatch(/StateBucketOutput = gpu-training-infra-tfstate-123456789012/);
      });
      await timedScenario(reportDir, "19b deploy training", async () => {
        const { text, printed } = await deploy("training", [], "training");
        expect(text).toMatch(/Apply complete! Resources: [1-9]\d* added, 0 changed, 0 destroyed\./);
        expect(printed).toMatch(/Output_instance_id =$/m);
        expect(await liveInstances(aws.ec2, training)).toEqual([]);
      });
      await timedScenario(reportDir, "19c deploy create_instance=true", async () => {
        const { printed } = await deploy("training", ["create_instance=true"], "create_instance=true");
        const [instance, ...others] = await liveInstances(aws.ec2, training);
        expect(others).toEqual([]);
        expect(printed).toMatch(new RegExp(`Output_instance_id = ${instance?.InstanceId}$`, "m"));
      });
      await timedScenario(reportDir, "19d deploy create_instance=false", async () => {
        const { printed } = await deploy("training", ["create_instance=false"], "create_instance=false");
        expect(printed).toMatch(/Output_instance_id =$/m);
        expect(await liveInstances(aws.ec2, training)).toEqual([]);
      });
      await timedScenario(reportDir, "19e deploy again, no change", async () => {
        const { text } = await deploy("training", [], "again");
        expect(text).toMatch(/No changes\. Your infrastructure matches the configuration\./);
        for (const summary of text.match(/Apply complete! .*/g) ?? []) expect(summary).toBe("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.");
      });
      expect(rows.map((r) => r.exit)).toEqual([0, 0, 0, 0, 0]);
    });
  },
);
