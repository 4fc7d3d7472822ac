# training-registry under terraform test, against a mocked AWS: the ECR repository (scan on push, AES256, mutable
# tags, no force delete, the seed's 10 tagged / 3 untagged retention) in every env, and the GitHub Actions role output,
# which is an ARN where the env allows GitHub repositories and "" where it allows none (the shipped envs trust none).
# Plan only (storage.tftest.hcl applies): the mocks' computed values (ARNs, the repository URL) are made known at plan.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

run "plan_configures_the_repository_retention_and_role" {
  command = plan

  assert {
    condition     = trimsuffix(aws_ecr_repository.registry_training.name, "-training") == trimsuffix(aws_s3_bucket.storage_data.bucket, "-data-123456789012")
    error_message = "The repository must be named <project>-<env>-training, got ${aws_ecr_repository.registry_training.name}."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.image_scanning_configuration[0].scan_on_push
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.encryption_configuration[0].encryption_type == "AES256"
    error_message = "The repository must be encrypted with AES256 by default."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.image_tag_mutability == "MUTABLE"
    error_message = "Tags must be mutable: the pipeline re-pushes latest."
  }

  assert {
    condition     = aws_ecr_repository.registry_training.force_delete == false
    error_message = "A repository holding images must never be force-deleted."
  }

  assert {
    condition     = aws_ecr_lifecycle_policy.registry_training.repository == aws_ecr_repository.registry_training.name
    error_message = "The lifecycle policy must apply to the training repository."
  }

  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.registry_training.policy).rules == [
      {
        rulePriority = 1
        description  = "Keep at most 3 untagged images"
        selection    = { tagStatus = "untagged", countType = "imageCountMoreThan", countNumber = 3 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last 10 tagged images"
        selection    = { tagStatus = "tagged", tagPatternList = ["*"], countType = "imageCountMoreThan", countNumber = 10 }
        action       = { type = "expire" }
      },
    ]
    error_message = "The lifecycle policy must keep 3 untagged and 10 tagged images, untagged first."
  }

  assert {
    condition     = output.ecr_repository_url == aws_ecr_repository.registry_training.repository_url
    error_message = "ecr_repository_url must be the repository's URL."
  }

  assert {
    condition     = output.github_actions_role_arn != null && (output.github_actions_role_arn == "" || can(regex("^arn:aws:iam::[0-9]{12}:role/", output.github_actions_role_arn)))
    error_message = "github_actions_role_arn must be a role ARN, or \"\" (never null) when no GitHub repository is allowed."
  }
}
