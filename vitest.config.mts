import { configDefaults, defineConfig } from "vitest/config";

/**
 * Test files that replace something process-wide (aws-sdk-client-mock's `mockClient` patches the SDK's clients,
 * `process.chdir`, `vi.stubEnv`, `process.env` written at import) run in a fresh module environment each (vitest's
 * default isolation). Every other file shares its worker's module cache with the files before it: cdktf, the AWS
 * provider's classes and the project's code are imported once per worker instead of once per file, which was most
 * of the suite's CPU outside terraform (docs/performance.md).
 */
const ISOLATED = ["__tests__/cli/**/*.test.ts", "__tests__/core/lambda-bundle.test.ts", "__tests__/modules/training-safety/runtime-guard/**/*.test.ts"];

export default defineConfig({
  test: {
    // The acceptance tier takes minutes: `npm run test:acceptance` (vitest.acceptance.config.mts).
    exclude: [...configDefaults.exclude, "__tests__/acceptance/**"],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    // Synthesis is CPU-bound and terraform runs in child processes: one worker per core.
    maxWorkers: 2,
    // Transformed test and project modules are kept in node_modules/.experimental-vitest-cache (keyed by content;
    // `npm ci` or `vitest --clearCache` empties it): a second run skips the transforms, ~3-4 s of CPU (docs/performance.md).
    experimental: { fsModuleCache: true },
    projects: [
      { extends: true, test: { name: "isolated", include: ISOLATED, isolate: true } },
      {
        extends: true,
        test: {
          name: "shared",
          include: ["__tests__/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "__tests__/acceptance/**", ...ISOLATED],
          isolate: false,
          // Terraform detection and the one-line summary `.ci/run` repeats: once per run, so in one project only (every
          // file that injects the detection is in this one).
          globalSetup: ["__tests__/support/global-setup.ts"],
        },
      },
    ],
  },
});
