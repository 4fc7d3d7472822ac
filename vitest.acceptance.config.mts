import { defineConfig } from "vitest/config";

/**
 * The acceptance tier (`npm run test:acceptance`): the stacks applied with the real AWS provider, the real
 * `cdktf deploy`, and the guard Lambda's bundle, all against the local AWS API (scripts/local-aws.py). Minutes, not
 * seconds, so `npm test` leaves it out (vitest.config.mts excludes __tests__/acceptance).
 */
export default defineConfig({
  test: {
    include: ["__tests__/acceptance/**/*.test.ts"],
    globalSetup: ["__tests__/support/acceptance/global-setup.ts"],
    // Each scenario runs several applies of ~25-95 s each (mostly the provider waiting on the emulator).
    testTimeout: 1_200_000,
    hookTimeout: 300_000,
    // One emulator per file; the files wait on Terraform's polling far more than they compute, so they all run at once.
    maxWorkers: 4,
  },
});
