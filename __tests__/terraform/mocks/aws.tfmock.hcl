# Values the mocked AWS provider returns for data sources and computed attributes in `terraform test`.
# Without them the mock invents random strings, and the real provider schema validation (which still runs) rejects
# e.g. a policy that is not JSON or an ARN that is not an ARN.

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAEXAMPLE"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

# An alias given as a KMS key ARN is resolved to its key (training-storage), since IAM matches key ARNs only.
mock_data "aws_kms_key" {
  defaults = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
}

# Computed attributes of applied resources, in the shapes AWS returns (the mock would invent random strings).
mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/mock-training"
    registry_id    = "123456789012"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mock-training"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn       = "arn:aws:iam::123456789012:role/mock-role"
    unique_id = "AROAEXAMPLEMOCKROLE00"
  }
}
