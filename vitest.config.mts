import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["__tests__/**/*.test.ts"],
    globalSetup: ["__tests__/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    // Synthesis is CPU-bound and terraform runs in child processes: one worker per core.
    maxWorkers: 2,
  },
});
