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
from xml.sax.saxutils import escape

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
            return error_response(self, "NotImplemented", f"moto does not implement this action: {error}")

    responses.BaseResponse.call_action = call_action


def patch_internal_errors_fail_fast():
    """An exception inside moto itself (a bug or an unhandled input, e.g. an assertion) answers HTTP 500, which every
    SDK retries with backoff: Terraform then shows "Still modifying..." for many minutes (measured: 19 min on an
    auto scaling group update). Answer a non-retryable 400 `LocalAwsInternalError` naming the exception instead, and
    print the traceback on stderr."""
    import traceback

    from moto.core import responses

    original = responses.BaseResponse.call_action

    def call_action(self):
        try:
            return original(self)
        except Exception as error:  # noqa: BLE001 - anything escaping moto's own error handling is a moto failure
            traceback.print_exc(file=sys.stderr)
            return error_response(self, "LocalAwsInternalError", f"moto failed: {type(error).__name__}: {error}")

    responses.BaseResponse.call_action = call_action


def error_response(response, code, message):
    """A non-retryable 400 error in the protocol of the request (JSON or XML)."""
    content_type = str(response.headers.get("Content-Type", "")) if hasattr(response, "headers") else ""
    if "json" in content_type:
        return 400, {"Content-Type": content_type}, json.dumps({"__type": code, "message": message})
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>local-aws</RequestId></ErrorResponse>"
    )
    return 400, {"Content-Type": "text/xml"}, body


def patch_spot_instance_requests():
    """RunInstances with spot market options: moto marks the instance as spot but records no spot request, so the
    instance has no SpotInstanceRequestId and the provider reads `instance_market_options` back as empty, planning to
    replace the instance after every apply. A one-time request is recorded for each such instance, fulfilled by it,
    with the options sent (max price, type, interruption behaviour), as AWS does."""
    from moto.ec2.models.spot_requests import SpotInstanceRequest
    from moto.ec2.responses.instances import InstanceResponse
    from moto.ec2.utils import random_spot_request_id

    class FulfilledSpotRequest(SpotInstanceRequest):
        """A spot request fulfilled by an instance RunInstances already launched (SpotInstanceRequest launches one)."""

        __module__ = SpotInstanceRequest.__module__  # moto's model metaclass derives the service from the module name

        def __init__(self, backend, instance, options):
            self.fulfilled_by = instance
            super().__init__(
                backend, random_spot_request_id(), options.get("MaxPrice"), instance.image_id,
                options.get("SpotInstanceType") or "one-time", None, options.get("ValidUntil"), None, None,
                instance.key_name, [group.id for group in instance.security_groups], None, instance.instance_type,
                None, None, None, False, instance.subnet_id, {}, None, options.get("InstanceInterruptionBehavior"),
            )

        def launch_instance(self):
            return self.fulfilled_by

    original = InstanceResponse.run_instances

    def run_instances(self):
        result = original(self)
        market = self._get_param("InstanceMarketOptions") or {}
        if market.get("MarketType") == "spot":
            for instance in result.result.instances:
                request = FulfilledSpotRequest(self.ec2_backend, instance, market.get("SpotOptions") or {})
                self.ec2_backend.spot_instance_requests[request.id] = request
                instance.spot_instance_request_id = request.id
        return result

    InstanceResponse.run_instances = run_instances


def patch_instance_security_groups():
    """Instances launched with network interfaces (what the provider sends when `associate_public_ip_address` is set)
    report no security groups in DescribeInstances, though their primary interface has them: report the primary
    interface's groups, as AWS does."""
    from moto.ec2.models.instances import InstanceBackend

    original = InstanceBackend.run_instances

    def run_instances(self, *args, **kwargs):
        reservation = original(self, *args, **kwargs)
        for instance in reservation.instances:
            primary = next((nic for index, nic in instance.nics.items() if int(index) == 0), None)
            if not instance.security_groups and primary is not None:
                instance.security_groups = list(primary._group_set)
        return reservation

    InstanceBackend.run_instances = run_instances


def patch_modify_instance_attribute():
    """ModifyInstanceAttribute for an attribute moto does not handle (InstanceInitiatedShutdownBehavior, which the
    provider sends right after creating an instance) falls through to moto's security-group handler, which sets the
    instance's groups to the (absent) list sent: the instance then has no security group, and the provider plans to
    add it back after every apply. The shutdown behaviour is stored, and groups change only when groups are sent."""
    from moto.ec2.responses.instances import InstanceResponse

    original_groups = InstanceResponse._security_grp_instance_attribute_handler
    original_values = InstanceResponse._dot_value_instance_attribute_handler

    def security_groups_handler(self):
        if not self._get_param("Groups"):
            return False
        return original_groups(self)

    def dot_value_handler(self):
        value = self._get_param("InstanceInitiatedShutdownBehavior.Value")
        if value is None:
            return original_values(self)
        self.error_on_dryrun()
        instance_id = self._get_param("InstanceId")
        self.ec2_backend.modify_instance_attribute(instance_id, "instance_initiated_shutdown_behavior", value)
        return True

    InstanceResponse._security_grp_instance_attribute_handler = security_groups_handler
    InstanceResponse._dot_value_instance_attribute_handler = dot_value_handler

