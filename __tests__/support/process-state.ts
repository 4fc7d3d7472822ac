/**
 * Process-wide state a test file can leave behind for the files after it in the same worker (vitest.config.mts runs
 * files in a shared process): environment variables, the current directory, aws-sdk-client-mock's mocks of client
 * classes. Read by the setup file __tests__/support/shared-process-guard.ts.
 */
import { createRequire } from "node:module";

const cache = createRequire(__filename).cache;
const SDK_CLIENT_PACKAGE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-cjs[\\/]index\.js$/;

/** Names of the AWS SDK client classes loaded in this process whose `send` is replaced (a mock of the class). */
export function mockedClientClasses(): string[] {
  const mocked: string[] = [];
  for (const [id, module] of Object.entries(cache)) {
    if (!module || !SDK_CLIENT_PACKAGE.test(id)) continue;
    for (const [name, value] of Object.entries(module.exports as Record<string, unknown>)) {
      if (typeof value !== "function" || !name.endsWith("Client")) continue;
      // A client class inherits `send` from the SDK's base class (exported too, as __Client); a mock is an own `send`.
      const proto = value.prototype as object;
      if (Object.hasOwn(proto, "send") && "send" in (Object.getPrototypeOf(proto) as object)) mocked.push(name);
    }
  }
  return mocked.sort();
}

/** What differs between two snapshots of `process.env`, by name (values can be credentials). */
export function envChanges(before: NodeJS.ProcessEnv, after: NodeJS.ProcessEnv): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changes: string[] = [];
  for (const name of [...names].sort()) {
    if (!(name in before)) changes.push(`${name} added`);
    else if (!(name in after)) changes.push(`${name} removed`);
    else if (before[name] !== after[name]) changes.push(`${name} changed`);
  }
  return changes;
}

/** What {@link leftBehind} compares against: the process as a test file found it. */
export interface ProcessState {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly mocked: readonly string[];
}

/** The process-wide state a test file left behind, one line each (empty when it left none). */
export function leftBehind(start: ProcessState): string[] {
  const problems = envChanges(start.env, process.env).map((change) => `environment variable ${change}: vi.stubEnv it and vi.unstubAllEnvs() in afterAll`);
  if (process.cwd() !== start.cwd) problems.push(`current directory ${process.cwd()} (was ${start.cwd}): process.chdir back in a finally`);
  const mocked = mockedClientClasses().filter((name) => !start.mocked.includes(name));
  if (mocked.length > 0) problems.push(`aws-sdk-client-mock still mocks ${mocked.join(", ")} (every client of the class): mock.restore() in afterAll`);
  return problems;
}

/** The process-wide state now. */
export function processState(): ProcessState {
  return { env: { ...process.env }, cwd: process.cwd(), mocked: mockedClientClasses() };
}
