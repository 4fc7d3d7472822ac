/** Puts the project's `terraform test` suites and mocks next to a synthesized stack. */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { TerraformStack } from "cdktf";
import type { TerraformToolchain } from "./terraform-run";
import { type InitializedStack, initializedStack } from "./terraform-console";

const SUITES_DIR = join(__dirname, "..", "terraform");

/** Which suite a stack gets: `bootstrap` for the bootstrap stack, `environment` for every env stack. */
export function suiteFor(stack: string): "bootstrap" | "environment" {
  return stack === "bootstrap" ? "bootstrap" : "environment";
}

/**
 * The env stack that runs every file of the `environment` suite. The module file (`modules.tftest.hcl`: compute, registry, safety) tests
 * module code against the mock, the same code in every env, and cost seconds of CPU per plan; the other env stacks run
 * {@link WHOLE_STACK_FILES} only: their own output is still validated, planned without an instance, with one on spot
 * and on demand, applied and torn down (prevent_destroy), plus the fleet suites where they have a fleet.
 */
export const FULL_SUITE_STACK = "training";

/** The `environment` files every env stack runs: the ops scenarios, and the one apply (with its teardown). */
export const WHOLE_STACK_FILES: readonly string[] = ["stack.tftest.hcl", "storage.tftest.hcl"];

/** The `environment` suite's files a stack runs: all of them on {@link FULL_SUITE_STACK}, else {@link WHOLE_STACK_FILES}. */
export function environmentFilesFor(stack: string): readonly string[] | undefined {
  return stack === FULL_SUITE_STACK ? undefined : WHOLE_STACK_FILES;
}

/**
 * Copies `__tests__/terraform/<suite>/*.tftest.hcl` (or only `files`) to `<stackDir>/tests/` and the mocks to
 * `<stackDir>/tests/mocks/` (test files load them with `mock_provider "aws" { source = "./tests/mocks" }`). A whole
 * suite (no `files`: the bootstrap stack, and {@link FULL_SUITE_STACK}) also gets `__tests__/terraform/shared/`, the
 * files that hold for every kind of stack (the placeholder guard). Returns the test file names.
 */
export function installTerraformSuite(stackDir: string, suite: "bootstrap" | "environment", files?: readonly string[]): string[] {
  const testsDir = join(stackDir, "tests");
  mkdirSync(join(testsDir, "mocks"), { recursive: true });
  for (const file of readdirSync(join(SUITES_DIR, "mocks"))) {
    copyFileSync(join(SUITES_DIR, "mocks", file), join(testsDir, "mocks", file));
  }
  const available = readdirSync(join(SUITES_DIR, suite)).filter((file) => file.endsWith(".tftest.hcl"));
  const missing = (files ?? []).filter((file) => !available.includes(file));
  if (missing.length > 0) throw new Error(`no ${missing.join(", ")} in __tests__/terraform/${suite}/ (it has ${available.join(", ")})`);
  const chosen = files ? available.filter((file) => files.includes(file)) : available;
  for (const file of chosen) copyFileSync(join(SUITES_DIR, suite, file), join(testsDir, file));
  if (files) return chosen;
  const shared = readdirSync(join(SUITES_DIR, "shared")).filter((file) => file.endsWith(".tftest.hcl"));
  for (const file of shared) copyFileSync(join(SUITES_DIR, "shared", file), join(testsDir, file));
  return [...chosen, ...shared];
}

/** What the fleet suites need to know of an env (its `fleet` config). */
export interface FleetSuiteSettings {
  readonly enabled: boolean;
  readonly maxInstances: number;
  readonly mode: "independent" | "multi-node";
}

/**
 * For a stack whose env has a fleet: copies `__tests__/terraform/fleet/*.tftest.hcl` (and `fleet-multinode/` for a
 * multi-node fleet) to `<stackDir>/tests/`, and writes `tests/fleet.auto.tfvars` with the env's maximum
 * (`fleet_max_instances`, a test-only variable: the runs prove each env's exact boundary). Returns the test file
 * names; none for an env without a fleet. Call after {@link installTerraformSuite} (which creates the mocks).
 */
export function installFleetSuites(stackDir: string, fleet: FleetSuiteSettings): string[] {
  if (!fleet.enabled) return [];
  const testsDir = join(stackDir, "tests");
  mkdirSync(testsDir, { recursive: true });
  const suites = fleet.mode === "multi-node" ? ["fleet", "fleet-multinode"] : ["fleet"];
  const files: string[] = [];
  for (const suite of suites) {
    for (const file of readdirSync(join(SUITES_DIR, suite)).filter((f) => f.endsWith(".tftest.hcl"))) {
      copyFileSync(join(SUITES_DIR, suite, file), join(testsDir, file));
      files.push(file);
    }
  }
  writeFileSync(
    join(testsDir, "fleet.auto.tfvars"),
    `# Written by __tests__/support/terraform-suites.ts: this env's fleet.maxInstances, for the fleet test runs.\nfleet_max_instances = ${fleet.maxInstances}\n`,
  );
  return files;
}

/**
 * A module-level `terraform test`: a one-stack app holding what `build` adds (variables, a construct, test outputs;
 * no provider, so nothing to install), `terraform init -backend=false`ed, with the test file `suite` (a path under
 * `__tests__/terraform/`) copied to its `tests/`. Call `app.cleanup()` when done.
 */
export async function stackWithSuite(
  toolchain: TerraformToolchain,
  name: string,
  build: (stack: TerraformStack) => void,
  suite: string,
): Promise<InitializedStack> {
  const initialized = await initializedStack(toolchain, name, build, ["-backend=false"]);
  mkdirSync(join(initialized.dir, "tests"), { recursive: true });
  copyFileSync(suite, join(initialized.dir, "tests", basename(suite)));
  return initialized;
}
