# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EventBridge calls for the ecs_scheduled_task module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleEventsError. Rules and targets come back as
botocore returns them (PascalCase); the module converts what it returns.
Everything is on the default event bus (no EventBusName is sent).

PutTargets and RemoveTargets report per-target failures in FailedEntryCount and
FailedEntries instead of raising: their whole answer is returned, and the
module judges it.
"""

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


class AnsibleEventsError(AnsibleAWSError):
    pass


class EventsErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEventsError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


@EventsErrorHandler.list_error_handler("describe rule", default_value=None)
@aws_retry()
def describe_rule(client, name):
    """The rule (Name, Arn, ScheduleExpression, State, Description...), or None when there is none."""
    rule = client.describe_rule(Name=name)
    rule.pop("ResponseMetadata", None)
    return rule


@EventsErrorHandler.list_error_handler("list targets by rule", default_value=[])
@aws_retry()
def list_targets_by_rule(client, name):
    paginator = client.get_paginator("list_targets_by_rule")
    return paginator.paginate(Rule=name).build_full_result().get("Targets", [])


@EventsErrorHandler.common_error_handler("put rule")
@aws_retry()
def put_rule(client, **params):
    """Create or replace the rule; returns its ARN."""
    return client.put_rule(**params)["RuleArn"]


@EventsErrorHandler.common_error_handler("put targets")
@aws_retry()
def put_targets(client, rule, targets):
    """The whole answer: FailedEntryCount and FailedEntries."""
    return client.put_targets(Rule=rule, Targets=targets)


@EventsErrorHandler.common_error_handler("remove targets")
@aws_retry()
def remove_targets(client, rule, ids):
    """The whole answer: FailedEntryCount and FailedEntries."""
    return client.remove_targets(Rule=rule, Ids=ids)


@EventsErrorHandler.deletion_error_handler("delete rule")
@aws_retry()
def delete_rule(client, name):
    client.delete_rule(Name=name)
    return True


@EventsErrorHandler.list_error_handler("list tags", default_value={})
@aws_retry()
def list_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceARN=arn).get("Tags", []))


@EventsErrorHandler.common_error_handler("tag rule")
@aws_retry()
def tag_resource(client, arn, tags):
    client.tag_resource(ResourceARN=arn, Tags=ansible_dict_to_boto3_tag_list({k: str(v) for k, v in sorted(tags.items())}))


@EventsErrorHandler.common_error_handler("untag rule")
@aws_retry()
def untag_resource(client, arn, keys):
    client.untag_resource(ResourceARN=arn, TagKeys=list(keys))
