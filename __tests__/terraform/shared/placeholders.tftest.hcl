# The placeholder guard (stacks/placeholder-guard.ts) under terraform test. The shipped env files still hold example
# values, so a plan in any account but AWS's example account 123456789012 must fail on
# terraform_data.placeholder_guard, and one in the example account (the mock's, and the local AWS API's) must pass:
# every stack's own plan with the defaults proves that (stack.tftest.hcl, bootstrap/state.tftest.hcl: one run fewer
# per stack than a run of its own here), and asserts the mocked account is the example one.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

run "a_real_account_is_refused" {
  command = plan

  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "210987654321"
      arn        = "arn:aws:iam::210987654321:user/ops"
      user_id    = "AIDAEXAMPLEOPS"
    }
  }

  expect_failures = [terraform_data.placeholder_guard]
}
