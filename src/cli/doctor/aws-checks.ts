/**
 * `gti doctor` checks against the AWS account: credentials and account, the state bucket, the cost allocation tag of
 * the budget, the alert e-mail subscriptions and the training image (the last two need the deployed stack).
 */
import { ListCostAllocationTagsCommand } from "@aws-sdk/client-cost-explorer";
import { DescribeImagesCommand } from "@aws-sdk/client-ecr";
import { GetBucketVersioningCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { type Subscription, paginateListSubscriptionsByTopic } from "@aws-sdk/client-sns";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { EnvironmentConfig } from "../../config/schema";
import { COST_EXPLORER_REGION } from "../aws";
import type { Context } from "../context";
import { awsErrorCode } from "../errors";
import { OUTPUT, type StackOutputs } from "../outputs";
import { type Check, fail, fromAwsError, pass, warn } from "./check";

/**
 * The cost allocation tag the budget filters on: `BUDGET_COST_TAG` of modules/training-safety (kept here so the CLI
 * does not load the constructs; a test checks they agree).
 */
export const BUDGET_COST_TAG = "Environment";

/** The caller's identity and whether the account may be deployed to. */
export async function credentialsCheck(ctx: Context, config: EnvironmentConfig): Promise<{ check: Check; account?: string }> {
  const name = "credentials";
  let identity;
  try {
    identity = await ctx.clients.get("sts", config.region).send(new GetCallerIdentityCommand({}));
  } catch (error) {
    return { check: fromAwsError(name, error, { doing: "asking AWS who you are (sts get-caller-identity)", permission: "sts:GetCallerIdentity (allowed to everyone)" }) };
  }
  const account = identity.Account ?? "?";
  const who = `${identity.Arn ?? "?"} in account ${account}`;
  if (config.allowedAccountIds.length === 0) {
    return {
      check: warn(name, `${who}; allowedAccountIds is empty, so nothing stops a deploy into the wrong account`, `set allowedAccountIds: ["${account}"] in envs/${config.name}.ts if this is the right account`),
      account,
    };
  }
  if (!config.allowedAccountIds.includes(account)) {
    return {
      check: fail(name, `${who}, but envs/${config.name}.ts allows only ${config.allowedAccountIds.join(", ")}: terraform will refuse to deploy`, "switch to a profile of an allowed account (AWS_PROFILE=...), or add this account to allowedAccountIds"),
      account,
    };
  }
  return { check: pass(name, `${who} (allowed by allowedAccountIds)`), account };
}

/** The state bucket exists, is this account's to use, and keeps versions (a bad apply can be undone). */
export async function stateBucketCheck(ctx: Context, config: EnvironmentConfig): Promise<Check> {
  const name = "state bucket";
  const { bucket, region } = config.state;
  const s3 = ctx.clients.get("s3", region);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const code = awsErrorCode(error);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (code === "NotFound" || code === "NoSuchBucket" || status === 404) {
      return fail(name, `s3://${bucket} (${region}) does not exist yet`, "create it: npm run synth && npx cdktf deploy bootstrap");
    }
    if (status === 403 || code === "Forbidden") {
      return fail(name, `s3://${bucket} exists but this identity may not use it (403): another account may own the name`, "pick a unique state.bucket in envs/_shared.ts (e.g. with your account id), or grant s3:ListBucket on it");
    }
    if (status === 301 || code === "PermanentRedirect") {
      return fail(name, `s3://${bucket} is not in ${region}`, "set state.region in envs/_shared.ts to the bucket's region");
    }
    return fromAwsError(name, error, { doing: `checking the state bucket s3://${bucket}`, permission: "s3:ListBucket on the state bucket" });
  }
  try {
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    if (versioning.Status === "Enabled") return pass(name, `s3://${bucket} (${region}) exists, versioning enabled`);
    return warn(name, `s3://${bucket} exists but versioning is ${versioning.Status ?? "off"}: a bad apply cannot be rolled back`, `enable it: aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled (the bootstrap stack does)`);
  } catch (error) {
    return fromAwsError(name, error, { doing: `reading the versioning of s3://${bucket}`, permission: "s3:GetBucketVersioning on the state bucket" }, "WARN");
  }
}

