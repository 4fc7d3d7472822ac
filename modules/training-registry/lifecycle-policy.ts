/**
 * ECR lifecycle policies as typed objects. The provider takes the policy as a JSON string (it is not IAM), so it is
 * built here from a typed object and serialized once; tests parse it back.
 * See https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 */

/** Which images a rule selects. */
export type EcrLifecycleSelection =
  | {
      readonly tagStatus: "untagged";
      readonly countType: "imageCountMoreThan";
      readonly countNumber: number;
    }
  | {
      readonly tagStatus: "tagged";
      /** Tag patterns (up to four `*` each); an image is selected when it has a tag matching every pattern. */
      readonly tagPatternList: readonly string[];
      readonly countType: "imageCountMoreThan";
      readonly countNumber: number;
    };

export interface EcrLifecycleRule {
  /** Rules apply in ascending priority; an image selected by a rule is not expired by a later one. */
  readonly rulePriority: number;
  readonly description: string;
  readonly selection: EcrLifecycleSelection;
  readonly action: { readonly type: "expire" };
}

export interface EcrLifecyclePolicyDocument {
  readonly rules: readonly EcrLifecycleRule[];
}

/**
 * Keeps the newest `keepUntagged` untagged images (build leftovers, e.g. a previous `latest`) and the newest
 * `keepTagged` tagged images, expiring older ones. Untagged images are handled first, so that the tagged rule's
 * `*` pattern never sees them.
 */
export function imageRetentionPolicy(keepTagged: number, keepUntagged: number): EcrLifecyclePolicyDocument {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Keep at most ${keepUntagged} untagged images`,
        selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: keepUntagged },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        description: `Keep the last ${keepTagged} tagged images`,
        selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keepTagged },
        action: { type: "expire" },
      },
    ],
  };
}