def patch_launch_template_versions():
    """Launch templates: CreateLaunchTemplate copies the tags of the template itself (TagSpecifications of type
    `launch-template`) into the first version's data, where the provider reads them back as an extra
    `tag_specifications` block and plans to remove it after every apply; and CreateLaunchTemplateVersion keeps the
    user data as a plain string where moto expects its base64 type, so launching from that version (an auto scaling
    group after a template change) fails inside moto. Version data keeps only its own tag specifications, and user
    data is stored in moto's type."""
    from moto.core.types import Base64EncodedString
    from moto.ec2.models.launch_templates import LaunchTemplate
    from moto.ec2.utils import parse_user_data

    original = LaunchTemplate.create_version

    def create_version(self, data, description):
        data = dict(data)
        if "TagSpecifications" in data:
            data["TagSpecifications"] = [
                spec for spec in data["TagSpecifications"] if spec.get("ResourceType") != "launch-template"
            ]
            if not data["TagSpecifications"]:
                del data["TagSpecifications"]
        user_data = data.get("UserData")
        if user_data is not None and not isinstance(user_data, Base64EncodedString):
            data["UserData"] = parse_user_data(user_data)
        return original(self, data, description)

    LaunchTemplate.create_version = create_version


def patch_lifecycle_hooks():
    """PutLifecycleHook: moto ignores the role and notification target sent and stores placeholder ARNs
    (`arn:aws:iam::1234567890:role/my-auto-scaling-role`, `...:my-queue`), which the provider reads back and plans to
    remove after every apply. Store what was sent (nothing when nothing was sent), and the notification metadata."""
    from moto.autoscaling.responses import AutoScalingResponse

    original = AutoScalingResponse.put_lifecycle_hook

    def put_lifecycle_hook(self):
        result = original(self)
        key = f"{self._get_param('AutoScalingGroupName')}_{self._get_param('LifecycleHookName')}"
        hook = self.autoscaling_backend.lifecycle_hooks[key]
        hook.role_arn = self._get_param("RoleARN")
        hook.notification_target_arn = self._get_param("NotificationTargetARN")
        hook.notification_metadata = self._get_param("NotificationMetadata")
        return result

    AutoScalingResponse.put_lifecycle_hook = put_lifecycle_hook


def patch_security_group_rule_descriptions():
    """DescribeSecurityGroupRules returns no description for a rule that references another group (the description
    sent is kept with the group pair, not the IP range), so the provider plans to set it again after every apply.
    Fall back to the group pair's description."""
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self):
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    SecurityGroupRule.description = property(description)


def patch_auto_scaling_group_updates():
    """UpdateAutoScalingGroup without a MixedInstancesPolicy (the provider sends only what changed, e.g. the desired
    capacity) drops the group's mixed instances policy in moto; AWS keeps it. Keep it: the group is updated without
    touching the policy, then scaled with it."""
    from moto.autoscaling.models import FakeAutoScalingGroup

    original = FakeAutoScalingGroup.update

    def update(self, **kwargs):
        if kwargs.get("mixed_instances_policy") or kwargs.get("launch_template") or kwargs.get("launch_config_name"):
            return original(self, **kwargs)
        policy = self.mixed_instances_policy
        desired = kwargs.get("desired_capacity")
        original(self, **{**kwargs, "desired_capacity": None})
        self.mixed_instances_policy = policy
        if desired is not None:
            self.set_desired_capacity(desired)
        return None

    FakeAutoScalingGroup.update = update


def patch_instance_refresh():
    """Instance refreshes: moto has no StartInstanceRefresh, DescribeInstanceRefreshes or CancelInstanceRefresh; the
    provider starts one when a group with an `instance_refresh` block gets a new launch template version. A refresh
    is recorded and reported `Successful` at once. It does not replace the group's instances: what a refresh does to
    running nodes is not emulated (docs/local-aws.md)."""
    import uuid

    from moto.autoscaling.exceptions import ValidationError
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    refreshes = {}  # (account, region, group name) -> [refresh, ...], newest first

    def group_refreshes(response):
        name = response._get_param("AutoScalingGroupName")
        if name not in response.autoscaling_backend.autoscaling_groups:
            raise ValidationError(f"AutoScalingGroup name not found - {name}")
        return refreshes.setdefault((response.current_account, response.region, name), [])

    def start_instance_refresh(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        refresh = {
            "InstanceRefreshId": str(uuid.uuid4()),
            "AutoScalingGroupName": self._get_param("AutoScalingGroupName"),
            "Status": "Successful",
            "StatusReason": "local-aws: completed at once, no instance replaced",
            "StartTime": now,
            "EndTime": now,
            "PercentageComplete": 100,
            "InstancesToUpdate": 0,
            "Preferences": self._get_param("Preferences") or {},
        }
        group_refreshes(self).insert(0, refresh)
        return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})

    def describe_instance_refreshes(self):
        wanted = self._get_param("InstanceRefreshIds") or []
        found = [r for r in group_refreshes(self) if not wanted or r["InstanceRefreshId"] in wanted]
        return ActionResult({"InstanceRefreshes": found})

    def cancel_instance_refresh(self):
        group_refreshes(self)  # every refresh has completed already: there is none to cancel
        return error_response(self, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found")

    for handler in (start_instance_refresh, describe_instance_refreshes, cancel_instance_refresh):
        setattr(AutoScalingResponse, handler.__name__, handler)


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
    patch_internal_errors_fail_fast()
    patch_dlami_parameters()
    patch_service_quotas()
    patch_cost_allocation_tags()
    patch_ssm_send_command_targets()
    patch_spot_instance_requests()
    patch_instance_security_groups()
    patch_modify_instance_attribute()
    patch_launch_template_versions()
    patch_lifecycle_hooks()
    patch_security_group_rule_descriptions()
    patch_auto_scaling_group_updates()
    patch_instance_refresh()

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
