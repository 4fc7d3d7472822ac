/**
 * The bad input table: malformed env configurations, each run through main.ts as a real process against a temp
 * envs folder (GTI_ENVS_DIR), asserting per row the exit code, that no stack trace is printed, and that the message
 * names the file (and line), the field and the fix.
 *
 * Rows share processes (a process costs about a second of CPU): every error row lives in one folder and one run,
 * which also proves that every problem of every file is listed at once, each once; the placeholder rows (warnings,
 * exit 0) share a second run.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env, type Row } from "../support/config/bad-config-rows";
import { blockFor, expectNoStackTrace, runMain, writeFiles, type Run } from "../support/config/bad-config-run";

const temp = mkdtempSync(join(tmpdir(), "gti-bad-config-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Placeholder rows: warnings (exit 0), in a run that also selects one stack while another env is broken. */
const PLACEHOLDER_ROWS: readonly Row[] = [
  {
    id: "p1",
    description: "the example account in the state bucket's name",
    files: {},
    expected: { file: "envs/_shared.ts", where: /:4:5  state\.bucket = "gti-tfstate-123456789012" \(env good\)/, rule: /account id of AWS's documentation/, fix: /name it after your own account/ },
  },
  {
    id: "p2",
    description: "an example owner in the Repository tag",
    files: {},
    expected: { file: "envs/_shared.ts", where: /repository = "github\.com\/example-org\/infra"/, rule: /example owner/, fix: /github\.com\/<your-org>\/gpu-training-infra/ },
  },
  {
    id: "p3",
    description: "an example GitHub repository trusted to push images",
    files: {},
    expected: { file: "envs/good.ts", where: /registry\.github\.repositories\[0\]\.repository = "example-org\/llm-training"/, rule: /anyone who registers the GitHub account "example-org" could push images/, fix: /name your own training-code repository/ },
  },
  {
    id: "p4",
    description: "an example.com alert address",
    files: {},
    expected: { file: "envs/good.ts", where: /safety\.alertEmails\[0\] = "ops@example\.com"/, rule: /reserved for examples: alerts .* would reach nobody/, fix: /a mailbox or list your team reads/ },
  },
  {
    id: "p5",
    description: "a documentation range allowed to SSH",
    files: {},
    expected: { file: "envs/good.ts", where: /compute\.ssh\.allowedCidrs\[0\] = "203\.0\.113\.0\/24"/, rule: /documentation address range/, fix: /office or VPN ranges/ },
  },
];

describe("bad input table: placeholders warn, one selected stack is synthesized while another env is broken", () => {
  const root = join(temp, "placeholders");
  const envs = join(root, "envs");
  const outdir = join(root, "out");
  let run: Run;

  beforeAll(() => {
    writeFiles(envs, {
      "_shared.ts":
        'export const shared = {\n  repository: "github.com/example-org/infra",\n  state: {\n    bucket: "gti-tfstate-123456789012",\n    region: "us-east-1",\n  },\n};\n',
      "good.ts": env(
        "good",
        '  safety: { alertEmails: ["ops@example.com"] },\n  registry: { github: { repositories: [{ repository: "example-org/llm-training" }] } },\n' +
          '  compute: { ssh: { keyPairName: "ops", allowedCidrs: ["203.0.113.0/24"] } },\n',
      ),
      "broken.ts": env("broken", '  compute: { instanceType: "t3.micro" },\n'),
    });
    // A stale stack folder (an env removed since the last synth).
    mkdirSync(join(outdir, "stacks", "removed-env"), { recursive: true });
    writeFileSync(join(outdir, "stacks", "removed-env", "cdk.tf.json"), "{}");
    run = runMain(envs, { CDKTF_OUTDIR: outdir, GTI_STACKS: "good" });
  }, 60_000);

  it.each(PLACEHOLDER_ROWS.map((row) => [row.id, row.description, row] as const))(
    "GIVEN %s (%s) WHEN main.ts runs THEN it exits 0 and warns, with no stack trace, naming the file, the field and the fix",
    (_id, _description, row) => {
      expect(run.status, run.stderr).toBe(0);
      expectNoStackTrace(run);
      const warnings = run.stderr.slice(run.stderr.indexOf("Placeholders:"));
      const block = blockFor(warnings, row.expected);
      expect(block, `no placeholder warning matching ${row.expected.where} in:\n${warnings}`).toBeDefined();
      expect(block?.split("\n").find((line) => line.trimStart().startsWith("Fix: "))).toMatch(row.expected.fix);
    },
  );

  it("GIVEN GTI_STACKS=good and a broken env WHEN main.ts runs THEN the broken env's problem is listed once and its stack (and bootstrap) not written", () => {
    expect(run.stderr).toMatch(/Not synthesized: broken and bootstrap \(1 problem in 1 file; GTI_STACKS=good does not need them\)/);
    expect(run.stderr.match(/envs\/broken\.ts:7:14 {2}compute\.instanceType = "t3\.micro"/g)).toHaveLength(1);
    expect(existsSync(join(outdir, "stacks", "good", "cdk.tf.json"))).toBe(true);
    expect(existsSync(join(outdir, "stacks", "broken"))).toBe(false);
    expect(existsSync(join(outdir, "stacks", "bootstrap"))).toBe(false);
  });

  it("GIVEN placeholders WHEN synthesized THEN the stack carries the Terraform guard listing them", () => {
    const json = JSON.parse(readFileSync(join(outdir, "stacks", "good", "cdk.tf.json"), "utf8")) as {
      resource: { terraform_data?: Record<string, { lifecycle: { precondition: { condition: string; error_message: string }[] } }> };
    };
    const [precondition] = json.resource.terraform_data?.placeholder_guard?.lifecycle.precondition ?? [];
    expect(precondition?.condition).toBe('${(data.aws_caller_identity.current.account_id == "123456789012")}');
    for (const field of ["state.bucket", "repository", "registry.github.repositories[0].repository", "safety.alertEmails[0]", "compute.ssh.allowedCidrs[0]"]) {
      expect(precondition?.error_message).toContain(`- ${field} = `);
    }
  });

  it("GIVEN a stale stack folder WHEN synth ends THEN it is removed and the stacks written are listed with their paths", () => {
    expect(existsSync(join(outdir, "stacks", "removed-env"))).toBe(false);
    expect(run.stdout).toContain(`Removed ${join(outdir, "stacks", "removed-env")}/ (no such stack any more).`);
    expect(run.stdout).toMatch(new RegExp(`Stacks written:\\n  good  ${join(outdir, "stacks", "good", "cdk.tf.json").replace(/[.]/g, "\\.")}`));
  });
});
