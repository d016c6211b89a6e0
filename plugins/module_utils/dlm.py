# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon Data Lifecycle Manager calls for the dlm_lifecycle_policy module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleDLMError. Policies come back as botocore
returns them (PascalCase). DLM policies have no name: the module finds its
policy by its description, which this module lists every policy to match.
"""

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

# DLM answers LimitExceededException while it applies another change.
BUSY = ["LimitExceededException"]


class AnsibleDLMError(AnsibleAWSError):
    pass


class DLMErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleDLMError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


@DLMErrorHandler.list_error_handler("list lifecycle policies", default_value=[])
@aws_retry()
def get_lifecycle_policies(client):
    """Every lifecycle policy's summary (PolicyId, Description, State, Tags, PolicyType); DLM answers
    ResourceNotFoundException rather than an empty list when there are none, which is [] here."""
    return client.get_lifecycle_policies().get("Policies") or []


@DLMErrorHandler.list_error_handler("get lifecycle policy", default_value=None)
@aws_retry()
def get_lifecycle_policy(client, policy_id):
    """The whole policy (with PolicyDetails, ExecutionRoleArn, PolicyArn and Tags), or None when it is gone."""
    return client.get_lifecycle_policy(PolicyId=policy_id).get("Policy")


@DLMErrorHandler.common_error_handler("create lifecycle policy")
@aws_retry(BUSY)
def create_lifecycle_policy(client, description, execution_role_arn, state, details, tags=None):
    """Returns the new policy's id."""
    params = {"Description": description, "ExecutionRoleArn": execution_role_arn, "State": state,
              "PolicyDetails": details}
    if tags:
        params["Tags"] = tags
    return client.create_lifecycle_policy(**params)["PolicyId"]


@DLMErrorHandler.common_error_handler("update lifecycle policy")
@aws_retry(BUSY)
def update_lifecycle_policy(client, policy_id, execution_role_arn, state, details):
    client.update_lifecycle_policy(PolicyId=policy_id, ExecutionRoleArn=execution_role_arn, State=state,
                                   PolicyDetails=details)


@DLMErrorHandler.deletion_error_handler("delete lifecycle policy")
@aws_retry(BUSY)
def delete_lifecycle_policy(client, policy_id):
    client.delete_lifecycle_policy(PolicyId=policy_id)
    return True


@DLMErrorHandler.common_error_handler("tag lifecycle policy")
@aws_retry()
def tag_lifecycle_policy(client, arn, tags):
    client.tag_resource(ResourceArn=arn, Tags=tags)


@DLMErrorHandler.common_error_handler("untag lifecycle policy")
@aws_retry()
def untag_lifecycle_policy(client, arn, keys):
    client.untag_resource(ResourceArn=arn, TagKeys=list(keys))
