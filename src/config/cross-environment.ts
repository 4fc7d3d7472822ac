/** Problems that span environments: two env files claiming the same name, bucket, state key or resource names. */
import { join } from "node:path";
import type { ConfigIssue, ConfigProblem } from "../errors";
import type { LoadedEnvironment } from "./load";

/** A name/file mismatch that names another env file's environment: say so (two files would define one stack). */
export function duplicateNameFix(problem: ConfigProblem, env: string, names: readonly string[], folder: string): string {
  if (typeof problem.value === "string" && problem.value !== env && names.includes(problem.value)) {
    return `set name: "${env}" ("${problem.value}" is the name of ${join(folder, `${problem.value}.ts`)}: two files cannot define one stack)`;
  }
  return problem.fix;
}

/** Rules between environments: one state bucket, and no two envs claiming the same bucket or ECR repository name. */
export function crossEnvironmentIssues(envs: readonly LoadedEnvironment[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const [first] = envs;
  if (!first) return issues;
  for (const env of envs.slice(1)) {
    for (const key of ["bucket", "region"] as const) {
      if (env.config.state[key] !== first.config.state[key]) {
        const field = `state.${key}`;
        issues.push({
          severity: "error",
          ...env.locate(field),
          environments: [env.name],
          field,
          value: env.config.state[key],
          rule: `every environment must use the one state bucket the bootstrap stack creates; "${first.name}" (${first.file}) uses ${JSON.stringify(first.config.state[key])}`,
          fix: "use the same state settings in every env (they come from envs/_shared.ts by default)",
        });
      }
    }
  }
  const claims = new Map<string, LoadedEnvironment>();
  for (const env of envs) {
    const named: [field: string, value: string | undefined, scope: string][] = [
      ["storage.dataBucketName", env.config.storage.dataBucketName, "S3 bucket names are global"],
      ["storage.outputsBucketName", env.config.storage.outputsBucketName, "S3 bucket names are global"],
      ["registry.repositoryName", env.config.registry.repositoryName, `ECR repository names are unique per account and region (${env.config.region})`],
    ];
    for (const [field, value, scope] of named) {
      if (value === undefined) continue;
      const key = field.startsWith("registry") ? `ecr:${env.config.region}:${value}` : `s3:${value}`;
      const other = claims.get(key);
      if (other && other.name !== env.name) {
        issues.push({
          severity: "error",
          ...env.locate(field),
          environments: [env.name],
          field,
          value,
          rule: `"${value}" is also used by environment "${other.name}" (${other.file}), and ${scope}`,
          fix: `give each environment its own name, or leave ${field} out for the default <project>-<env>-... name`,
        });
      } else {
        claims.set(key, env);
      }
    }
  }
  return issues;
}
