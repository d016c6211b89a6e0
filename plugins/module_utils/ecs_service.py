# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ECS task definition and service calls for the ecs_task_definition and ecs_service modules.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleECSServiceError. Results come back as botocore
returns them (camelCase); the modules convert what they return.
"""

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_message
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry


class AnsibleECSServiceError(AnsibleAWSError):
    pass


class ECSServiceErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleECSServiceError

    @classmethod
    def _is_missing(cls):
        # A missing cluster has no services either (a dry run ahead of the ecs_cluster role).
        return is_boto3_error_code(["ServiceNotFoundException", "ClusterNotFoundException"])


class TaskDefinitionErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleECSServiceError

    @classmethod
    def _is_missing(cls):
        # DescribeTaskDefinition answers a family without an ACTIVE revision with a plain ClientException.
        return is_boto3_error_message("Unable to describe task definition")


@TaskDefinitionErrorHandler.list_error_handler("describe task definition", default_value=None)
@aws_retry()
def describe_task_definition(client, family):
    """The latest ACTIVE revision of a family with its tags, or None when the family has none."""
    result = client.describe_task_definition(taskDefinition=family, include=["TAGS"])
    definition = result["taskDefinition"]
    definition["tags"] = result.get("tags") or []
    return definition


@TaskDefinitionErrorHandler.common_error_handler("register task definition")
@aws_retry()
def register_task_definition(client, **params):
    result = client.register_task_definition(**params)
    definition = result["taskDefinition"]
    definition["tags"] = result.get("tags") or []
    return definition


@TaskDefinitionErrorHandler.common_error_handler("list task definitions")
@aws_retry()
def list_active_task_definitions(client, family):
    """ARNs of the family's ACTIVE revisions, newest first. ListTaskDefinitions takes a family prefix, so
    revisions of other families that start with this one's name are left out here."""
    pages = client.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE", sort="DESC")
    arns = pages.build_full_result().get("taskDefinitionArns", [])
    return [arn for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]


@TaskDefinitionErrorHandler.common_error_handler("deregister task definition")
@aws_retry()
def deregister_task_definition(client, arn):
    client.deregister_task_definition(taskDefinition=arn)


@ECSServiceErrorHandler.list_error_handler("describe service", default_value=None)
@aws_retry()
def describe_service(client, cluster, name):
    """The service with its tags, or None when it does not exist or was deleted (INACTIVE, DRAINING)."""
    services = client.describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"]
    active = [s for s in services if s.get("status") == "ACTIVE"]
    return active[0] if active else None


@ECSServiceErrorHandler.list_error_handler("describe service", default_value=None)
@aws_retry()
def describe_service_in_any_status(client, cluster, name):
    """The service as it is (ACTIVE, DRAINING or INACTIVE) with its tags, or None when neither it nor its cluster exists."""
    services = client.describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"]
    return services[0] if services else None


@ECSServiceErrorHandler.common_error_handler("create service")
@aws_retry()
def create_service(client, **params):
    return client.create_service(**params)["service"]


@ECSServiceErrorHandler.common_error_handler("update service")
@aws_retry()
def update_service(client, **params):
    return client.update_service(**params)["service"]


@ECSServiceErrorHandler.deletion_error_handler("delete service")
@aws_retry()
def delete_service(client, cluster, name):
    """Delete with force: ECS stops whatever tasks are left. False when it was gone already."""
    client.delete_service(cluster=cluster, service=name, force=True)
    return True


@ECSServiceErrorHandler.common_error_handler("tag resource")
@aws_retry()
def tag_resource(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=[{"key": k, "value": str(v)} for k, v in sorted(tags.items())])


@ECSServiceErrorHandler.common_error_handler("untag resource")
@aws_retry()
def untag_resource(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=keys)
