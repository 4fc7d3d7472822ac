/** One `gti doctor` finding: PASS, WARN (works, but fix it soon), FAIL (stops a deploy or a run) or SKIP (could not check). */
import { CliError, describeAwsError, type AwsAction } from "../errors";

export type CheckStatus = "PASS" | "WARN" | "FAIL" | "SKIP";

export interface Check {
  /** Short name, e.g. `terraform`, `state bucket`. */
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do (WARN, FAIL, SKIP). */
  readonly fix?: string;
}

export const pass = (name: string, detail: string): Check => ({ name, status: "PASS", detail });
export const warn = (name: string, detail: string, fix: string): Check => ({ name, status: "WARN", detail, fix });
export const fail = (name: string, detail: string, fix: string): Check => ({ name, status: "FAIL", detail, fix });
export const skip = (name: string, detail: string, fix: string): Check => ({ name, status: "SKIP", detail, fix });

/** A check whose AWS call failed: FAIL (or `status`) with the translated message and fix. */
export function fromAwsError(name: string, error: unknown, action: AwsAction, status: CheckStatus = "FAIL"): Check {
  const described = error instanceof CliError ? error : describeAwsError(error, action);
  return { name, status, detail: described.message, fix: described.fix };
}
