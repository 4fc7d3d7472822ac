/**
 * How `gti` fails: one message saying what went wrong and the fix, exit code 1 (2 for usage errors), never a stack
 * trace (unless `GTI_DEBUG=1`). AWS SDK errors are translated here, once, into messages a person can act on.
 */
import { GtiError } from "../errors";

/** Exit code of a failure (AWS, missing state, unknown run, ...). */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error (unknown option, missing argument, bad value). */
export const EXIT_USAGE = 2;

/** A failure with its fix; `gti` prints `Error: <message>\nFix: <fix>` and exits with `exitCode`. */
export class CliError extends GtiError {
  public override readonly name: string = "CliError";

  public constructor(
    message: string,
    /** What to do about it. */
    public readonly fix: string,
    /** The process exit code. */
    public readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** Bad command line input (exit code 2). */
export class UsageError extends CliError {
  public override readonly name = "UsageError";

  public constructor(message: string, fix: string) {
    super(message, fix, EXIT_USAGE);
  }
}

/** What was being done when an AWS call failed, for the message. */
export interface AwsAction {
  /** What was being done, e.g. `reading the state object s3://bucket/key`. */
  readonly doing: string;
  /** The IAM action(s) the call needs, e.g. `s3:GetObject`. */
  readonly permission: string;
}

const CREDENTIALS_MISSING = new Set(["CredentialsProviderError"]);
const CREDENTIALS_EXPIRED = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "TokenRefreshRequired",
  "InvalidGrantException",
]);
const CREDENTIALS_REJECTED = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "InvalidAccessKeyId",
  "InvalidSignatureException",
  "AuthFailure",
]);
const ACCESS_DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnauthorizedException",
  "Forbidden",
  "AllAccessDisabled",
]);
const THROTTLED = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
]);
const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "TimeoutError"]);

/** The error's AWS code (`name`, or `Code` of some S3 errors), or undefined for a non-AWS error. */
export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  if (typeof e.code === "string" && NETWORK.has(e.code)) return e.code;
  if (typeof e.Code === "string") return e.Code;
  return typeof e.name === "string" ? e.name : undefined;
}

/** True when the error is AWS's "not found" of some kind (`NoSuchKey`, `NotFound`, 404). */
export function isNotFound(error: unknown): boolean {
  const code = awsErrorCode(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return code === "NoSuchKey" || code === "NotFound" || code === "NoSuchBucket" || status === 404;
}

/**
 * Turns an AWS SDK error into a {@link CliError} naming what was being done and the fix: no or expired or rejected
 * credentials, access denied, throttling, network. Other errors keep AWS's own message, with the call that failed.
 */
export function describeAwsError(error: unknown, action: AwsAction): CliError {
  if (error instanceof CliError) return error;
  const code = awsErrorCode(error) ?? "";
  const message = error instanceof Error ? error.message : String(error);
  if (CREDENTIALS_MISSING.has(code) || /could not load credentials/i.test(message)) {
    return new CliError(
      `No AWS credentials found while ${action.doing}.`,
      "sign in first: `aws sso login --profile NAME` and export AWS_PROFILE=NAME, or `aws configure`, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    );
  }
  if (CREDENTIALS_EXPIRED.has(code) || /(token|credentials).*(expired|has expired)/i.test(message)) {
    return new CliError(
      `The AWS credentials have expired (${code || "expired token"}) while ${action.doing}.`,
      "refresh them: `aws sso login` (SSO), or get a new session token (`aws sts get-session-token` / your identity provider), then retry",
    );
  }
  if (CREDENTIALS_REJECTED.has(code)) {
    return new CliError(
      `AWS rejected the credentials (${code}) while ${action.doing}: ${message}`,
      "check AWS_PROFILE / AWS_ACCESS_KEY_ID: the key is unknown, deleted, or its secret is wrong (`aws sts get-caller-identity` tells which identity is used)",
    );
  }
  if (ACCESS_DENIED.has(code) || statusOf(error) === 403) {
    return new CliError(
      `Access denied while ${action.doing} (${code || "403"}).`,
      `grant ${action.permission} to the identity you use (\`aws sts get-caller-identity\` shows it), or use a profile that has it`,
    );
  }
  if (THROTTLED.has(code) || statusOf(error) === 429) {
    return new CliError(
      `AWS throttled the requests while ${action.doing} (${code || "429"}), even after the SDK's retries.`,
      "wait a minute and run the command again; if it keeps happening, other tools in the account are using the same API quota",
    );
  }
  if (NETWORK.has(code)) {
    return new CliError(
      `Could not reach AWS while ${action.doing} (${code}): ${message}`,
      "check the network, a proxy (HTTPS_PROXY), or AWS_ENDPOINT_URL if you point gti at a local AWS API",
    );
  }
  return new CliError(`AWS refused ${action.doing}: ${code ? `${code}: ` : ""}${message}`, `check the request above; it needs ${action.permission}`);
}

/** Runs `call`, translating any AWS error with {@link describeAwsError}. */
export async function aws<T>(action: AwsAction, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw describeAwsError(error, action);
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
