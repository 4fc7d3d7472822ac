/** The ECR actions each registry grant gives, as named lists (like aws-cdk's ECR `grantPull`/`grantPush`). */

/**
 * Get a registry login token (`aws ecr get-login-password`, `aws-actions/amazon-ecr-login`). AWS authorizes this
 * action only on `*`: it has no resource to scope to.
 */
export const AUTH_TOKEN_ACTIONS = ["ecr:GetAuthorizationToken"] as const;

/** Pull an image: check layers, get their download URLs, get the manifest. */
export const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"] as const;

/** Push an image: upload layers, then put the manifest (a tag). */
export const PUSH_ACTIONS = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:InitiateLayerUpload",
  "ecr:UploadLayerPart",
  "ecr:CompleteLayerUpload",
  "ecr:PutImage",
] as const;
