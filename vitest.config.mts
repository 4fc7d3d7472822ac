import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The acceptance tier takes minutes: `npm run test:acceptance` (vitest.acceptance.config.mts).
    exclude: [...configDefaults.exclude, "__tests__/acceptance/**"],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    // Synthesis is CPU-bound and terraform runs in child processes: one worker per core.
    maxWorkers: 2,
    // Every file runs in a worker shared with the files before it, not in a fresh process and module environment of
    // its own: cdktf, the AWS provider's classes, the AWS SDK and the project are imported once per worker instead of
    // once per file (docs/performance.md, "Vitest isolation"). So a file undoes whatever it changes process-wide
    // (environment variables, the current directory, aws-sdk-client-mock's mocks of client classes) before it ends;
    // __tests__/support/shared-process-guard.ts fails the file that does not, naming what it left behind.
    isolate: false,
    setupFiles: ["__tests__/support/shared-process-guard.ts"],
    // The AWS SDK warns once per process on Node < 22 (tests run on 20, the Lambda on 22): noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    // Transformed test and project modules are kept in node_modules/.experimental-vitest-cache (keyed by content;
    // `npm ci` or `vitest --clearCache` empties it): a second run skips the transforms, ~3-4 s of CPU (docs/performance.md).
    experimental: { fsModuleCache: true },
    // Terraform detection and the one-line summary `.ci/run` repeats: once per run.
    globalSetup: ["__tests__/support/global-setup.ts"],
  },
});
