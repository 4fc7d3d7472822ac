import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["__tests__/**/*.test.ts"],
    // The acceptance tier takes minutes: `npm run test:acceptance` (vitest.acceptance.config.mts).
    exclude: [...configDefaults.exclude, "__tests__/acceptance/**"],
    globalSetup: ["__tests__/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    // Synthesis is CPU-bound and terraform runs in child processes: one worker per core.
    maxWorkers: 2,
  },
});
