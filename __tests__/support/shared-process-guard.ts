/**
 * Test files share their worker process with the files before and after them (vitest.config.mts: `isolate: false`),
 * so whatever a file changes process-wide and leaves behind changes the next file's world, silently and depending on
 * which worker ran what. This setup file runs before every test file and fails the file that ends with the process
 * not as it found it, naming what was left behind:
 *
 * - environment variables (set with `vi.stubEnv`, undone with `vi.unstubAllEnvs()`),
 * - the current directory (`process.chdir` back in a `finally`),
 * - aws-sdk-client-mock's mocks of a client class (`mockClient(EC2Client)` patches every EC2 client in the process:
 *   `mock.restore()` in `afterAll`; mocks of one client instance touch nothing else).
 */
import { afterAll, expect } from "vitest";
import { leftBehind, processState } from "./process-state";

const start = processState();

afterAll(() => {
  const problems = leftBehind(start);
  if (problems.length === 0) return;
  const file = expect.getState().testPath ?? "this test file";
  throw new Error(
    `${file} left process-wide state behind for the next test files in its worker (vitest.config.mts runs files in a ` +
      `shared process):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
  );
});
