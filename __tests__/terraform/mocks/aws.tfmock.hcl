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

# training-compute: the GPU DLAMI's public SSM parameter (a String parameter: insecure_value is what the module reads).
mock_data "aws_ssm_parameter" {
  defaults = {
    type           = "String"
    value          = "ami-0123456789abcdef0"
    insecure_value = "ami-0123456789abcdef0"
  }
}

# training-compute network: the default VPC, the AZs offering the instance type (deliberately unsorted: the module
# sorts them), the default subnet of the chosen AZ, the dedicated VPC's zones.
mock_data "aws_vpc" {
  defaults = {
    id         = "vpc-0123456789abcdef0"
    cidr_block = "172.31.0.0/16"
  }
}

mock_data "aws_ec2_instance_type_offerings" {
  defaults = {
    locations      = ["us-east-1c", "us-east-1a"]
    location_types = ["availability-zone", "availability-zone"]
    instance_types = ["g5.xlarge", "g5.xlarge"]
  }
}

mock_data "aws_subnet" {
  defaults = {
    id                = "subnet-0123456789abcdef0"
    availability_zone = "us-east-1a"
    vpc_id            = "vpc-0123456789abcdef0"
  }
}

mock_data "aws_subnets" {
  defaults = {
    ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names    = ["us-east-1a", "us-east-1b", "us-east-1c"]
    zone_ids = ["use1-az1", "use1-az2", "use1-az4"]
  }
}

mock_resource "aws_instance" {
  defaults = {
    id         = "i-0123456789abcdef0"
    arn        = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
    public_ip  = "203.0.113.10"
    private_ip = "172.31.0.10"
  }
}

mock_resource "aws_eip" {
  defaults = {
    id            = "eipalloc-0123456789abcdef0"
    allocation_id = "eipalloc-0123456789abcdef0"
    public_ip     = "198.51.100.7"
  }
}

mock_resource "aws_security_group" {
  defaults = {
    id  = "sg-0123456789abcdef0"
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"
  }
}

mock_resource "aws_iam_instance_profile" {
  defaults = {
    arn = "arn:aws:iam::123456789012:instance-profile/mock-instance-profile"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/gpu-training/mock"
  }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gpu-training-infra-mock/hf-token-AbCdEf"
    id  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gpu-training-infra-mock/hf-token-AbCdEf"
  }
}

# training-fleet: the launch template (its first version) and the auto-scaling group, in the shapes AWS returns.
mock_resource "aws_launch_template" {
  defaults = {
    id             = "lt-0123456789abcdef0"
    arn            = "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0123456789abcdef0"
    latest_version = 1
  }
}

mock_resource "aws_autoscaling_group" {
  defaults = {
    arn = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:01234567-89ab-cdef-0123-456789abcdef:autoScalingGroupName/mock-fleet"
  }
}

# training-safety: the alerts topic and its key, the runtime guard, its rules and the alarms, in the shapes AWS returns
# (the provider validates the ARNs they feed: alarm actions, the invoke config's destination, permissions, targets).
mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:mock-alerts"
    id  = "arn:aws:sns:us-east-1:123456789012:mock-alerts"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:us-east-1:123456789012:function:mock-runtime-guard"
    qualified_arn = "arn:aws:lambda:us-east-1:123456789012:function:mock-runtime-guard:$LATEST"
    invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock-runtime-guard/invocations"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/mock-rule"
  }
}

mock_resource "aws_cloudwatch_metric_alarm" {
  defaults = {
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:mock-alarm"
  }
}
