# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""RDS calls for the rds_parameter_group and rds_master_user_secret modules.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleRDSError. Resources come back as
botocore returns them (CamelCase); the modules convert what they return.

DB parameter groups and DB cluster parameter groups have the same API with a
"Cluster" infix; SCOPES maps a scope ("instance" or "cluster") to the names
each call uses, so one set of functions serves both.
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

# ModifyDB(Cluster)ParameterGroup takes at most 20 parameters per call.
MODIFY_BATCH = 20

SCOPES = {
    "instance": {
        "describe_groups": "describe_db_parameter_groups",
        "describe_parameters": "describe_db_parameters",
        "create": "create_db_parameter_group",
        "modify": "modify_db_parameter_group",
        "reset": "reset_db_parameter_group",
        "delete": "delete_db_parameter_group",
        "name_key": "DBParameterGroupName",
        "groups_key": "DBParameterGroups",
        "group_key": "DBParameterGroup",
        "arn_key": "DBParameterGroupArn",
    },
    "cluster": {
        "describe_groups": "describe_db_cluster_parameter_groups",
        "describe_parameters": "describe_db_cluster_parameters",
        "create": "create_db_cluster_parameter_group",
        "modify": "modify_db_cluster_parameter_group",
        "reset": "reset_db_cluster_parameter_group",
        "delete": "delete_db_cluster_parameter_group",
        "name_key": "DBClusterParameterGroupName",
        "groups_key": "DBClusterParameterGroups",
        "group_key": "DBClusterParameterGroup",
        "arn_key": "DBClusterParameterGroupArn",
    },
}


class AnsibleRDSError(AnsibleAWSError):
    pass


class RDSErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleRDSError


class ParameterGroupErrorHandler(RDSErrorHandler):
    @classmethod
    def _is_missing(cls):
        # AWS answers DBParameterGroupNotFound for both kinds of group.
        return is_boto3_error_code(["DBParameterGroupNotFound", "DBParameterGroupNotFoundFault"])


class InstanceErrorHandler(RDSErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["DBInstanceNotFound", "DBInstanceNotFoundFault"])


class ClusterErrorHandler(RDSErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["DBClusterNotFoundFault", "DBClusterNotFound"])


# ---- parameter groups -------------------------------------------------------


@ParameterGroupErrorHandler.list_error_handler("describe parameter group")
@aws_retry()
def describe_parameter_group(client, scope, name):
    names = SCOPES[scope]
    groups = getattr(client, names["describe_groups"])(**{names["name_key"]: name})[names["groups_key"]]
    # Some emulators answer an empty list instead of DBParameterGroupNotFound.
    matching = [g for g in groups if g.get(names["name_key"]) == name]
    return matching[0] if matching else None


@ParameterGroupErrorHandler.list_error_handler("describe parameters", default_value=[])
@aws_retry()
def describe_parameters(client, scope, name, source=None):
    names = SCOPES[scope]
    params = {names["name_key"]: name}
    if source:
        params["Source"] = source
    paginator = client.get_paginator(names["describe_parameters"])
    return paginator.paginate(**params).build_full_result().get("Parameters", [])


@RDSErrorHandler.common_error_handler("create parameter group")
@aws_retry()
def create_parameter_group(client, scope, name, family, description, tags):
    names = SCOPES[scope]
    request = {names["name_key"]: name, "DBParameterGroupFamily": family, "Description": description}
    if tags:
        request["Tags"] = ansible_dict_to_boto3_tag_list(tags)
    return getattr(client, names["create"])(**request)[names["group_key"]]


# A group is "in use" until the database that used it is gone: retried like a throttle.
@ParameterGroupErrorHandler.deletion_error_handler("delete parameter group")
@aws_retry(["InvalidDBParameterGroupState", "InvalidDBParameterGroupStateFault"])
def delete_parameter_group(client, scope, name):
    names = SCOPES[scope]
    getattr(client, names["delete"])(**{names["name_key"]: name})
    return True


@RDSErrorHandler.common_error_handler("modify parameters")
@aws_retry()
def _modify_parameters(client, scope, name, batch):
    names = SCOPES[scope]
    getattr(client, names["modify"])(**{names["name_key"]: name, "Parameters": batch})


def modify_parameters(client, scope, name, parameters):
    """parameters: list of {ParameterName, ParameterValue, ApplyMethod}, sent 20 at a time."""
    for start in range(0, len(parameters), MODIFY_BATCH):
        _modify_parameters(client, scope, name, parameters[start:start + MODIFY_BATCH])


@RDSErrorHandler.common_error_handler("reset parameters")
@aws_retry()
def _reset_parameters(client, scope, name, batch):
    names = SCOPES[scope]
    getattr(client, names["reset"])(**{names["name_key"]: name, "ResetAllParameters": False, "Parameters": batch})


def reset_parameters(client, scope, name, parameters):
    """parameters: list of {ParameterName, ApplyMethod}, back to the engine's defaults."""
    for start in range(0, len(parameters), MODIFY_BATCH):
        _reset_parameters(client, scope, name, parameters[start:start + MODIFY_BATCH])


# ---- tags ------------------------------------------------------------------


@RDSErrorHandler.common_error_handler("list tags")
@aws_retry()
def list_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceName=arn).get("TagList", []))


@RDSErrorHandler.common_error_handler("add tags")
@aws_retry()
def add_tags(client, arn, tags):
    client.add_tags_to_resource(ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@RDSErrorHandler.common_error_handler("remove tags")
@aws_retry()
def remove_tags(client, arn, keys):
    client.remove_tags_from_resource(ResourceName=arn, TagKeys=keys)


# ---- instances and clusters -------------------------------------------------


@InstanceErrorHandler.list_error_handler("describe DB instance")
@aws_retry()
def describe_db_instance(client, identifier):
    instances = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    return instances[0] if instances else None


@ClusterErrorHandler.list_error_handler("describe DB cluster")
@aws_retry()
def describe_db_cluster(client, identifier):
    clusters = client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    return clusters[0] if clusters else None


@RDSErrorHandler.common_error_handler("modify DB instance")
@aws_retry(["InvalidDBInstanceState"])
def modify_db_instance(client, **params):
    return client.modify_db_instance(**params)["DBInstance"]


@RDSErrorHandler.common_error_handler("modify DB cluster")
@aws_retry(["InvalidDBClusterStateFault"])
def modify_db_cluster(client, **params):
    return client.modify_db_cluster(**params)["DBCluster"]


@RDSErrorHandler.common_error_handler("wait for the DB instance to be available")
def wait_db_instance_available(client, identifier, delay, max_attempts):
    client.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier=identifier, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts}
    )


@RDSErrorHandler.common_error_handler("wait for the DB cluster to be available")
def wait_db_cluster_available(client, identifier, delay, max_attempts):
    client.get_waiter("db_cluster_available").wait(
        DBClusterIdentifier=identifier, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts}
    )
