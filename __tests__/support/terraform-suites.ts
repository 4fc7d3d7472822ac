/** Puts the project's `terraform test` suites and mocks next to a synthesized stack. */
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

const SUITES_DIR = join(__dirname, "..", "terraform");

/** Which suite a stack gets: `bootstrap` for the bootstrap stack, `environment` for every env stack. */
export function suiteFor(stack: string): "bootstrap" | "environment" {
  return stack === "bootstrap" ? "bootstrap" : "environment";
}

/**
 * Copies `__tests__/terraform/<suite>/*.tftest.hcl` to `<stackDir>/tests/` and the mocks to `<stackDir>/tests/mocks/`
 * (test files load them with `mock_provider "aws" { source = "./tests/mocks" }`). Returns the test file names.
 */
export function installTerraformSuite(stackDir: string, suite: "bootstrap" | "environment"): string[] {
  const testsDir = join(stackDir, "tests");
  mkdirSync(join(testsDir, "mocks"), { recursive: true });
  for (const file of readdirSync(join(SUITES_DIR, "mocks"))) {
    copyFileSync(join(SUITES_DIR, "mocks", file), join(testsDir, "mocks", file));
  }
  const files = readdirSync(join(SUITES_DIR, suite)).filter((file) => file.endsWith(".tftest.hcl"));
  for (const file of files) copyFileSync(join(SUITES_DIR, suite, file), join(testsDir, file));
  return files;
}
