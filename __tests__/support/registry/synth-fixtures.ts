/** The registry module synthesized, and its constants, for __tests__/modules/training-registry/. */
import { TrainingRegistry, type TrainingRegistryProps, type EcrLifecyclePolicyDocument } from "../../../modules/training-registry";
import { resourceOf } from "../synth";
import { type Statement, synthModule } from "../module-stack";

export const PREFIX = "acme-dev";

export const EXISTING_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

export const REPO_ARN = "${aws_ecr_repository.registry_training.arn}";

export const PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"];

export const PUSH_AND_PULL = [...PULL, "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"];

export const LOGIN_TOKEN: Statement = { sid: "GetRegistryLoginToken", effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] };

export const ONE_REPO = { repositories: [{ repository: "acme/llm-training" }] };

export function registry(props: Partial<TrainingRegistryProps> = {}) {
  return synthModule((stack) => new TrainingRegistry(stack, "Registry", { namePrefix: PREFIX, ...props }));
}

export const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

export function lifecyclePolicyOf(json: ReturnType<typeof registry>["json"]): EcrLifecyclePolicyDocument {
  return JSON.parse(String(resourceOf(json, "aws_ecr_lifecycle_policy", "registry_training").policy)) as EcrLifecyclePolicyDocument;
}
