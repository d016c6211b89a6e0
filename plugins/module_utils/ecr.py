# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ECR calls for the ecr_repository module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleECRError. Repositories come back as
botocore returns them (camelCase); the module converts what it returns.
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


class AnsibleECRError(AnsibleAWSError):
    pass


class ECRErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleECRError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("RepositoryNotFoundException")


class LifecyclePolicyErrorHandler(ECRErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["LifecyclePolicyNotFoundException", "RepositoryNotFoundException"])


@ECRErrorHandler.list_error_handler("describe repository")
@aws_retry()
def describe_repository(client, name):
    repositories = client.describe_repositories(repositoryNames=[name])["repositories"]
    return repositories[0] if repositories else None


@ECRErrorHandler.common_error_handler("create repository")
@aws_retry()
def create_repository(client, **params):
    return client.create_repository(**params)["repository"]


@ECRErrorHandler.deletion_error_handler("delete repository")
@aws_retry()
def delete_repository(client, name, force):
    client.delete_repository(repositoryName=name, force=force)
    return True


@ECRErrorHandler.common_error_handler("set image tag mutability")
@aws_retry()
def put_image_tag_mutability(client, name, mutability):
    client.put_image_tag_mutability(repositoryName=name, imageTagMutability=mutability)


@ECRErrorHandler.common_error_handler("set image scanning configuration")
@aws_retry()
def put_image_scanning_configuration(client, name, scan_on_push):
    client.put_image_scanning_configuration(repositoryName=name, imageScanningConfiguration={"scanOnPush": scan_on_push})


@LifecyclePolicyErrorHandler.list_error_handler("get lifecycle policy", default_value=None)
@aws_retry()
def get_lifecycle_policy(client, name):
    return json.loads(client.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])


@ECRErrorHandler.common_error_handler("put lifecycle policy")
@aws_retry()
def put_lifecycle_policy(client, name, policy):
    client.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(policy, sort_keys=True))


@LifecyclePolicyErrorHandler.deletion_error_handler("delete lifecycle policy")
@aws_retry()
def delete_lifecycle_policy(client, name):
    client.delete_lifecycle_policy(repositoryName=name)
    return True


@ECRErrorHandler.common_error_handler("list tags")
@aws_retry()
def list_repository_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(resourceArn=arn)["tags"])


@ECRErrorHandler.common_error_handler("tag repository")
@aws_retry()
def tag_repository(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=ansible_dict_to_boto3_tag_list(tags))


@ECRErrorHandler.common_error_handler("untag repository")
@aws_retry()
def untag_repository(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=keys)
