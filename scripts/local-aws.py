#!/usr/bin/env python3
"""A local AWS API for dry runs and tests: moto server on 127.0.0.1, with the gaps this project hits bridged.

Usage:  python3 scripts/local-aws.py [--port PORT]      (needs `pip install "moto[server]"`; PORT 0 picks a free one)

Prints `READY http://127.0.0.1:PORT` once it answers, then serves until stopped (Ctrl-C, SIGTERM, or its stdin
closing when started with `--exit-on-stdin-close`). Point the AWS CLI, the SDKs and Terraform's provider at it with
AWS_ENDPOINT_URL=http://127.0.0.1:PORT (docs/local-aws.md).

moto is a real implementation of the AWS APIs, not a mock of this project; where it differs from AWS in a way that
breaks a deploy of these stacks, this launcher patches it, each patch with its reason. Measured with moto 5.2.1 and
hashicorp/aws 5.100.0; re-check them when moto is upgraded (the acceptance tests fail loudly when one stops applying).
"""
import argparse
import datetime
import json
import signal
import sys
import threading
import time

# Only ever on the loopback interface: this server accepts any credentials.
HOST = "127.0.0.1"

# The Deep Learning AMI parameters the stacks read (modules/training-compute/ami.ts). AWS publishes them under
# /aws/service/, which moto refuses in put-parameter ("No access to reserved parameter name"); they are written into
# its parameter store directly, in every region, pointing at a Deep Learning AMI moto ships.
DLAMI_OPERATING_SYSTEMS = ("ubuntu-24.04", "ubuntu-22.04", "amazon-linux-2023")
DLAMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-{os}/latest/ami-id"
DLAMI_IMAGE_ID = "ami-dca37ea5"  # "Deep Learning AMI Ubuntu Linux - 2.4_Oct2017", x86_64, in moto's AMI catalogue

# What a real client sends over HTTPS. moto evaluates bucket policies without any request context, so the TLS-only
# deny statements every bucket of this project carries (aws:SecureTransport, s3:TlsVersion) would deny everything,
# the Terraform backend's state and lock file included.
TLS_REQUEST_CONTEXT = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}


def patch_bucket_policy_context():
    """Bucket policies are evaluated against a TLS request. moto passes no request context, and it turns any
    statement whose condition does not match into a DENY, whatever its effect: statements are kept only when their
    conditions hold for TLS_REQUEST_CONTEXT, and then evaluated without them."""
    from moto.s3 import models as s3_models
    from moto.iam.access_control import IAMPolicy, PermissionResult

    def values(value):
        return value if isinstance(value, list) else [value]

    operators = {
        "Bool": lambda expected, actual: str(actual).lower() in [str(v).lower() for v in values(expected)],
        "StringEquals": lambda expected, actual: actual in values(expected),
        "NumericLessThan": lambda expected, actual: any(float(actual) < float(v) for v in values(expected)),
    }

    def holds(condition):
        for operator, entries in condition.items():
            check = operators.get(operator)
            if check is None:
                raise ValueError(f"local-aws.py cannot evaluate the bucket policy condition {operator}")
            for key, expected in entries.items():
                if key not in TLS_REQUEST_CONTEXT or not check(expected, TLS_REQUEST_CONTEXT[key]):
                    return False
        return True

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        kept = [{k: v for k, v in st.items() if k != "Condition"} for st in statements if holds(st.get("Condition", {}))]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)

    s3_models.FakeBucket.get_permission = get_permission


