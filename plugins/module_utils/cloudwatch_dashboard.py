# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CloudWatch dashboard calls for the cloudwatch_dashboard module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleCloudWatchDashboardError. Dashboards come back
as botocore returns them (PascalCase). A dashboard's body is JSON text; it is
compared as data (parsed), never as text.
"""

import json

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry


class AnsibleCloudWatchDashboardError(AnsibleAWSError):
    pass


class DashboardErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleCloudWatchDashboardError

    @classmethod
    def _is_missing(cls):
        # GetDashboard and DeleteDashboards answer DashboardNotFoundError, whose code is ResourceNotFound.
        return is_boto3_error_code(["ResourceNotFound", "ResourceNotFoundException"])


@DashboardErrorHandler.list_error_handler("get dashboard")
@aws_retry()
def get_dashboard(client, name):
    """The dashboard (DashboardName, DashboardArn, DashboardBody), or None when there is none."""
    dashboard = client.get_dashboard(DashboardName=name)
    dashboard.pop("ResponseMetadata", None)
    return dashboard


@DashboardErrorHandler.common_error_handler("put dashboard")
@aws_retry()
def put_dashboard(client, name, body, tags=None):
    """Create or replace the dashboard; returns CloudWatch's validation messages (warnings, may be empty).

    Tags are only taken when the dashboard is created; an existing one is tagged with tag_dashboard.
    """
    params = {"DashboardName": name, "DashboardBody": body_text(body)}
    if tags:
        params["Tags"] = ansible_dict_to_boto3_tag_list(tags)
    return client.put_dashboard(**params).get("DashboardValidationMessages") or []


@DashboardErrorHandler.deletion_error_handler("delete dashboard")
@aws_retry()
def delete_dashboard(client, name):
    client.delete_dashboards(DashboardNames=[name])
    return True


@DashboardErrorHandler.common_error_handler("list dashboard tags")
@aws_retry()
def list_dashboard_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceARN=arn).get("Tags") or [])


@DashboardErrorHandler.common_error_handler("tag dashboard")
@aws_retry()
def tag_dashboard(client, arn, tags):
    client.tag_resource(ResourceARN=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@DashboardErrorHandler.common_error_handler("untag dashboard")
@aws_retry()
def untag_dashboard(client, arn, keys):
    client.untag_resource(ResourceARN=arn, TagKeys=keys)


def parse_body(text):
    """A dashboard body (JSON text, as GetDashboard returns it) as data; an empty body is {}."""
    if text is None or not text.strip():
        return {}
    return json.loads(text)


def body_text(body):
    """The body as PutDashboard takes it: compact JSON with sorted keys, the same text for the same data."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))
