#!/usr/bin/python

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: elasticache_replication_group
version_added: 0.1.0
short_description: Create, update and delete ElastiCache replication groups (Valkey or Redis OSS)
description:
  - Creates, updates or deletes a node-based Amazon ElastiCache replication group with
    C(CreateReplicationGroup), C(ModifyReplicationGroup) and C(DeleteReplicationGroup), and
    optionally the cache subnet group it lives in.
  - Encryption in transit and at rest are on unless turned off. With transit encryption,
    clients connect with TLS (C(rediss://)) to RV(replication_group.endpoint).
  - Only the options that are set are compared with the group, so a second run with the same
    options changes nothing. Security group and subnet lists are compared as sets.
  - The port, the encryption settings, the KMS key, the subnet group, the cluster mode and the
    number of shards and replicas cannot be changed by this module on an existing group; the
    engine only moves from C(redis) to C(valkey) or up to a later version. The module fails with a
    message naming the option rather than ignoring such a change.
author:
  - Wanzami infrastructure team
options:
  replication_group_id:
    description: Identifier of the replication group (lowercase letters, digits and hyphens, 40 at most).
    type: str
    required: true
    aliases: [name]
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Description of the group; the identifier when not set on creation.
    type: str
  engine:
    description: Cache engine. An existing C(redis) group is upgraded in place to C(valkey) when O(engine_version) is given.
    type: str
    choices: [valkey, redis]
    default: valkey
  engine_version:
    description:
      - Engine version, for example C(8.0). C(8.0) is met by a group reporting C(8.0.1).
        AWS picks the latest when it is not set on creation. An existing group is only upgraded.
    type: str
  cache_node_type:
    description: Node type, for example C(cache.t4g.micro). Required to create the group.
    type: str
  num_cache_clusters:
    description:
      - Number of nodes (a primary and its replicas) when cluster mode is disabled.
      - Cannot be changed by this module once the group exists.
    type: int
  num_node_groups:
    description:
      - Number of shards when cluster mode is enabled.
      - Cannot be changed by this module once the group exists.
    type: int
  replicas_per_node_group:
    description:
      - Replicas in each shard when cluster mode is enabled.
      - Cannot be changed by this module once the group exists.
    type: int
  cluster_mode:
    description: Cluster mode of the group. Cannot be changed by this module once the group exists.
    type: str
    choices: [enabled, disabled, compatible]
  cache_parameter_group_name:
    description: Parameter group of the nodes; AWS's default for the engine when not set.
    type: str
  cache_subnet_group_name:
    description:
      - Cache subnet group of the group. Cannot be changed once the group exists.
      - When O(subnet_ids) is given, the module manages this subnet group itself, and names it
        after O(replication_group_id) unless this option says otherwise.
    type: str
  subnet_ids:
    description:
      - Subnets of the cache subnet group the module creates or updates (one VPC), tagged like
        the group.
      - With O(state=absent), giving this option (even as an empty list) makes the module delete
        that subnet group too, once the group is gone (O(wait=true) is then needed).
      - Without it, O(cache_subnet_group_name) must name an existing subnet group, or AWS uses
        the default VPC's.
    type: list
    elements: str
  security_group_ids:
    description: VPC security groups of the nodes; replaces the current list.
    type: list
    elements: str
  port:
    description: Port the nodes listen on; 6379 when not set on creation. Cannot be changed once the group exists.
    type: int
  transit_encryption_enabled:
    description: Encrypt traffic in transit (TLS). Cannot be changed by this module once the group exists.
    type: bool
    default: true
  at_rest_encryption_enabled:
    description: Encrypt data at rest. Cannot be changed once the group exists.
    type: bool
    default: true
  kms_key_id:
    description: ARN of the customer managed KMS key for encryption at rest. Cannot be changed once the group exists.
    type: str
  automatic_failover:
    description: Promote a replica automatically when the primary fails (needs a replica).
    type: bool
  multi_az:
    description: Keep replicas in other availability zones than the primary (needs O(automatic_failover)).
    type: bool
  snapshot_retention_limit:
    description: Days to keep automatic snapshots; 0 takes none.
    type: int
  snapshot_window:
    description: Daily time range (UTC, C(HH:MM-HH:MM), 60 minutes at least) of the automatic snapshot.
    type: str
  preferred_maintenance_window:
    description: Weekly maintenance window, for example C(sun:05:00-sun:06:00) (UTC).
    type: str
  apply_immediately:
    description: Apply modifications now rather than in the next maintenance window.
    type: bool
    default: true
  final_snapshot_identifier:
    description: With O(state=absent), the name of a snapshot taken before deletion.
    type: str
  wait:
    description:
      - Wait until the group is C(available) after creation or modification, or gone after deletion.
      - Whatever this says, a group that is not C(available) is waited for before it is modified
        or deleted, because AWS refuses both until it is.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, for each wait.
    type: int
    default: 1800
  only_if_tagged:
    description:
      - With O(state=absent), delete the group only when it carries every one of these tags (the ownership tags), and
        its subnet group (with O(subnet_ids)) only when that carries them too; one without them is someone else's and
        is kept, with RV(kept=true) and a message saying so. The subnet group of a group that is kept is kept as well.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
notes:
  - Waiting uses botocore's C(replication_group_available) and C(replication_group_deleted) waiters.
  - The security groups, subnet group, engine version, parameter group and maintenance window are
    read from the group's first member cluster (C(DescribeCacheClusters)), because
    C(DescribeReplicationGroups) does not return them. When that cluster cannot be found, they are
    not compared, and the module says so in a warning.
  - In check mode the module only describes; it reports what it would change, with the
    differences in C(diff) when C(--diff) is given.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A small Valkey cache over TLS in two private subnets (seed 002)
  wanzami.infra.elasticache_replication_group:
    replication_group_id: wanzami-cache
    description: Wanzami cache and job queues
    engine: valkey
    engine_version: "8.0"
    cache_node_type: cache.t4g.micro
    num_cache_clusters: 1
    subnet_ids: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
    security_group_ids: [sg-0123456789abcdef0]
    snapshot_retention_limit: 1
    snapshot_window: "03:00-04:00"
    preferred_maintenance_window: "sun:05:00-sun:06:00"
    tags:
      project: wanzami
  register: cache

- name: Build the URL the application reads
  ansible.builtin.set_fact:
    redis_url: "rediss://{{ cache.replication_group.endpoint.address }}:{{ cache.replication_group.endpoint.port }}"

- name: A primary and a replica in two zones with automatic failover
  wanzami.infra.elasticache_replication_group:
    replication_group_id: wanzami-cache-ha
    cache_node_type: cache.t4g.small
    num_cache_clusters: 2
    automatic_failover: true
    multi_az: true
    cache_subnet_group_name: wanzami-cache-subnets
    security_group_ids: [sg-0123456789abcdef0]

- name: Delete the group and the subnet group the module made for it
  wanzami.infra.elasticache_replication_group:
    replication_group_id: wanzami-cache
    state: absent
    subnet_ids: []
    final_snapshot_identifier: wanzami-cache-final
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the group or its subnet group is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: What was kept, and why.
  returned: when RV(kept=true)
  type: str
replication_group:
  description:
    - The group as DescribeReplicationGroups returns it, in snake_case, with its tags, its
      endpoints, and what its first member cluster says about security groups, subnet group,
      engine version, parameter group and maintenance window.
    - Empty when the group does not exist, and in check mode when it would be created.
  returned: always
  type: dict
  contains:
    replication_group_id:
      description: Identifier of the group.
      returned: when the group exists
      type: str
      sample: wanzami-cache
    arn:
      description: ARN of the group.
      returned: when the group exists
      type: str
      sample: arn:aws:elasticache:us-east-2:123456789012:replicationgroup:wanzami-cache
    status:
      description: C(creating), C(available), C(modifying), C(deleting), C(create-failed) or C(snapshotting).
      returned: when the group exists
      type: str
      sample: available
    engine:
      description: Cache engine.
      returned: when the group exists
      type: str
      sample: valkey
    endpoint:
      description:
        - Where clients connect, the primary endpoint, or the configuration endpoint with cluster mode enabled.
      returned: when the group exists
      type: dict
      contains:
        address:
          description: DNS name of the endpoint.
          type: str
          sample: master.wanzami-cache.abc123.use2.cache.amazonaws.com
        port:
          description: Port of the endpoint.
          type: int
          sample: 6379
    reader_endpoint:
      description: Read-only endpoint (address and port), with cluster mode disabled.
      returned: when AWS reports one
      type: dict
    transit_encryption_enabled:
      description: Whether traffic is encrypted in transit.
      returned: when the group exists
      type: bool
      sample: true
    at_rest_encryption_enabled:
      description: Whether data is encrypted at rest.
      returned: when the group exists
      type: bool
      sample: true
    cache_node_type:
      description: Node type.
      returned: when the group exists
      type: str
      sample: cache.t4g.micro
    member_clusters:
      description: Identifiers of the member cache clusters.
      returned: when the group exists
      type: list
      elements: str
    security_group_ids:
      description: Security groups of the nodes, from the first member cluster.
      returned: when the member cluster is found
      type: list
      elements: str
    cache_subnet_group_name:
      description: Subnet group of the nodes, from the first member cluster.
      returned: when the member cluster is found
      type: str
    engine_version:
      description: Engine version, from the first member cluster.
      returned: when the member cluster is found
      type: str
      sample: 8.0.1
    tags:
      description: Tags of the group.
      returned: when the group exists
      type: dict
      sample: {"project": "wanzami"}
cache_subnet_group:
  description: The subnet group the module manages, in snake_case, with its tags.
  returned: when O(subnet_ids) is given and the subnet group exists
  type: dict
  contains:
    cache_subnet_group_name:
      description: Name of the subnet group.
      type: str
      sample: wanzami-cache
    subnet_ids:
      description: Subnets of the subnet group, sorted.
      type: list
      elements: str
    vpc_id:
      description: VPC of the subnets.
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import AnsibleElastiCacheError
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import create_cache_subnet_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import create_replication_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import delete_cache_subnet_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import delete_replication_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import describe_cache_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import describe_cache_subnet_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import describe_replication_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import engine_change_problem
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import ensure_elasticache_tags
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import kms_key_matches
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import list_elasticache_tags
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import modify_cache_subnet_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import modify_replication_group
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import sorted_dict
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import subnet_ids_of
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import tags_after
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import version_matches
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import wait_for_replication_group
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message

# Managed field -> ModifyReplicationGroup parameter, for what can change in place.
MODIFIABLE = {
    "automatic_failover": "AutomaticFailoverEnabled",
    "cache_node_type": "CacheNodeType",
    "cache_parameter_group_name": "CacheParameterGroupName",
    "description": "ReplicationGroupDescription",
    "engine": "Engine",
    "engine_version": "EngineVersion",
    "multi_az": "MultiAZEnabled",
    "preferred_maintenance_window": "PreferredMaintenanceWindow",
    "security_group_ids": "SecurityGroupIds",
    "snapshot_retention_limit": "SnapshotRetentionLimit",
    "snapshot_window": "SnapshotWindow",
}
REPLICA_COUNT_APIS = "replicas change through IncreaseReplicaCount/DecreaseReplicaCount, which this module does not call"
# Managed fields this module does not change on an existing group, and why.
IMMUTABLE = {
    "at_rest_encryption_enabled": "AWS fixes encryption at rest when the group is created",
    "cache_subnet_group_name": "AWS fixes the subnet group when the group is created",
    "cluster_mode": "this module does not migrate cluster modes",
    "kms_key_id": "AWS fixes the KMS key when the group is created",
    "num_cache_clusters": REPLICA_COUNT_APIS,
    "num_node_groups": "shards change through ModifyReplicationGroupShardConfiguration, which this module does not call",
    "port": "AWS fixes the port when the group is created",
    "replicas_per_node_group": REPLICA_COUNT_APIS,
    "transit_encryption_enabled": "this module does not run AWS's transit encryption migration (TransitEncryptionMode preferred)",
}
# Fields that only the member cache clusters report.
FROM_MEMBER = (
    "cache_parameter_group_name",
    "cache_subnet_group_name",
    "engine_version",
    "preferred_maintenance_window",
    "security_group_ids",
)
OPTIONS = tuple(sorted(set(MODIFIABLE) | set(IMMUTABLE)))


def subnet_group_name(params):
    if params["cache_subnet_group_name"]:
        return params["cache_subnet_group_name"]
    return params["replication_group_id"] if params["subnet_ids"] is not None else None


def wanted_settings(params):
    """The managed fields the user set, normalised like current_settings()."""
    wanted = {key: params[key] for key in OPTIONS}
    wanted["cache_subnet_group_name"] = subnet_group_name(params)
    if wanted["security_group_ids"] is not None:
        wanted["security_group_ids"] = sorted(set(wanted["security_group_ids"]))
    return {k: v for k, v in wanted.items() if v is not None}


def endpoints_of(group):
    """(endpoint, reader endpoint): the configuration endpoint with cluster mode enabled, else the primary's."""
    if group.get("configuration_endpoint"):
        return group["configuration_endpoint"], None
    node_groups = group.get("node_groups") or [{}]
    return node_groups[0].get("primary_endpoint"), node_groups[0].get("reader_endpoint")


def member_settings(member):
    return {
        "cache_parameter_group_name": (member.get("cache_parameter_group") or {}).get("cache_parameter_group_name"),
        "cache_subnet_group_name": member.get("cache_subnet_group_name"),
        "engine_version": member.get("engine_version"),
        "preferred_maintenance_window": member.get("preferred_maintenance_window"),
        "security_group_ids": sorted(sg["security_group_id"] for sg in member.get("security_groups") or []),
    }


def current_settings(group, member):
    """The managed fields of an existing group; member is its first cache cluster, or None."""
    endpoint, _reader = endpoints_of(group)
    node_groups = group.get("node_groups") or []
    current = {
        "at_rest_encryption_enabled": bool(group.get("at_rest_encryption_enabled")),
        "automatic_failover": group.get("automatic_failover") in ("enabled", "enabling"),
        "cache_node_type": group.get("cache_node_type"),
        "cluster_mode": group.get("cluster_mode"),
        "description": group.get("description"),
        # Groups made before AWS reported the engine are Redis OSS ones that say nothing.
        "engine": group.get("engine") or "redis",
        "kms_key_id": group.get("kms_key_id"),
        "multi_az": group.get("multi_az") == "enabled",
        "num_cache_clusters": len(group.get("member_clusters") or []),
        "num_node_groups": len(node_groups),
        "port": (endpoint or {}).get("port"),
        "replicas_per_node_group": max(len(node_groups[0].get("node_group_members") or []) - 1, 0) if node_groups else None,
        "snapshot_retention_limit": group.get("snapshot_retention_limit"),
        "snapshot_window": group.get("snapshot_window"),
        "transit_encryption_enabled": bool(group.get("transit_encryption_enabled")),
    }
    if member is not None:
        current.update(member_settings(member))
    return {k: v for k, v in current.items() if v is not None}


def matches(key, wanted, current):
    if key == "engine_version":
        return version_matches(wanted, current)
    if key == "kms_key_id":
        return kms_key_matches(wanted, current)
    return wanted == current


def changes_needed(module, current, wanted, member_found):
    """Field -> new value, for each field the user set that differs from the group."""
    unknown = [key for key in FROM_MEMBER if key in wanted and not member_found]
    if unknown:
        module.warn(
            f"The first member cluster of replication group {module.params['replication_group_id']} was not found, "
            f"so {', '.join(unknown)} could not be compared"
        )
    return {
        key: value
        for key, value in wanted.items()
        if key not in unknown and not matches(key, value, current.get(key))
    }


def replacement_problems(current, changes, wanted):
    """Messages for each requested change that this module cannot make in place."""
    problems = [
        f"{key} cannot be changed on an existing replication group (it is {current.get(key)!r}, "
        f"{changes[key]!r} was requested): {why}"
        for key, why in sorted(IMMUTABLE.items())
        if key in changes
    ]
    if "engine" in changes or "engine_version" in changes:
        problem = engine_change_problem(
            current.get("engine"), current.get("engine_version"), changes.get("engine"), wanted.get("engine_version")
        )
        if problem:
            problems.append(problem)
    return problems


def creation_request(params, wanted):
    request = {
        "ReplicationGroupId": params["replication_group_id"],
        "ReplicationGroupDescription": params["description"] or params["replication_group_id"],
        "Engine": wanted["engine"],
        "TransitEncryptionEnabled": wanted["transit_encryption_enabled"],
        "AtRestEncryptionEnabled": wanted["at_rest_encryption_enabled"],
    }
    optional = {
        "EngineVersion": wanted.get("engine_version"),
        "CacheNodeType": wanted.get("cache_node_type"),
        "NumCacheClusters": wanted.get("num_cache_clusters"),
        "NumNodeGroups": wanted.get("num_node_groups"),
        "ReplicasPerNodeGroup": wanted.get("replicas_per_node_group"),
        "ClusterMode": wanted.get("cluster_mode"),
        "CacheParameterGroupName": wanted.get("cache_parameter_group_name"),
        "CacheSubnetGroupName": wanted.get("cache_subnet_group_name"),
        "SecurityGroupIds": wanted.get("security_group_ids"),
        "Port": wanted.get("port"),
        "KmsKeyId": wanted.get("kms_key_id"),
        "AutomaticFailoverEnabled": wanted.get("automatic_failover"),
        "MultiAZEnabled": wanted.get("multi_az"),
        "SnapshotRetentionLimit": wanted.get("snapshot_retention_limit"),
        "SnapshotWindow": wanted.get("snapshot_window"),
        "PreferredMaintenanceWindow": wanted.get("preferred_maintenance_window"),
        "Tags": ansible_dict_to_boto3_tag_list(params["tags"]) if params["tags"] else None,
    }
    request.update({k: v for k, v in optional.items() if v is not None})
    return request


def modification_request(changes, wanted, apply_immediately):
    request = {MODIFIABLE[key]: value for key, value in changes.items() if key in MODIFIABLE}
    if "Engine" in request and wanted.get("engine_version"):
        request["EngineVersion"] = wanted["engine_version"]
    if request:
        request["ApplyImmediately"] = apply_immediately
    return request


def wait_available(module, client):
    wait_for_replication_group(
        client, module.params["replication_group_id"], "replication_group_available", module.params["wait_timeout"]
    )


def ensure_subnet_group(module, client):
    """The subnet group named by subnet_group_name() holding exactly subnet_ids.

    Returns (changed, subnets before or None when it is new, subnets after).
    """
    name = subnet_group_name(module.params)
    wanted = sorted(set(module.params["subnet_ids"]))
    group = describe_cache_subnet_group(client, name)
    if group is None:
        if not wanted:
            raise AnsibleElastiCacheError(message=f"subnet_ids is empty: cache subnet group {name} needs at least one subnet")
        if not module.check_mode:
            create_cache_subnet_group(
                client,
                CacheSubnetGroupName=name,
                CacheSubnetGroupDescription=f"Subnets of the {module.params['replication_group_id']} cache",
                SubnetIds=wanted,
                Tags=ansible_dict_to_boto3_tag_list(module.params["tags"] or {}),
            )
        return True, None, wanted

    current = subnet_ids_of(group)
    changed = False
    if current != wanted:
        changed = True
        if not module.check_mode:
            modify_cache_subnet_group(client, CacheSubnetGroupName=name, SubnetIds=wanted)
    changed |= ensure_elasticache_tags(
        client,
        group["arn"],
        list_elasticache_tags(client, group["arn"]),
        module.params["tags"],
        module.params["purge_tags"],
        module.check_mode,
    )
    return changed, current, wanted


def create_group(module, client, wanted):
    """Returns changed (always true): nothing to compare with."""
    if module.check_mode:
        return True
    create_replication_group(client, **creation_request(module.params, wanted))
    if module.params["wait"]:
        wait_available(module, client)
    return True


def update_group(module, client, group, changes, wanted):
    request = modification_request(changes, wanted, module.params["apply_immediately"])
    if not request:
        return False
    if module.check_mode:
        return True
    if group["status"] != "available":
        wait_available(module, client)
    modify_replication_group(client, ReplicationGroupId=group["replication_group_id"], **request)
    return True


def read_member(client, group):
    members = group.get("member_clusters") or []
    return describe_cache_cluster(client, members[0]) if members else None


def refuse_impossible_changes(module, client, group, wanted):
    """Fail, before anything is changed, on what this module cannot do; returns (current, changes) otherwise."""
    group_id = module.params["replication_group_id"]
    if group is None:
        if not wanted.get("cache_node_type"):
            raise AnsibleElastiCacheError(message=f"cache_node_type is required to create replication group {group_id}")
        return {}, {}
    if group["status"] in ("deleting", "create-failed"):
        raise AnsibleElastiCacheError(
            message=(
                f"Replication group {group_id} is {group['status']}; "
                "delete it (state=absent) or wait until it is gone, then run again"
            )
        )
    member = read_member(client, group)
    current = current_settings(group, member)
    changes = changes_needed(module, current, wanted, member is not None)
    problems = replacement_problems(current, changes, wanted)
    if problems:
        module.fail_json(msg=f"Replication group {group_id}: " + "; ".join(problems), changes=sorted(changes))
    return current, changes


def ensure_present(module, client, group):
    """Returns (changed, before, after) of the managed fields, the tags and the subnet group's subnets."""
    wanted = wanted_settings(module.params)
    current, changes = refuse_impossible_changes(module, client, group, wanted)
    before, after = {}, {}
    changed = False
    if module.params["subnet_ids"] is not None:
        changed, subnets_before, after["subnet_ids"] = ensure_subnet_group(module, client)
        if subnets_before is not None:
            before["subnet_ids"] = subnets_before

    if group is None:
        after.update(wanted, tags=module.params["tags"] or {})
        return create_group(module, client, wanted) or changed, before, after

    current_tags = list_elasticache_tags(client, group["arn"])
    before.update(current, tags=current_tags)
    after.update(current, **changes)
    after["tags"] = tags_after(current_tags, module.params["tags"], module.params["purge_tags"])
    updated = update_group(module, client, group, changes, wanted)
    updated |= ensure_elasticache_tags(
        client, group["arn"], current_tags, module.params["tags"], module.params["purge_tags"], module.check_mode
    )
    if updated and module.params["wait"] and not module.check_mode:
        wait_available(module, client)
    return changed or updated, before, after


def remove_subnet_group(module, client, group_gone):
    """With state=absent and subnet_ids given, the subnet group goes too, once nothing uses it."""
    name = subnet_group_name(module.params)
    subnet_group = describe_cache_subnet_group(client, name)
    if subnet_group is None:
        return False
    required = module.params.get("only_if_tagged") or {}
    if required:
        tags = list_elasticache_tags(client, subnet_group["arn"]) if subnet_group.get("arn") else {}
        if not carries_tags(tags, required):
            module.kept.append(kept_message("Cache subnet group", name, tags, required))
            return False
    if module.check_mode:
        return True
    if not group_gone:
        module.warn(f"Cache subnet group {name} was kept: the replication group is still deleting (wait=false)")
        return False
    return delete_cache_subnet_group(client, name)


def ensure_absent(module, client, group):
    """Returns (changed, before, after)."""
    changed = False
    before = {}
    gone = group is None
    if group is not None:
        tags = list_elasticache_tags(client, group["arn"])
        required = module.params.get("only_if_tagged") or {}
        if not carries_tags(tags, required):
            module.kept.append(kept_message("Replication group", group["replication_group_id"], tags, required)
                               + " Its subnet group is kept with it.")
            return False, {}, {}
        before = dict(current_settings(group, None), tags=tags)
        if group["status"] != "deleting":
            changed = True
            if not module.check_mode:
                if group["status"] != "available":
                    wait_available(module, client)
                request = {"ReplicationGroupId": group["replication_group_id"]}
                if module.params["final_snapshot_identifier"]:
                    request["FinalSnapshotIdentifier"] = module.params["final_snapshot_identifier"]
                delete_replication_group(client, **request)
        if module.params["wait"] and not module.check_mode:
            wait_for_replication_group(
                client, group["replication_group_id"], "replication_group_deleted", module.params["wait_timeout"]
            )
            gone = True
    if module.params["subnet_ids"] is not None:
        changed |= remove_subnet_group(module, client, gone)
    return changed, before, {}


def describe_result(module, client):
    """The group as it is now, with tags, endpoints and its member's settings; {} when absent."""
    group = describe_replication_group(client, module.params["replication_group_id"])
    if group is None:
        return {}
    group["endpoint"], reader = endpoints_of(group)
    if reader:
        group["reader_endpoint"] = reader
    member = read_member(client, group)
    if member is not None:
        group.update({k: v for k, v in member_settings(member).items() if v is not None})
    group["tags"] = list_elasticache_tags(client, group["arn"])
    return group


def subnet_group_result(module, client):
    group = describe_cache_subnet_group(client, subnet_group_name(module.params))
    if group is None:
        return {}
    group["subnet_ids"] = subnet_ids_of(group)
    group["tags"] = list_elasticache_tags(client, group["arn"])
    return group


def main():
    argument_spec = dict(
        replication_group_id=dict(type="str", required=True, aliases=["name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        description=dict(type="str"),
        engine=dict(type="str", choices=["valkey", "redis"], default="valkey"),
        engine_version=dict(type="str"),
        cache_node_type=dict(type="str"),
        num_cache_clusters=dict(type="int"),
        num_node_groups=dict(type="int"),
        replicas_per_node_group=dict(type="int"),
        cluster_mode=dict(type="str", choices=["enabled", "disabled", "compatible"]),
        cache_parameter_group_name=dict(type="str"),
        cache_subnet_group_name=dict(type="str"),
        subnet_ids=dict(type="list", elements="str"),
        security_group_ids=dict(type="list", elements="str"),
        port=dict(type="int"),
        transit_encryption_enabled=dict(type="bool", default=True),
        at_rest_encryption_enabled=dict(type="bool", default=True),
        kms_key_id=dict(type="str", no_log=False),
        automatic_failover=dict(type="bool"),
        multi_az=dict(type="bool"),
        snapshot_retention_limit=dict(type="int"),
        snapshot_window=dict(type="str"),
        preferred_maintenance_window=dict(type="str"),
        apply_immediately=dict(type="bool", default=True),
        final_snapshot_identifier=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[["num_cache_clusters", "num_node_groups"], ["num_cache_clusters", "replicas_per_node_group"]],
    )
    module.params["replication_group_id"] = module.params["replication_group_id"].lower()
    client = module.client("elasticache")
    # What state=absent keeps because it is not ours, one message each.
    module.kept = []

    try:
        group = describe_replication_group(client, module.params["replication_group_id"])
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, client, group)
        else:
            changed, before, after = ensure_absent(module, client, group)
        # In check mode a group that does not exist yet has nothing to describe.
        exists = group is not None or not module.check_mode
        output = dict(changed=changed, replication_group=describe_result(module, client) if exists else {})
        if module.params["state"] == "absent":
            output["kept"] = bool(module.kept)
            if module.kept:
                output["msg"] = " ".join(module.kept)
        if module.params["subnet_ids"] is not None and module.params["state"] == "present":
            subnet_group = subnet_group_result(module, client)
            if subnet_group:
                output["cache_subnet_group"] = subnet_group
    except AnsibleElastiCacheError as e:
        module.fail_json_aws_error(e)

    if module._diff:
        output["diff"] = dict(before=sorted_dict(before), after=sorted_dict(after))
    module.exit_json(**output)


if __name__ == "__main__":
    main()