def patch_budgets():
    """Budgets: moto lacks DescribeSubscribersForNotification, UpdateBudget and tagging, which aws_budgets_budget
    calls on every create and read; the provider retries the 500s for many minutes, then plans a change forever."""
    from moto.budgets import responses as budgets

    tags = {}

    def arn(account_id, name):
        return f"arn:aws:budgets::{account_id}:budget/{name}"

    original_create = budgets.BudgetsResponse.create_budget

    def create_budget(self):
        result = original_create(self)
        resource_tags = self._get_param("ResourceTags") or []
        if resource_tags:
            key = arn(self._get_param("AccountId"), self._get_param("Budget")["BudgetName"])
            tags.setdefault(key, {}).update({t["Key"]: t["Value"] for t in resource_tags})
        return result

    def update_budget(self):
        new = self._get_param("NewBudget")
        self.backend.budgets[self._get_param("AccountId")][new["BudgetName"]].budget.update(new)
        return "{}"

    def describe_subscribers_for_notification(self):
        budget = self.backend.budgets[self._get_param("AccountId")].get(self._get_param("BudgetName"))
        if budget is None:
            body = {"__type": "NotFoundException", "message": f"Unable to get budget: {self._get_param('BudgetName')}"}
            return 400, {}, json.dumps(body)
        wanted = self._get_param("Notification")
        for notification in budget.notifications:
            if all(notification.details.get(k) == v for k, v in wanted.items()):
                return json.dumps({"Subscribers": notification.subscribers})
        return json.dumps({"Subscribers": []})

    def tag_resource(self):
        tags.setdefault(self._get_param("ResourceARN"), {}).update(
            {t["Key"]: t["Value"] for t in self._get_param("ResourceTags")}
        )
        return "{}"

    def untag_resource(self):
        for key in self._get_param("ResourceTagKeys"):
            tags.get(self._get_param("ResourceARN"), {}).pop(key, None)
        return "{}"

    def list_tags_for_resource(self):
        found = tags.get(self._get_param("ResourceARN"), {})
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in found.items()]})

    for handler in (create_budget, update_budget, describe_subscribers_for_notification, tag_resource,
                    untag_resource, list_tags_for_resource):
        setattr(budgets.BudgetsResponse, handler.__name__, handler)


def patch_unimplemented_fail_fast():
    """An action moto has not implemented answers 500, which every SDK retries with backoff (minutes per call);
    answer a non-retryable 400 `NotImplemented` instead, so the caller fails at once and says which action."""
    from moto.core import responses

    original = responses.BaseResponse.call_action

    def call_action(self):
        try:
            return original(self)
        except NotImplementedError as error:
            message = f"moto does not implement this action: {error}"
            content_type = str(self.headers.get("Content-Type", "")) if hasattr(self, "headers") else ""
            if "json" in content_type:
                body = json.dumps({"__type": "NotImplemented", "message": message})
                return 400, {"Content-Type": content_type}, body
            body = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>NotImplemented</Code>"
                f"<Message>{message}</Message></Error><RequestId>local-aws</RequestId></ErrorResponse>"
            )
            return 400, {"Content-Type": "text/xml"}, body

    responses.BaseResponse.call_action = call_action


def patch_dlami_parameters():
    """The Deep Learning AMI's public SSM parameters, present in every region the way AWS publishes them."""
    from moto.ssm import models as ssm

    original = ssm.ParameterDict._check_loading_status

    def check_loading_status(self, key):
        original(self, key)
        if str(key or "").startswith("/aws/service/deeplearning/") and not getattr(self, "gti_dlami_loaded", False):
            self.gti_dlami_loaded = True
            now = datetime.datetime.now(datetime.timezone.utc)
            for os_name in DLAMI_OPERATING_SYSTEMS:
                name = DLAMI_PARAMETER.format(os=os_name)
                if not dict.get(self, name):
                    super(ssm.ParameterDict, self).__getitem__(name).append(
                        ssm.Parameter(
                            account_id=self.account_id, name=name, value=DLAMI_IMAGE_ID, parameter_type="String",
                            description=None, allowed_pattern=None, keyid=None, last_modified_date=now, version=1,
                            data_type="aws:ec2:image",
                        )
                    )

    ssm.ParameterDict._check_loading_status = check_loading_status


# The EC2 vCPU quotas of the GPU families (`gti doctor`, src/cli/doctor/quotas.ts), at the 0 new accounts usually get.
EC2_GPU_QUOTAS = {
    "L-DB2E81BA": "Running On-Demand G and VT instances",
    "L-3819A6DF": "All G and VT Spot Instance Requests",
    "L-417A185B": "Running On-Demand P instances",
    "L-7212CCBC": "All P4, P3 and P2 Spot Instance Requests",
    "L-C4BD4855": "All P5 Spot Instance Requests",
}