/** The budget's cost allocation tag (`Environment`) is active, or the budget sees no cost at all. */
export async function costTagCheck(ctx: Context): Promise<Check> {
  const name = "cost allocation tag";
  const activate = `activate it from the payer account: aws ce update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=${BUDGET_COST_TAG},Status=Active`;
  try {
    const response = await ctx.clients.get("costExplorer", COST_EXPLORER_REGION).send(new ListCostAllocationTagsCommand({ TagKeys: [BUDGET_COST_TAG], Type: "UserDefined" }));
    const tag = response.CostAllocationTags?.find((t) => t.TagKey === BUDGET_COST_TAG);
    if (!tag) {
      return warn(name, `${BUDGET_COST_TAG} is not a cost allocation tag yet (it appears up to 24 h after a resource first carries it): the budget sees no cost until it is active`, `after the first deploy, ${activate}`);
    }
    if (tag.Status === "Active") return pass(name, `${BUDGET_COST_TAG} is active: the budget filters this env's cost`);
    return warn(name, `${BUDGET_COST_TAG} is ${tag.Status ?? "inactive"}: the budget sees no cost`, activate);
  } catch (error) {
    return fromAwsError(name, error, { doing: "reading the cost allocation tags", permission: "ce:ListCostAllocationTags (payer or management account)" }, "WARN");
  }
}

/** Every `safety.alertEmails` address is subscribed to the alerts topic and has confirmed. */
export async function alertsCheck(ctx: Context, config: EnvironmentConfig, outputs: StackOutputs): Promise<Check> {
  const name = "alert subscriptions";
  const emails = config.safety.alertEmails;
  if (emails.length === 0) {
    return warn(name, "safety.alertEmails is empty: nobody is told when the guard stops an instance, a GPU idles or the budget runs out", `add addresses to safety.alertEmails in envs/${config.name}.ts and deploy`);
  }
  const topic = outputs.get(OUTPUT.alertsTopicArn);
  if (!topic) return fail(name, "the stack has no alerts_topic_arn output", `deploy the stack: npx cdktf deploy ${config.name}`);
  const subscriptions: Subscription[] = [];
  try {
    for await (const page of paginateListSubscriptionsByTopic({ client: ctx.clients.get("sns", config.region) }, { TopicArn: topic })) {
      subscriptions.push(...(page.Subscriptions ?? []));
    }
  } catch (error) {
    return fromAwsError(name, error, { doing: `listing the subscriptions of ${topic}`, permission: "sns:ListSubscriptionsByTopic" }, "WARN");
  }
  const state = (email: string): "confirmed" | "pending" | "missing" => {
    const sub = subscriptions.find((s) => s.Protocol === "email" && s.Endpoint?.toLowerCase() === email.toLowerCase());
    if (!sub) return "missing";
    return sub.SubscriptionArn === "PendingConfirmation" ? "pending" : "confirmed";
  };
  const states = emails.map((email) => ({ email, state: state(email) }));
  const summary = states.map((s) => `${s.email} ${s.state}`).join(", ");
  if (states.some((s) => s.state === "missing")) return fail(name, summary, `deploy the stack (npx cdktf deploy ${config.name}): it subscribes every address of safety.alertEmails`);
  if (states.some((s) => s.state === "pending")) {
    return warn(name, summary, "each pending address must click the link in the \"AWS Notification - Subscription Confirmation\" e-mail (resend: deploy again, or aws sns subscribe)");
  }
  return pass(name, summary);
}

/** The image tag the instances pull (`compute.trainingImageTag`) is in the env's ECR repository. */
export async function imageCheck(ctx: Context, config: EnvironmentConfig, outputs: StackOutputs): Promise<Check> {
  const name = "training image";
  const url = outputs.get(OUTPUT.ecrRepositoryUrl);
  if (!url) return fail(name, "the stack has no ecr_repository_url output", `deploy the stack: npx cdktf deploy ${config.name}`);
  const repositoryName = url.slice(url.indexOf("/") + 1);
  const tag = config.compute.trainingImageTag;
  try {
    await ctx.clients.get("ecr", config.region).send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }));
    return pass(name, `${url}:${tag} exists`);
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "ImageNotFoundException") {
      return fail(name, `${url}:${tag} does not exist: an instance would fail to pull it`, `push it: the GitHub Actions workflow (templates/README.md), or docker build/tag/push ${url}:${tag}`);
    }
    if (code === "RepositoryNotFoundException") return fail(name, `the repository ${repositoryName} does not exist`, `deploy the stack: npx cdktf deploy ${config.name}`);
    return fromAwsError(name, error, { doing: `looking for ${url}:${tag}`, permission: "ecr:DescribeImages on the repository" });
  }
}
