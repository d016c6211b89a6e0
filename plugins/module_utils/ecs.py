# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ECS cluster calls for the ecs_cluster module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleECSError. Clusters come back as botocore
returns them (camelCase); the module converts what it returns.

PutClusterCapacityProviders and UpdateCluster answer UpdateInProgressException
while the cluster's capacity provider attachments are still being applied
(seconds after a change); that code is retried like a throttle.
"""

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

# Retried on top of throttling: a cluster still applying the last change.
BUSY = ["UpdateInProgressException"]


class AnsibleECSError(AnsibleAWSError):
    pass


class ECSErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleECSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ClusterNotFoundException")


@ECSErrorHandler.list_error_handler("describe cluster")
@aws_retry()
def describe_cluster(client, name):
    """The cluster with its settings and tags, or None when it does not exist or was deleted (INACTIVE)."""
    clusters = client.describe_clusters(clusters=[name], include=["SETTINGS", "TAGS"])["clusters"]
    active = [c for c in clusters if c.get("status") != "INACTIVE"]
    return active[0] if active else None


@ECSErrorHandler.common_error_handler("create cluster")
@aws_retry()
def create_cluster(client, **params):
    return client.create_cluster(**params)["cluster"]


@ECSErrorHandler.common_error_handler("update cluster settings")
@aws_retry(BUSY)
def update_cluster_settings(client, name, settings):
    # UpdateCluster rather than UpdateClusterSettings: AWS takes settings on
    # both, and the emulator implements only the first.
    return client.update_cluster(cluster=name, settings=settings)["cluster"]


@ECSErrorHandler.common_error_handler("put cluster capacity providers")
@aws_retry(BUSY)
def put_cluster_capacity_providers(client, name, capacity_providers, strategy):
    return client.put_cluster_capacity_providers(
        cluster=name, capacityProviders=capacity_providers, defaultCapacityProviderStrategy=strategy
    )["cluster"]


@ECSErrorHandler.deletion_error_handler("delete cluster")
@aws_retry(BUSY)
def delete_cluster(client, name):
    client.delete_cluster(cluster=name)
    return True


@ECSErrorHandler.common_error_handler("tag cluster")
@aws_retry()
def tag_cluster(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=ecs_tag_list(tags))


@ECSErrorHandler.common_error_handler("untag cluster")
@aws_retry()
def untag_cluster(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=keys)


def ecs_tag_list(tags):
    """ECS spells tags in lower case ({key, value}), unlike most AWS APIs."""
    return [{"key": k, "value": str(v)} for k, v in sorted(tags.items())]


def ecs_tag_dict(tag_list):
    return {t["key"]: t.get("value", "") for t in tag_list or []}
