# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CloudWatch Logs calls for the cloudwatchlogs_log_group and cloudwatchlogs_events_info modules.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleLogsError. Log groups come back as botocore
returns them (camelCase). Tags go through the ARN-based TagResource API;
TagLogGroup and its siblings are deprecated.
"""

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

# The values PutRetentionPolicy accepts (days).
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]


class AnsibleLogsError(AnsibleAWSError):
    pass


class LogsErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleLogsError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


@LogsErrorHandler.list_error_handler("describe log group")
@aws_retry()
def describe_log_group(client, name):
    """The group named exactly name, or None. The prefix may match others (/ecs/app and /ecs/app-workers)."""
    paginator = client.get_paginator("describe_log_groups")
    for page in paginator.paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return group
    return None


@LogsErrorHandler.common_error_handler("create log group")
@aws_retry()
def create_log_group(client, name, tags):
    params = {"logGroupName": name}
    if tags:
        params["tags"] = tags
    client.create_log_group(**params)


@LogsErrorHandler.deletion_error_handler("delete log group")
@aws_retry()
def delete_log_group(client, name):
    client.delete_log_group(logGroupName=name)
    return True


@LogsErrorHandler.common_error_handler("put retention policy")
@aws_retry()
def put_retention_policy(client, name, days):
    client.put_retention_policy(logGroupName=name, retentionInDays=days)


@LogsErrorHandler.common_error_handler("delete retention policy")
@aws_retry()
def delete_retention_policy(client, name):
    client.delete_retention_policy(logGroupName=name)


@LogsErrorHandler.common_error_handler("list tags")
@aws_retry()
def list_log_group_tags(client, arn):
    return client.list_tags_for_resource(resourceArn=arn).get("tags") or {}


@LogsErrorHandler.common_error_handler("tag log group")
@aws_retry()
def tag_log_group(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=tags)


@LogsErrorHandler.common_error_handler("untag log group")
@aws_retry()
def untag_log_group(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=keys)


def log_group_arn(group):
    """The group's ARN as the tagging API wants it: without the ':*' that `arn` ends with."""
    arn = group.get("logGroupArn") or group.get("arn", "")
    return arn[:-2] if arn.endswith(":*") else arn


@LogsErrorHandler.list_error_handler("filter log events", default_value=None)
@aws_retry()
def filter_log_events(client, **params):
    """One page of FilterLogEvents (events, nextToken...); None when the group does not exist."""
    return client.filter_log_events(**params)
