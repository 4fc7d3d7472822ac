/**
 * The check that keeps shared test workers honest (__tests__/support/shared-process-guard.ts, run before every test
 * file): what counts as process-wide state a file left behind. Each test undoes its own change before it ends.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it, vi } from "vitest";
import { envChanges, leftBehind, mockedClientClasses, processState } from "../support/process-state";

describe("process state a test file leaves behind", () => {
  it("GIVEN a mock of the EC2Client class WHEN the state is read THEN EC2Client is mocked, and no longer once restored", () => {
    const mock = mockClient(EC2Client);
    try {
      expect(mockedClientClasses()).toContain("EC2Client");
    } finally {
      mock.restore();
    }
    expect(mockedClientClasses()).not.toContain("EC2Client");
  });

  it("GIVEN a mock of one SNS client instance WHEN the state is read THEN no class is mocked (other clients are untouched)", () => {
    const mock = mockClient(new SNSClient({ region: "eu-west-1" }));
    try {
      expect(mockedClientClasses()).toEqual([]);
    } finally {
      mock.restore();
    }
  });

  it("GIVEN no mock WHEN the state is read THEN the SDK's base client class (which defines send) is not taken for a mock", () => {
    expect(mockedClientClasses()).toEqual([]);
  });

  it("GIVEN variables added, removed and changed WHEN compared THEN each is named, never its value", () => {
    const changes = envChanges({ KEPT: "1", GONE: "x", SECRET: "old-secret" }, { KEPT: "1", SECRET: "new-secret", NEW: "y" });
    expect(changes).toEqual(["GONE removed", "NEW added", "SECRET changed"]);
    expect(changes.join(" ")).not.toContain("secret");
  });

  it("GIVEN a variable stubbed and not unstubbed WHEN checked THEN it is reported with the fix; once unstubbed, nothing is", () => {
    const start = processState();
    vi.stubEnv("GTI_PROCESS_STATE_TEST", "1");
    try {
      expect(leftBehind(start)).toEqual(["environment variable GTI_PROCESS_STATE_TEST added: vi.stubEnv it and vi.unstubAllEnvs() in afterAll"]);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(leftBehind(start)).toEqual([]);
  });

  it("GIVEN the current directory changed WHEN checked THEN it is reported with the directory it was", () => {
    const start = processState();
    const elsewhere = realpathSync(mkdtempSync(`${tmpdir()}/gti-process-state-`));
    process.chdir(elsewhere);
    try {
      expect(leftBehind(start)).toEqual([`current directory ${elsewhere} (was ${start.cwd}): process.chdir back in a finally`]);
    } finally {
      process.chdir(start.cwd);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("GIVEN a class mocked after the file started WHEN checked THEN it is reported; a class already mocked at the start is not", () => {
    const before = mockClient(SNSClient);
    try {
      const start = processState();
      const after = mockClient(EC2Client);
      try {
        expect(leftBehind(start)).toEqual(["aws-sdk-client-mock still mocks EC2Client (every client of the class): mock.restore() in afterAll"]);
      } finally {
        after.restore();
      }
    } finally {
      before.restore();
    }
  });
});
