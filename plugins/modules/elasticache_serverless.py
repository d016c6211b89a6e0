#!/usr/bin/python

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: elasticache_serverless
version_added: 0.1.0
short_description: Create, update and delete ElastiCache serverless caches (Valkey or Redis OSS)
description:
  - Creates, updates or deletes an Amazon ElastiCache serverless cache with
    C(CreateServerlessCache), C(ModifyServerlessCache) and C(DeleteServerlessCache).
  - Only the options that are set are compared with the cache, so a second run with the same
    options changes nothing. Subnet and security group lists are compared as sets.
  - Serverless caches always encrypt in transit; clients connect with TLS (C(rediss://)) to
    the endpoint returned in RV(serverless_cache.endpoint).
  - O(subnet_ids) and O(kms_key_id) cannot be changed on an existing cache, and the engine only
    moves from C(redis) to C(valkey) or up to a later major version. The module fails with a
    message naming the option rather than ignoring such a change.
author:
  - Wanzami infrastructure team
options:
  name:
    description:
      - Name of the serverless cache. AWS stores it in lowercase; so does this module.
    type: str
    required: true
    aliases: [serverless_cache_name]
  state:
    description: Whether the cache should exist.
    type: str
    choices: [present, absent]
    default: present
  engine:
    description:
      - Cache engine.
      - An existing C(redis) cache is upgraded in place to C(valkey) when O(engine=valkey) and
        O(major_engine_version) are given; C(valkey) never goes back to C(redis).
    type: str
    choices: [valkey, redis]
    default: valkey
  major_engine_version:
    description:
      - Major engine version, for example C(8) for Valkey 8. AWS picks the latest when it is not
        set on creation. An existing cache is only ever upgraded.
    type: str
  description:
    description: Description of the cache (255 characters at most).
    type: str
  subnet_ids:
    description:
      - Subnets of the VPC endpoint of the cache, all in one VPC. AWS uses the default VPC's when
        none are given on creation.
      - Cannot be changed once the cache exists.
    type: list
    elements: str
  security_group_ids:
    description: VPC security groups of the cache's endpoint; replaces the current list.
    type: list
    elements: str
  cache_usage_limits:
    description:
      - Caps (and floors) on data storage and ElastiCache Processing Units. Only the values given
        are compared; limits that are not given keep their current value.
    type: dict
    suboptions:
      data_storage:
        description: Data storage limits, in GB.
        type: dict
        suboptions:
          maximum:
            description: Most data the cache may hold, in GB.
            type: int
          minimum:
            description: Storage always provisioned, in GB.
            type: int
      ecpu_per_second:
        description: ElastiCache Processing Units per second.
        type: dict
        suboptions:
          maximum:
            description: Most ECPUs per second the cache may use.
            type: int
          minimum:
            description: ECPUs per second always provisioned.
            type: int
  daily_snapshot_time:
    description: Time of day (UTC, C(HH:MM)) at which the daily snapshot starts.
    type: str
  snapshot_retention_limit:
    description: Days to keep automatic snapshots (0 to 35); 0 takes none.
    type: int
  kms_key_id:
    description:
      - ARN of the customer managed KMS key that encrypts the data at rest; AWS's own key when
        not set. Cannot be changed once the cache exists.
    type: str
  final_snapshot_name:
    description: With O(state=absent), the name of a snapshot taken before deletion.
    type: str
  wait:
    description:
      - Wait until the cache is C(available) after creation or modification, or gone after
        deletion.
      - Whatever this says, a cache that is still C(creating) or C(modifying) is waited for before
        it is modified or deleted, because AWS refuses both until it is C(available).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, for each wait.
    type: int
    default: 1200
  only_if_tagged:
    description:
      - With O(state=absent), delete the cache only when it carries every one of these tags (the ownership tags); one
        without them is someone else's and is kept, with RV(kept=true) and a message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
notes:
  - There is no botocore waiter for serverless caches; the module polls C(DescribeServerlessCaches)
    every 10 seconds up to O(wait_timeout).
  - In check mode the module only describes; it reports what it would change, with the
    differences in C(diff) when C(--diff) is given.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Valkey Serverless over TLS, reachable from the application's security group only
  wanzami.infra.elasticache_serverless:
    name: wanzami-cache
    engine: valkey
    major_engine_version: "8"
    description: Wanzami cache and job queues
    subnet_ids: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
    security_group_ids: [sg-0123456789abcdef0]
    cache_usage_limits:
      data_storage:
        maximum: 10
      ecpu_per_second:
        maximum: 5000
    daily_snapshot_time: "03:00"
    snapshot_retention_limit: 1
    tags:
      project: wanzami
  register: cache

- name: Build the URL the application reads
  ansible.builtin.set_fact:
    redis_url: "rediss://{{ cache.serverless_cache.endpoint.address }}:{{ cache.serverless_cache.endpoint.port }}"

- name: Delete it, keeping a final snapshot
  wanzami.infra.elasticache_serverless:
    name: wanzami-cache
    state: absent
    final_snapshot_name: wanzami-cache-final
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the cache exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the cache was kept.
  returned: when RV(kept=true)
  type: str
serverless_cache:
  description:
    - The cache as DescribeServerlessCaches returns it, in snake_case, with its tags.
    - Empty when the cache does not exist, and in check mode when it would be created.
  returned: always
  type: dict
  contains:
    serverless_cache_name:
      description: Name of the cache.
      returned: when the cache exists
      type: str
      sample: wanzami-cache
    arn:
      description: ARN of the cache.
      returned: when the cache exists
      type: str
      sample: arn:aws:elasticache:us-east-2:123456789012:serverlesscache:wanzami-cache
    status:
      description: C(creating), C(available), C(modifying), C(deleting) or C(create-failed).
      returned: when the cache exists
      type: str
      sample: available
    engine:
      description: Cache engine.
      returned: when the cache exists
      type: str
      sample: valkey
    major_engine_version:
      description: Major engine version.
      returned: when the cache exists
      type: str
      sample: "8"
    full_engine_version:
      description: Engine version the cache runs.
      returned: when the cache exists
      type: str
      sample: "8.0"
    endpoint:
      description: Where clients connect, with TLS.
      returned: when the cache is available
      type: dict
      contains:
        address:
          description: DNS name of the endpoint.
          type: str
          sample: wanzami-cache-dbt2pq.serverless.use2.cache.amazonaws.com
        port:
          description: Port of the endpoint.
          type: int
          sample: 6379
    reader_endpoint:
      description: Read-only endpoint (address and port).
      returned: when the cache is available
      type: dict
    subnet_ids:
      description: Subnets of the cache's VPC endpoint.
      returned: when the cache exists
      type: list
      elements: str
    security_group_ids:
      description: Security groups of the cache's VPC endpoint.
      returned: when the cache exists
      type: list
      elements: str
    cache_usage_limits:
      description: Storage and ECPU limits.
      returned: when limits are set
      type: dict
      sample: {"data_storage": {"maximum": 10, "unit": "GB"}, "ecpu_per_second": {"maximum": 5000}}
    daily_snapshot_time:
      description: Start of the daily snapshot (UTC).
      returned: when the cache exists
      type: str
      sample: "03:00"
    snapshot_retention_limit:
      description: Days automatic snapshots are kept.
      returned: when the cache exists
      type: int
      sample: 1
    kms_key_id:
      description: Customer managed key encrypting the data at rest.
      returned: when one is set
      type: str
    tags:
      description: Tags of the cache.
      returned: when the cache exists
      type: dict
      sample: {"project": "wanzami"}
"""

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import AnsibleElastiCacheError
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import create_serverless_cache
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import delete_serverless_cache
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import describe_serverless_cache
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import engine_change_problem
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import ensure_elasticache_tags
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import kms_key_matches
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import list_elasticache_tags
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import modify_serverless_cache
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import sorted_dict
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import tags_after
from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import wait_for
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message

POLL_DELAY = 10

# Fields this module manages, as DescribeServerlessCaches names them in snake_case.
MANAGED = (
    "cache_usage_limits",
    "daily_snapshot_time",
    "description",
    "engine",
    "kms_key_id",
    "major_engine_version",
    "security_group_ids",
    "snapshot_retention_limit",
    "subnet_ids",
)
# Fields ModifyServerlessCache has no parameter for.
IMMUTABLE = ("kms_key_id", "subnet_ids")
LIMIT_PARTS = ("data_storage", "ecpu_per_second")


def usage_limits(limits):
    """{data_storage: {maximum, minimum}, ecpu_per_second: {...}} without unset values (unit left out)."""
    result = {}
    for part in LIMIT_PARTS:
        values = {k: v for k, v in ((limits or {}).get(part) or {}).items() if v is not None and k != "unit"}
        if values:
            result[part] = dict(sorted(values.items()))
    return result


def usage_limits_request(limits):
    """The CacheUsageLimits parameter: data storage is always in GB."""
    request = {}
    if limits.get("data_storage"):
        request["DataStorage"] = {k.capitalize(): v for k, v in limits["data_storage"].items()}
        request["DataStorage"]["Unit"] = "GB"
    if limits.get("ecpu_per_second"):
        request["ECPUPerSecond"] = {k.capitalize(): v for k, v in limits["ecpu_per_second"].items()}
    return request


def wanted_settings(params):
    """The managed fields the user set, normalised like current_settings()."""
    wanted = {
        "cache_usage_limits": usage_limits(params["cache_usage_limits"]) or None,
        "daily_snapshot_time": params["daily_snapshot_time"],
        "description": params["description"],
        "engine": params["engine"],
        "kms_key_id": params["kms_key_id"],
        "major_engine_version": params["major_engine_version"],
        "security_group_ids": sorted(set(params["security_group_ids"])) if params["security_group_ids"] is not None else None,
        "snapshot_retention_limit": params["snapshot_retention_limit"],
        "subnet_ids": sorted(set(params["subnet_ids"])) if params["subnet_ids"] is not None else None,
    }
    return {k: v for k, v in wanted.items() if v is not None}


def current_settings(cache):
    """The managed fields of an existing cache; lists sorted, so that they compare as sets."""
    current = {k: cache[k] for k in MANAGED if cache.get(k) is not None}
    for key in ("security_group_ids", "subnet_ids"):
        current[key] = sorted(current.get(key) or [])
    current["cache_usage_limits"] = usage_limits(current.get("cache_usage_limits"))
    return current


def changes_needed(current, wanted):
    """Field -> new value, for each field the user set that differs from the cache."""
    changes = {}
    for key, value in wanted.items():
        if key == "cache_usage_limits":
            # Limits that are not given keep their value; AWS replaces the whole structure.
            merged = {part: dict(current[key].get(part, {})) for part in LIMIT_PARTS if current[key].get(part)}
            for part, values in value.items():
                merged.setdefault(part, {}).update(values)
            merged = {part: dict(sorted(values.items())) for part, values in sorted(merged.items())}
            if merged != current[key]:
                changes[key] = merged
        elif key == "kms_key_id":
            if not kms_key_matches(value, current.get(key)):
                changes[key] = value
        elif current.get(key) != value:
            changes[key] = value
    return changes


def replacement_problems(current, changes, wanted):
    """Messages for each requested change that ModifyServerlessCache cannot make."""
    problems = [
        f"{key} cannot be changed on an existing serverless cache (it is {current.get(key)!r}, "
        f"{changes[key]!r} was requested); create a cache with another name, move the clients, delete this one"
        for key in IMMUTABLE
        if key in changes
    ]
    if "engine" in changes or "major_engine_version" in changes:
        problem = engine_change_problem(
            current.get("engine"),
            current.get("major_engine_version"),
            changes.get("engine"),
            wanted.get("major_engine_version"),
        )
        if problem:
            problems.append(problem)
    return problems


def settings_request(changes):
    """ModifyServerlessCache parameters for everything but the engine."""
    request = {}
    if "description" in changes:
        request["Description"] = changes["description"]
    if "security_group_ids" in changes:
        request["SecurityGroupIds"] = changes["security_group_ids"]
    if "cache_usage_limits" in changes:
        request["CacheUsageLimits"] = usage_limits_request(changes["cache_usage_limits"])
    if "daily_snapshot_time" in changes:
        request["DailySnapshotTime"] = changes["daily_snapshot_time"]
    if "snapshot_retention_limit" in changes:
        request["SnapshotRetentionLimit"] = changes["snapshot_retention_limit"]
    return request


def creation_request(name, wanted, tags):
    request = {"ServerlessCacheName": name, "Engine": wanted["engine"]}
    optional = {
        "MajorEngineVersion": wanted.get("major_engine_version"),
        "Description": wanted.get("description"),
        "SubnetIds": wanted.get("subnet_ids"),
        "SecurityGroupIds": wanted.get("security_group_ids"),
        "KmsKeyId": wanted.get("kms_key_id"),
        "DailySnapshotTime": wanted.get("daily_snapshot_time"),
        "SnapshotRetentionLimit": wanted.get("snapshot_retention_limit"),
        "CacheUsageLimits": usage_limits_request(wanted["cache_usage_limits"]) if wanted.get("cache_usage_limits") else None,
        "Tags": ansible_dict_to_boto3_tag_list(tags) if tags else None,
    }
    request.update({k: v for k, v in optional.items() if v is not None})
    return request


def wait_until_available(module, client, name):
    def settled(cache):
        return cache is None or cache["status"] not in ("creating", "modifying")

    cache = wait_for(
        lambda: describe_serverless_cache(client, name),
        settled,
        module.params["wait_timeout"],
        POLL_DELAY,
        f"wait for serverless cache {name} to become available",
    )
    if cache is None or cache["status"] != "available":
        status = cache["status"] if cache else "gone"
        raise AnsibleElastiCacheError(message=f"Serverless cache {name} is {status}, not available")
    return cache


def wait_until_gone(module, client, name):
    wait_for(
        lambda: describe_serverless_cache(client, name),
        lambda cache: cache is None,
        module.params["wait_timeout"],
        POLL_DELAY,
        f"wait for serverless cache {name} to be deleted",
    )


def create_cache(module, client, name, wanted):
    """Returns changed (always true): nothing to compare with."""
    if module.check_mode:
        return True
    create_serverless_cache(client, **creation_request(name, wanted, module.params["tags"]))
    if module.params["wait"]:
        wait_until_available(module, client, name)
    return True


def update_engine(module, client, cache, changes, wanted):
    """Redis OSS to Valkey, or a major version upgrade: its own call, before any other change."""
    if "engine" not in changes and "major_engine_version" not in changes:
        return False
    if module.check_mode:
        return True
    request = {"MajorEngineVersion": wanted["major_engine_version"]}
    if "engine" in changes:
        request["Engine"] = changes["engine"]
    modify_serverless_cache(client, ServerlessCacheName=cache["serverless_cache_name"], **request)
    return True


def update_settings(module, client, cache, changes, after_engine_change):
    request = settings_request(changes)
    if not request:
        return False
    if module.check_mode:
        return True
    name = cache["serverless_cache_name"]
    if after_engine_change:
        # The engine change leaves the cache modifying, and AWS takes no other change until it is done.
        wait_until_available(module, client, name)
    modify_serverless_cache(client, ServerlessCacheName=name, **request)
    return True


def update_cache(module, client, cache, changes, wanted, current_tags):
    name = cache["serverless_cache_name"]
    if changes and not module.check_mode and cache["status"] != "available":
        wait_until_available(module, client, name)
    engine_changed = update_engine(module, client, cache, changes, wanted)
    changed = update_settings(module, client, cache, changes, engine_changed) or engine_changed
    changed |= ensure_elasticache_tags(
        client, cache["arn"], current_tags, module.params["tags"], module.params["purge_tags"], module.check_mode
    )
    if changed and not module.check_mode and module.params["wait"]:
        wait_until_available(module, client, name)
    return changed


def ensure_present(module, client, name, cache):
    """Returns (changed, before, after) of the managed fields and tags."""
    wanted = wanted_settings(module.params)
    if cache is None:
        after = dict(wanted, tags=module.params["tags"] or {})
        return create_cache(module, client, name, wanted), {}, after

    if cache["status"] in ("deleting", "create-failed"):
        raise AnsibleElastiCacheError(
            message=(
                f"Serverless cache {name} is {cache['status']}; "
                "delete it (state=absent) or wait until it is gone, then run again"
            )
        )
    current = current_settings(cache)
    changes = changes_needed(current, wanted)
    problems = replacement_problems(current, changes, wanted)
    if problems:
        module.fail_json(msg=f"Serverless cache {name}: " + "; ".join(problems), changes=sorted(changes))

    current_tags = list_elasticache_tags(client, cache["arn"])
    before = dict(current, tags=current_tags)
    after = dict(current, **changes)
    after["tags"] = tags_after(current_tags, module.params["tags"], module.params["purge_tags"])
    return update_cache(module, client, cache, changes, wanted, current_tags), before, after


def ensure_absent(module, client, name, cache):
    """Returns (changed, before, after)."""
    if cache is None:
        return False, {}, {}
    tags = list_elasticache_tags(client, cache["arn"])
    required = module.params.get("only_if_tagged") or {}
    if not carries_tags(tags, required):
        module.kept = kept_message("Serverless cache", name, tags, required)
        return False, {}, {}
    before = dict(current_settings(cache), tags=tags)
    if cache["status"] == "deleting":
        if module.params["wait"] and not module.check_mode:
            wait_until_gone(module, client, name)
        return False, before, {}
    if module.check_mode:
        return True, before, {}
    if cache["status"] != "available":
        wait_until_available(module, client, name)
    request = {"ServerlessCacheName": name}
    if module.params["final_snapshot_name"]:
        request["FinalSnapshotName"] = module.params["final_snapshot_name"]
    changed = delete_serverless_cache(client, **request)
    if module.params["wait"]:
        wait_until_gone(module, client, name)
    return changed, before, {}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["serverless_cache_name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        engine=dict(type="str", choices=["valkey", "redis"], default="valkey"),
        major_engine_version=dict(type="str"),
        description=dict(type="str"),
        subnet_ids=dict(type="list", elements="str"),
        security_group_ids=dict(type="list", elements="str"),
        cache_usage_limits=dict(
            type="dict",
            options=dict(
                data_storage=dict(type="dict", options=dict(maximum=dict(type="int"), minimum=dict(type="int"))),
                ecpu_per_second=dict(type="dict", options=dict(maximum=dict(type="int"), minimum=dict(type="int"))),
            ),
        ),
        daily_snapshot_time=dict(type="str"),
        snapshot_retention_limit=dict(type="int"),
        kms_key_id=dict(type="str", no_log=False),
        final_snapshot_name=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1200),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("elasticache")
    name = module.params["name"].lower()
    # Why state=absent kept the cache (it is not ours), or None.
    module.kept = None

    try:
        cache = describe_serverless_cache(client, name)
        if module.params["state"] == "present":
            changed, before, after = ensure_present(module, client, name, cache)
        else:
            changed, before, after = ensure_absent(module, client, name, cache)
        result = (cache if module.check_mode else describe_serverless_cache(client, name)) or {}
        if result:
            result["tags"] = list_elasticache_tags(client, result["arn"])
    except AnsibleElastiCacheError as e:
        module.fail_json_aws_error(e)

    output = dict(changed=changed, serverless_cache=result)
    if module.params["state"] == "absent":
        output["kept"] = bool(module.kept)
        if module.kept:
            output["msg"] = module.kept
    if module._diff:
        output["diff"] = dict(before=sorted_dict(before), after=sorted_dict(after))
    module.exit_json(**output)


if __name__ == "__main__":
    main()
