# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ElastiCache calls for the serverless cache and replication group modules.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleElastiCacheError; results come back as
snake_case dictionaries. The helpers below (tags, engine and version rules,
a bounded poll loop for what has no botocore waiter) serve both modules.
"""

import time

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry


class AnsibleElastiCacheError(AnsibleAWSError):
    pass


class ElastiCacheErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleElastiCacheError


class ServerlessCacheErrorHandler(ElastiCacheErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ServerlessCacheNotFoundFault")


class ReplicationGroupErrorHandler(ElastiCacheErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ReplicationGroupNotFoundFault")


class CacheClusterErrorHandler(ElastiCacheErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("CacheClusterNotFound")


class CacheSubnetGroupErrorHandler(ElastiCacheErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("CacheSubnetGroupNotFoundFault")


def _snake(resource):
    return camel_dict_to_snake_dict(resource) if resource else None


# ---- serverless caches ------------------------------------------------------


@ServerlessCacheErrorHandler.list_error_handler("describe serverless cache")
@aws_retry()
def describe_serverless_cache(client, name):
    caches = client.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"]
    return _snake(caches[0]) if caches else None


@ServerlessCacheErrorHandler.common_error_handler("create serverless cache")
@aws_retry()
def create_serverless_cache(client, **params):
    return _snake(client.create_serverless_cache(**params)["ServerlessCache"])


@ServerlessCacheErrorHandler.common_error_handler("modify serverless cache")
@aws_retry()
def modify_serverless_cache(client, **params):
    return _snake(client.modify_serverless_cache(**params)["ServerlessCache"])


@ServerlessCacheErrorHandler.deletion_error_handler("delete serverless cache")
@aws_retry()
def delete_serverless_cache(client, **params):
    client.delete_serverless_cache(**params)
    return True


# ---- replication groups -----------------------------------------------------


@ReplicationGroupErrorHandler.list_error_handler("describe replication group")
@aws_retry()
def describe_replication_group(client, replication_group_id):
    groups = client.describe_replication_groups(ReplicationGroupId=replication_group_id)["ReplicationGroups"]
    return _snake(groups[0]) if groups else None


@CacheClusterErrorHandler.list_error_handler("describe cache cluster")
@aws_retry()
def describe_cache_cluster(client, cache_cluster_id):
    clusters = client.describe_cache_clusters(CacheClusterId=cache_cluster_id)["CacheClusters"]
    return _snake(clusters[0]) if clusters else None


@ReplicationGroupErrorHandler.common_error_handler("create replication group")
@aws_retry()
def create_replication_group(client, **params):
    return _snake(client.create_replication_group(**params)["ReplicationGroup"])


@ReplicationGroupErrorHandler.common_error_handler("modify replication group")
@aws_retry()
def modify_replication_group(client, **params):
    return _snake(client.modify_replication_group(**params)["ReplicationGroup"])


@ReplicationGroupErrorHandler.deletion_error_handler("delete replication group")
@aws_retry()
def delete_replication_group(client, **params):
    client.delete_replication_group(**params)
    return True


@ReplicationGroupErrorHandler.common_error_handler("wait for the replication group")
def wait_for_replication_group(client, replication_group_id, waiter_name, timeout, delay=15):
    """botocore's replication_group_available / replication_group_deleted waiter, bounded by timeout."""
    waiter = client.get_waiter(waiter_name)
    waiter.wait(
        ReplicationGroupId=replication_group_id,
        WaiterConfig={"Delay": delay, "MaxAttempts": max(1, -(-timeout // delay))},
    )


# ---- cache subnet groups ----------------------------------------------------


@CacheSubnetGroupErrorHandler.list_error_handler("describe cache subnet group")
@aws_retry()
def describe_cache_subnet_group(client, name):
    groups = client.describe_cache_subnet_groups(CacheSubnetGroupName=name)["CacheSubnetGroups"]
    return _snake(groups[0]) if groups else None


@CacheSubnetGroupErrorHandler.common_error_handler("create cache subnet group")
@aws_retry()
def create_cache_subnet_group(client, **params):
    return _snake(client.create_cache_subnet_group(**params)["CacheSubnetGroup"])


@CacheSubnetGroupErrorHandler.common_error_handler("modify cache subnet group")
@aws_retry()
def modify_cache_subnet_group(client, **params):
    return _snake(client.modify_cache_subnet_group(**params)["CacheSubnetGroup"])


@CacheSubnetGroupErrorHandler.deletion_error_handler("delete cache subnet group")
@aws_retry()
def delete_cache_subnet_group(client, name):
    client.delete_cache_subnet_group(CacheSubnetGroupName=name)
    return True


def subnet_ids_of(subnet_group):
    return sorted(s["subnet_identifier"] for s in (subnet_group or {}).get("subnets") or [])


# ---- tags -------------------------------------------------------------------


@ElastiCacheErrorHandler.common_error_handler("list tags")
@aws_retry()
def list_elasticache_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceName=arn)["TagList"])


@ElastiCacheErrorHandler.common_error_handler("add tags")
@aws_retry()
def add_elasticache_tags(client, arn, tags):
    client.add_tags_to_resource(ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@ElastiCacheErrorHandler.common_error_handler("remove tags")
@aws_retry()
def remove_elasticache_tags(client, arn, keys):
    client.remove_tags_from_resource(ResourceName=arn, TagKeys=keys)


def ensure_elasticache_tags(client, arn, current_tags, tags, purge_tags, check_mode):
    """Bring the tags of arn to tags (None: leave them alone); returns changed, and only predicts it in check mode."""
    if tags is None:
        return False
    to_set, to_unset = compare_aws_tags(current_tags, tags, purge_tags)
    if not (to_set or to_unset):
        return False
    if check_mode:
        return True
    if to_unset:
        remove_elasticache_tags(client, arn, to_unset)
    if to_set:
        add_elasticache_tags(client, arn, to_set)
    return True


def tags_after(current, desired, purge_tags):
    """What the tags will be once desired is applied; current when tags are not managed (None)."""
    if desired is None:
        return dict(current)
    to_set, to_unset = compare_aws_tags(current, desired, purge_tags)
    result = {k: v for k, v in current.items() if k not in to_unset}
    result.update({k: str(v) for k, v in to_set.items()})
    return result


def sorted_dict(value):
    """Keys sorted at every level, so that diffs read the same on every run."""
    return {k: sorted_dict(v) if isinstance(v, dict) else v for k, v in sorted(value.items())}


# ---- engines ----------------------------------------------------------------


def _version_tuple(version):
    return tuple(int(part) if part.isdigit() else 0 for part in str(version).split("."))


def version_matches(wanted, actual):
    """'7.2' is met by '7.2' and '7.2.6' (AWS reports the patch level it runs)."""
    wanted, actual = str(wanted), str(actual)
    return actual == wanted or actual.startswith(wanted + ".")


def kms_key_matches(wanted, current):
    """AWS reports the key's ARN; a bare key id names the same key."""
    return current == wanted or (current or "").endswith("/" + wanted)


def engine_change_problem(current_engine, current_version, wanted_engine, wanted_version):
    """Why the engine or version cannot move from current to wanted in place, or None.

    AWS upgrades in place (ModifyServerlessCache / ModifyReplicationGroup) from
    Redis OSS to Valkey and to a later version of the same engine; it never
    downgrades, and this module does not move Valkey back to Redis OSS.
    """
    current_engine = (current_engine or "").lower()
    if wanted_engine and wanted_engine != current_engine:
        if (current_engine, wanted_engine) != ("redis", "valkey"):
            return (
                f"the engine cannot change from {current_engine} to {wanted_engine} in place "
                "(only redis to valkey); create a new cache instead"
            )
        if not wanted_version:
            return "moving from redis to valkey needs the target engine version; set it explicitly"
        return None
    if wanted_version and current_version and not version_matches(wanted_version, current_version):
        if _version_tuple(wanted_version) < _version_tuple(current_version):
            return f"the engine version cannot go down from {current_version} to {wanted_version}"
    return None


# ---- waiting ----------------------------------------------------------------


def wait_for(fetch, ready, timeout, delay, description):
    """Call fetch() every delay seconds until ready(result) is true or timeout seconds pass.

    For resources without a botocore waiter (serverless caches). Returns the
    last result; raises AnsibleElastiCacheError on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if ready(result):
            return result
        if time.monotonic() + delay > deadline:
            raise AnsibleElastiCacheError(message=f"Timeout trying to {description} after {timeout} seconds")
        time.sleep(delay)