def patch_service_quotas():
    """Service Quotas: moto knows only the VPC quotas, and has no RequestServiceQuotaIncrease. The EC2 GPU vCPU
    quotas answer GetServiceQuota (and GetAWSDefaultServiceQuota) with 0 until RequestServiceQuotaIncrease, which is
    granted at once (AWS reviews it, for minutes to days): tests set a quota the way an operator asks for one."""
    from moto.servicequotas import responses as sq

    applied = {}

    def quota(self, code, value):
        region = self.region
        return {
            "ServiceCode": "ec2",
            "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:{region}:{self.current_account}:ec2/{code}",
            "QuotaCode": code,
            "QuotaName": EC2_GPU_QUOTAS[code],
            "Value": float(value),
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }

    def not_found(code):
        body = {"__type": "NoSuchResourceException", "message": f"The request failed because the specified quota {code} does not exist."}
        return 400, {}, json.dumps(body)

    original_get = sq.ServiceQuotasResponse.get_service_quota

    def get_service_quota(self):
        params = json.loads(self.body)
        code = params.get("QuotaCode")
        if params.get("ServiceCode") != "ec2":
            return original_get(self)
        if code not in EC2_GPU_QUOTAS:
            return not_found(code)
        return json.dumps({"Quota": quota(self, code, applied.get((self.current_account, self.region, code), 0))})

    def get_aws_default_service_quota(self):
        params = json.loads(self.body)
        code = params.get("QuotaCode")
        if params.get("ServiceCode") != "ec2" or code not in EC2_GPU_QUOTAS:
            return not_found(code)
        return json.dumps({"Quota": quota(self, code, 0)})

    def request_service_quota_increase(self):
        params = json.loads(self.body)
        code = params.get("QuotaCode")
        if params.get("ServiceCode") != "ec2" or code not in EC2_GPU_QUOTAS:
            return not_found(code)
        value = float(params["DesiredValue"])
        applied[(self.current_account, self.region, code)] = value
        info = quota(self, code, value)
        change = {
            "Id": f"local-{code}-{int(value)}",
            "ServiceCode": "ec2",
            "QuotaCode": code,
            "QuotaName": info["QuotaName"],
            "DesiredValue": value,
            "Status": "APPROVED",
            "Unit": "None",
            "GlobalQuota": False,
        }
        return json.dumps({"RequestedQuota": change})

    for handler in (get_service_quota, get_aws_default_service_quota, request_service_quota_increase):
        setattr(sq.ServiceQuotasResponse, handler.__name__, handler)


def patch_cost_allocation_tags():
    """Cost Explorer: moto lacks ListCostAllocationTags and UpdateCostAllocationTagsStatus, which `gti doctor` uses
    to see whether the budget's tag is active. Tags exist once a status is set (AWS lists a user-defined tag once a
    resource has carried it), in memory."""
    from moto.ce import responses as ce

    tags = {}

    def update_cost_allocation_tags_status(self):
        for entry in self._get_param("CostAllocationTagsStatus"):
            tags[(self.current_account, entry["TagKey"])] = entry["Status"]
        return json.dumps({"Errors": []})

    def list_cost_allocation_tags(self):
        keys = self._get_param("TagKeys")
        wanted_type = self._get_param("Type")
        found = [
            {"TagKey": key, "Type": "UserDefined", "Status": status}
            for (account, key), status in sorted(tags.items())
            if account == self.current_account and (not keys or key in keys) and wanted_type in (None, "UserDefined")
        ]
        return json.dumps({"CostAllocationTags": found})

    for handler in (update_cost_allocation_tags_status, list_cost_allocation_tags):
        setattr(ce.CostExplorerResponse, handler.__name__, handler)


def patch_ssm_send_command_targets():
    """SSM SendCommand with InstanceIds and no Targets: moto turns the empty target list into an empty EC2 filter,
    which matches every instance of the region, and adds them all to the command. AWS runs it on the listed
    instances only (`gti stop` must never reach another env's instances)."""
    from moto.ssm import models as ssm

    original = ssm.Command._get_instance_ids_from_targets

    def get_instance_ids_from_targets(self):
        return original(self) if self.targets else []

    ssm.Command._get_instance_ids_from_targets = get_instance_ids_from_targets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--exit-on-stdin-close", action="store_true", help="stop when stdin closes (for tests)")
    args = parser.parse_args()

    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        print(f"moto server is not installed ({error}). Fix: pip install \"moto[server]\"", file=sys.stderr)
        return 2

    patch_bucket_policy_context()
    patch_budgets()
    patch_unimplemented_fail_fast()
    patch_dlami_parameters()
    patch_service_quotas()
    patch_cost_allocation_tags()
    patch_ssm_send_command_targets()

    server = ThreadedMotoServer(ip_address=HOST, port=args.port, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    print(f"READY http://{HOST}:{port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.exit_on_stdin_close:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.is_set():
        time.sleep(0.2)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
