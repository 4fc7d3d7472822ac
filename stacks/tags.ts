/** The tags every resource of an environment carries (through the AWS provider's `default_tags`). */
import type { EnvironmentConfig } from "../src/config/schema";

/** Value of the ManagedBy tag. */
export const MANAGED_BY = "cdktf";

/**
 * Project, Environment, ManagedBy and Repository, plus the env's extra tags. The safety module finds this env's
 * instances by `Project` and `Environment`; AWS Budgets filters cost by `Environment` (a cost allocation tag).
 */
export function defaultTags(env: Pick<EnvironmentConfig, "project" | "name" | "repository" | "tags">): Record<string, string> {
  return {
    ...env.tags,
    Project: env.project,
    Environment: env.name,
    ManagedBy: MANAGED_BY,
    Repository: env.repository,
  };
}
