# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SSM Parameter Store reads for the ssm_parameter_info module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py:
every throttling code, ThrottlingException included) and an error handler that raises AnsibleSSMError.
"""

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

# DescribeParameters takes at most this many names in one Name filter.
NAMES_PER_CALL = 50


class AnsibleSSMError(AnsibleAWSError):
    pass


class SSMErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleSSMError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["ParameterNotFound", "InvalidResourceId"])


@SSMErrorHandler.common_error_handler("describe parameters")
@aws_retry()
def describe_parameters(client, names):
    """The metadata (no value) of those of names that exist, by name."""
    found = {}
    for start in range(0, len(names), NAMES_PER_CALL):
        chunk = names[start:start + NAMES_PER_CALL]
        paginator = client.get_paginator("describe_parameters")
        pages = paginator.paginate(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": chunk}])
        for parameter in pages.build_full_result().get("Parameters", []):
            found[parameter["Name"]] = parameter
    return found


@SSMErrorHandler.list_error_handler("list parameter tags", default_value=None)
@aws_retry()
def list_parameter_tags(client, name):
    """The parameter's tags as a mapping, or None when it is gone."""
    tags = client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return boto3_tag_list_to_ansible_dict(tags)
