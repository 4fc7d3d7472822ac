/**
 * Issue 13, item 4, on the instance: the training container never holds the instance role. The launcher blocks the
 * metadata service for the container's cgroup before starting it (every network mode: `--network host` too), gives
 * it region and instance id as environment, and AWS credentials only as the container role's session for this run
 * (session tag RunId), served as a credential_process file and refreshed. The fake container resolves credentials the
 * way an SDK does and prints what it gets.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { INSTANCE_ID, RUN_ID, Sandbox } from "../support/runtime/sandbox";

const ROLE = "arn:aws:iam::123456789012:role/acme-dev-container";
const RULE = "OUTPUT -d 169.254.169.254/32 -m cgroup --path gti-training.slice -j REJECT";
let sandbox: Sandbox;
afterEach(async () => sandbox?.cleanup());

const trainingLog = () => (require("node:fs").existsSync(sandbox.path("var/log/training.log")) ? readFileSync(sandbox.path("var/log/training.log"), "utf8") : "");
const containerEnv = (): Record<string, string> => sandbox.containerEnv();

describe("the container's AWS access", () => {
  it("GIVEN a container role WHEN the container runs THEN it resolves only that role's session for its run, refreshed, and no metadata service", async () => {
    sandbox = await Sandbox.create({ config: { GTI_CONTAINER_ROLE_ARN: ROLE } });
    const release = join(sandbox.dir, "release");
    const launcher = sandbox.start("bin/gti-launcher", ["run"], {
      FAKE_RELEASE_FILE: release,
      FAKE_SHOW_AWS: "1",
      FAKE_STEP_SECONDS: "0.1",
      GTI_CREDENTIALS_REFRESH_SECONDS: "0.3",
    });
    await sandbox.waitFor("a refreshed session seen by the container", () => /credentials=\{[^}]*"AccessKeyId":"ASIAacme-dev-container2"/.test(trainingLog()));
    require("node:fs").writeFileSync(release, "");
    expect((await launcher.done).code).toBe(0);

    // Every session: the container role, tagged with this run; never the instance's own credentials.
    const sessions = readFileSync(join(sandbox.state, "sessions"), "utf8").trim().split("\n");
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    for (const s of sessions) expect(s).toMatch(new RegExp(`^ASIAacme-dev-container\\d+ ${ROLE} Key=RunId,Value=${RUN_ID}$`));
    const views = trainingLog().split("\n").filter((l) => l.startsWith("aws: "));
    expect(views.length).toBeGreaterThan(0);
    for (const view of views) {
      expect(view).toContain("env_key=none metadata_disabled=true region=us-east-1 process=cat /run/gti-aws/credentials.json");
      expect(view).toMatch(/credentials=\{"Version":1,"AccessKeyId":"ASIAacme-dev-container\d+","SecretAccessKey":"secret\d+","SessionToken":"token\d+","Expiration":"[\dT:-]+Z"\}/);
    }
    expect(containerEnv()).toMatchObject({ AWS_CONFIG_FILE: "/run/gti-aws/config", AWS_EC2_METADATA_DISABLED: "true", INSTANCE_ID, AWS_REGION: "us-east-1" });
    expect(Object.keys(containerEnv()).filter((k) => /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|CONTAINER_)/.test(k))).toEqual([]);
    // The credentials file: readable by the container user only.
    expect(require("node:fs").statSync(sandbox.path("run/gpu-training/container-aws/credentials.json")).mode & 0o077).toBe(0);
  });

  it("GIVEN any container (bridge, or --network host where the hop limit does not apply) WHEN it starts THEN the metadata firewall rule for its cgroup is in place first", async () => {
    sandbox = await Sandbox.create({ config: { GTI_CONTAINER_ROLE_ARN: ROLE } });
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" });
    const run = sandbox.callsOf("docker", "run --name gti-training")[0];
    const rule = sandbox.callsOf("iptables", `-w -I ${RULE}`)[0];
    const slice = sandbox.callsOf("systemctl", "start gti-training.slice")[0];
    expect(run?.args).toEqual(expect.arrayContaining(["--cgroup-parent", "gti-training.slice"]));
    expect(slice && rule && run && slice.t <= rule.t && rule.t <= run.t).toBe(true);
    expect(readFileSync(join(sandbox.state, "iptables"), "utf8")).toBe(`${RULE}\n`);
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1" }); // ended: nothing added twice
    expect(readFileSync(join(sandbox.state, "iptables"), "utf8")).toBe(`${RULE}\n`);
  });

  it("GIVEN the firewall rule cannot be installed WHEN the attempt starts THEN no container runs and FAILURE says why", async () => {
    sandbox = await Sandbox.create();
    sandbox.rule("iptables *", "*", 4, 0, "iptables: can't initialize iptables table `filter'");
    await sandbox.run("bin/gti-launcher", ["run"]);
    expect(sandbox.callsOf("docker", "run")).toEqual([]);
    expect(sandbox.marker()).toMatchObject({ status: "FAILURE", reason: "imds_block_failed" });
  });

  it("GIVEN the container role cannot be assumed WHEN the attempt starts THEN training runs without AWS credentials and says so", async () => {
    sandbox = await Sandbox.create({ config: { GTI_CONTAINER_ROLE_ARN: ROLE } });
    sandbox.rule("aws sts assume-role *", "*", 254, 0, "An error occurred (AccessDenied)");
    await sandbox.run("bin/gti-launcher", ["run"], { FAKE_STEPS: "1", FAKE_SHOW_AWS: "1" });
    expect(sandbox.marker().status).toBe("SUCCESS");
    expect(trainingLog()).toContain("process=none credentials=none");
    expect(readFileSync(sandbox.path("var/log/training-runtime.log"), "utf8")).toContain("no AWS credentials in the container");
  });
});
