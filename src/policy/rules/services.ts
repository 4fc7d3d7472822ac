/**
 * ECR, Lambda, SNS and CloudWatch Logs rules (the registry and the safety module's runtime guard, alert topic and
 * log groups).
 */
import { COMPLIANT, nonCompliant, type PolicyContext, type PolicyElement, type PolicyRule } from "../types";
import { block, blocks, isExpression, isSet, isTrue, literalNumber, refersTo, show } from "../values";

/** Elements of `type` whose `attribute` refers to `target`, or equals `literal` when the target's name is literal. */
function pointingAt(context: PolicyContext, type: string, attribute: string, target: PolicyElement, literal: unknown): PolicyElement[] {
  const name = typeof literal === "string" && !isExpression(literal) ? literal : undefined;
  return context
    .ofType(type)
    .filter((e) => refersTo(e.config[attribute], target.address) || (name !== undefined && e.config[attribute] === name));
}

/** True when an ECR registry scanning configuration scans this repository on push (or continuously). */
function registryScans(repository: PolicyElement, context: PolicyContext): boolean {
  const name = typeof repository.config.name === "string" ? repository.config.name : "";
  return context.ofType("aws_ecr_registry_scanning_configuration").some((registry) => {
    if (registry.config.scan_type === "ENHANCED") return true;
    return blocks(registry.config, "rule").some(
      (rule) =>
        ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"].includes(String(rule.body.scan_frequency)) &&
        blocks(rule.body, "repository_filter").some((f) => {
          const filter = String(f.body.filter ?? "");
          const pattern = new RegExp(`^${filter.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
          return filter === "*" || (!isExpression(name) && pattern.test(name));
        }),
    );
  });
}

export const ECR_SCAN_ON_PUSH: PolicyRule = {
  id: "GTI-ECR-001",
  pack: "security",
  appliesTo: ["aws_ecr_repository"],
  what: "Images are scanned on push (repository setting, or a registry scanning rule covering the repository).",
  why: "A training image with a known-vulnerable package is flagged the moment CI pushes it, before an instance pulls it.",
  fix: "Set image_scanning_configuration { scan_on_push = true }.",
  check(repository, context) {
    if (isTrue(block(repository.config, "image_scanning_configuration")?.scan_on_push)) return COMPLIANT;
    if (registryScans(repository, context)) return COMPLIANT;
    return nonCompliant(
      `image_scanning_configuration.scan_on_push = ${show(block(repository.config, "image_scanning_configuration")?.scan_on_push)}`,
      "set image_scanning_configuration { scan_on_push = true }",
    );
  },
};

export const ECR_LIFECYCLE: PolicyRule = {
  id: "GTI-ECR-002",
  pack: "cost",
  appliesTo: ["aws_ecr_repository"],
  what: "The repository has a lifecycle policy.",
  why: "Every CI push adds a multi-GB training image; without expiry the registry bill only grows (the registry module keeps 10 tagged, 3 untagged).",
  fix: "Add an aws_ecr_lifecycle_policy for the repository (registry.keepTaggedImages / keepUntaggedImages).",
  check(repository, context) {
    const policies = pointingAt(context, "aws_ecr_lifecycle_policy", "repository", repository, repository.config.name);
    if (policies.some((p) => typeof p.config.policy === "string" && p.config.policy.length > 0)) return COMPLIANT;
    return nonCompliant(
      "no aws_ecr_lifecycle_policy targets this repository",
      "add an aws_ecr_lifecycle_policy with repository = <this repository>.name, expiring old tagged and untagged images",
    );
  },
};

/** The log group a function writes to, and how it was found. */
function logGroupOf(fn: PolicyElement, context: PolicyContext): PolicyElement | undefined {
  const configured = block(fn.config, "logging_config")?.log_group;
  const groups = context.ofType("aws_cloudwatch_log_group");
  if (isSet(configured)) {
    return groups.find((g) => refersTo(configured, g.address) || g.config.name === configured);
  }
  const functionName = fn.config.function_name;
  return groups.find(
    (g) =>
      (typeof g.config.name === "string" && typeof functionName === "string" && g.config.name === `/aws/lambda/${functionName}`) ||
      (typeof g.config.name === "string" && g.config.name.startsWith("/aws/lambda/") && refersTo(g.config.name, fn.address)),
  );
}

/** Why a log group's retention is not acceptable (undefined when it is). */
function retentionProblem(group: PolicyElement): string | undefined {
  const retention = group.config.retention_in_days;
  if (isExpression(retention)) return undefined;
  const days = literalNumber(retention);
  if (days === undefined) return "retention_in_days is not set (logs are kept, and billed, forever)";
  if (days === 0) return "retention_in_days = 0 (never expire)";
  return undefined;
}

export const LAMBDA_LOG_GROUP: PolicyRule = {
  id: "GTI-LAMBDA-001",
  pack: "cost",
  appliesTo: ["aws_lambda_function"],
  what: "The function's log group is managed here, with a retention.",
  why: "Otherwise Lambda creates /aws/lambda/<name> itself on first run, outside Terraform, with logs kept (and billed) forever.",
  fix: "Add an aws_cloudwatch_log_group named /aws/lambda/<function_name> (or set logging_config.log_group) with retention_in_days.",
  check(fn, context) {
    const group = logGroupOf(fn, context);
    if (!group) {
      const configured = block(fn.config, "logging_config")?.log_group;
      return nonCompliant(
        isSet(configured)
          ? `logging_config.log_group = ${show(configured)} is not an aws_cloudwatch_log_group of this stack`
          : `no aws_cloudwatch_log_group named "/aws/lambda/${String(fn.config.function_name)}" in this stack`,
        `add an aws_cloudwatch_log_group named "/aws/lambda/<function_name>" with retention_in_days = safety.logRetentionDays (and make the function depend on it)`,
      );
    }
    const problem = retentionProblem(group);
    return problem
      ? nonCompliant(`its log group ${group.address} has ${problem}`, `set retention_in_days on ${group.address} (safety.logRetentionDays)`)
      : COMPLIANT;
  },
};

export const LAMBDA_RESERVED_CONCURRENCY: PolicyRule = {
  id: "GTI-LAMBDA-002",
  pack: "cost",
  appliesTo: ["aws_lambda_function"],
  what: "Reserved concurrency is set (or a suppression documents why not).",
  why: "Caps what a runaway trigger can cost and keeps the function from starving others of the account's concurrency.",
  fix: "Set reserved_concurrent_executions (e.g. 1 for a scheduled guard), or suppress GTI-LAMBDA-002 with the reason.",
  check(fn) {
    const value = fn.config.reserved_concurrent_executions;
    const count = literalNumber(value);
    if (isExpression(value) || (count !== undefined && count >= 0)) return COMPLIANT;
    return nonCompliant(
      `reserved_concurrent_executions = ${show(value)}${count === -1 ? " (unreserved)" : ""}`,
      "set reserved_concurrent_executions to the most concurrent runs the function needs, or suppress GTI-LAMBDA-002 with the reason (e.g. the account's concurrency quota is too small to reserve from)",
    );
  },
};

export const LAMBDA_FAILURE_DESTINATION: PolicyRule = {
  id: "GTI-LAMBDA-003",
  pack: "security",
  appliesTo: ["aws_lambda_function"],
  what: "Failed asynchronous invocations go somewhere: a dead-letter queue/topic or an on-failure destination (or a suppression documents why not).",
  why: "A safety function (the runtime guard) that fails silently leaves GPU instances running; a failure target makes the failure visible.",
  fix: "Set dead_letter_config { target_arn = <SNS topic or SQS queue> }, or an aws_lambda_function_event_invoke_config with destination_config.on_failure.",
  check(fn, context) {
    const dlq = block(fn.config, "dead_letter_config")?.target_arn;
    if (typeof dlq === "string" && dlq.length > 0) return COMPLIANT;
    const configs = context
      .ofType("aws_lambda_function_event_invoke_config")
      .filter((c) => refersTo(c.config.function_name, fn.address) || (c.config.function_name === fn.config.function_name && !isExpression(fn.config.function_name)));
    const destination = configs.some((c) => {
      const onFailure = block(block(c.config, "destination_config") ?? {}, "on_failure");
      return typeof onFailure?.destination === "string" && onFailure.destination.length > 0;
    });
    if (destination) return COMPLIANT;
    return nonCompliant(
      configs.length
        ? `${configs.map((c) => c.address).join(", ")} has no destination_config.on_failure, and dead_letter_config is not set`
        : "neither dead_letter_config nor an aws_lambda_function_event_invoke_config with an on-failure destination is set",
      "send failures to the alerts topic: dead_letter_config { target_arn = <topic arn> } (the role needs sns:Publish on it), or suppress GTI-LAMBDA-003 with the reason",
    );
  },
};

export const SNS_ENCRYPTED: PolicyRule = {
  id: "GTI-SNS-001",
  pack: "security",
  appliesTo: ["aws_sns_topic"],
  what: "The topic is encrypted at rest (kms_master_key_id set).",
  why: "Alert messages carry instance ids, account ids and cost figures; SSE keeps them encrypted at rest.",
  fix: "Set kms_master_key_id (a customer managed key whose policy lets CloudWatch and Budgets publish; alias/aws/sns does not).",
  check(topic) {
    const key = topic.config.kms_master_key_id;
    if (typeof key === "string" && key.length > 0) return COMPLIANT;
    return nonCompliant(
      `kms_master_key_id = ${show(key)}`,
      "set kms_master_key_id to a customer managed KMS key that allows cloudwatch.amazonaws.com and budgets.amazonaws.com to use it",
    );
  },
};

export const LOGS_RETENTION: PolicyRule = {
  id: "GTI-LOGS-001",
  pack: "cost",
  appliesTo: ["aws_cloudwatch_log_group"],
  what: "The log group has a retention (retention_in_days set, not 0).",
  why: "Logs without retention are kept, and billed, forever.",
  fix: "Set retention_in_days = safety.logRetentionDays.",
  check(group) {
    const problem = retentionProblem(group);
    return problem ? nonCompliant(problem, "set retention_in_days (safety.logRetentionDays, e.g. 30)") : COMPLIANT;
  },
};

export const SERVICE_RULES: readonly PolicyRule[] = [
  ECR_SCAN_ON_PUSH,
  ECR_LIFECYCLE,
  LAMBDA_LOG_GROUP,
  LAMBDA_RESERVED_CONCURRENCY,
  LAMBDA_FAILURE_DESTINATION,
  SNS_ENCRYPTED,
  LOGS_RETENTION,
];
