"""Run the ElastiCache modules in-process against a fake ElastiCache, patched
at the module_utils seam (the wrapped boto calls), with a fake clock for the
wait loops. The fake keeps state, so a create is seen by the describe after it."""

import copy
import time

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.wanzami.infra.plugins.module_utils import elasticache as utils
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


class FakeClock:
    """time.monotonic and time.sleep for the poll loop: sleeping moves the clock."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeElastiCache:
    """Serverless caches, replication groups, member clusters, subnet groups and tags, by name."""

    def __init__(self):
        self.serverless = {}
        self.groups = {}
        self.members = {}
        self.subnet_groups = {}
        self.tags = {}
        self.calls = []
        # How many more describes a resource stays in its transitional status.
        self.settle_after = 1
        self._pending = {}

    # -- helpers for tests --------------------------------------------------

    def mutating_calls(self):
        return [call for call in self.calls if call[0].split("_", 1)[0] in ("create", "modify", "delete", "add", "remove")]

    def add_serverless(self, name, status="available", tags=None, **fields):
        cache = {
            "serverless_cache_name": name,
            "arn": f"arn:aws:elasticache:us-east-2:123456789012:serverlesscache:{name}",
            "status": status,
            "engine": "valkey",
            "major_engine_version": "8",
            "full_engine_version": "8.0",
            "description": "cache",
            "subnet_ids": ["subnet-b", "subnet-a"],
            "security_group_ids": ["sg-1"],
            "snapshot_retention_limit": 0,
            "endpoint": {"address": f"{name}-abc123.serverless.use2.cache.amazonaws.com", "port": 6379},
        }
        cache.update(fields)
        self.serverless[name] = cache
        self.tags[cache["arn"]] = dict(tags or {})
        return cache

    def add_group(self, group_id, status="available", tags=None, member=True, member_fields=None, **fields):
        group = {
            "replication_group_id": group_id,
            "arn": f"arn:aws:elasticache:us-east-2:123456789012:replicationgroup:{group_id}",
            "status": status,
            "description": "cache",
            "engine": "valkey",
            "cache_node_type": "cache.t4g.micro",
            "automatic_failover": "disabled",
            "multi_az": "disabled",
            "cluster_mode": "disabled",
            "member_clusters": [f"{group_id}-001"],
            "node_groups": [
                {
                    "node_group_id": "0001",
                    "primary_endpoint": {"address": f"master.{group_id}.abc123.use2.cache.amazonaws.com", "port": 6379},
                    "reader_endpoint": {"address": f"replica.{group_id}.abc123.use2.cache.amazonaws.com", "port": 6379},
                    "node_group_members": [{"cache_cluster_id": f"{group_id}-001", "current_role": "primary"}],
                }
            ],
            "snapshot_retention_limit": 0,
            "snapshot_window": "05:00-06:00",
            "transit_encryption_enabled": True,
            "at_rest_encryption_enabled": True,
        }
        group.update(fields)
        self.groups[group_id] = group
        self.tags[group["arn"]] = dict(tags or {})
        if member:
            self.members[f"{group_id}-001"] = {
                "cache_cluster_id": f"{group_id}-001",
                "engine_version": "8.0.1",
                "cache_subnet_group_name": group_id,
                "preferred_maintenance_window": "sun:05:00-sun:06:00",
                "security_groups": [{"security_group_id": "sg-1", "status": "active"}],
                "cache_parameter_group": {"cache_parameter_group_name": "default.valkey8"},
                **(member_fields or {}),
            }
        return group

    def add_subnet_group(self, name, subnet_ids, tags=None):
        group = {
            "cache_subnet_group_name": name,
            "arn": f"arn:aws:elasticache:us-east-2:123456789012:subnetgroup:{name}",
            "vpc_id": "vpc-1",
            "subnets": [{"subnet_identifier": s} for s in subnet_ids],
        }
        self.subnet_groups[name] = group
        self.tags[group["arn"]] = dict(tags or {})
        return group

    def _transition(self, resource, key, status, final):
        resource["status"] = status
        self._pending[key] = (self.settle_after, final)

    def _settle(self, key, resource):
        if key in self._pending:
            left, final = self._pending[key]
            if left <= 0:
                del self._pending[key]
                return final(resource)
            self._pending[key] = (left - 1, final)
        return resource

    # -- serverless caches ----------------------------------------------------

    def describe_serverless_cache(self, client, name):
        self.calls.append(("describe_serverless_cache", name))
        cache = self.serverless.get(name)
        if cache is None:
            return None
        cache = self._settle(("serverless", name), cache)
        return copy.deepcopy(cache) if cache else None

    def _available(self, cache):
        cache["status"] = "available"
        return cache

    def _gone(self, kind, name):
        def final(_resource):
            kind.pop(name, None)
            return None

        return final

    def create_serverless_cache(self, client, **params):
        self.calls.append(("create_serverless_cache", params))
        name = params["ServerlessCacheName"]
        limits = params.get("CacheUsageLimits", {})
        cache = self.add_serverless(
            name,
            engine=params["Engine"],
            major_engine_version=params.get("MajorEngineVersion", "8"),
            description=params.get("Description", ""),
            subnet_ids=params.get("SubnetIds", []),
            security_group_ids=params.get("SecurityGroupIds", []),
            snapshot_retention_limit=params.get("SnapshotRetentionLimit", 0),
            tags={t["Key"]: t["Value"] for t in params.get("Tags", [])},
        )
        if limits:
            cache["cache_usage_limits"] = utils.camel_dict_to_snake_dict(limits)
        self._transition(cache, ("serverless", name), "creating", self._available)
        return copy.deepcopy(cache)

    def modify_serverless_cache(self, client, **params):
        self.calls.append(("modify_serverless_cache", params))
        cache = self.serverless[params["ServerlessCacheName"]]
        fields = {k: v for k, v in utils.camel_dict_to_snake_dict(params).items() if k != "serverless_cache_name"}
        cache.update(fields)
        self._transition(cache, ("serverless", cache["serverless_cache_name"]), "modifying", self._available)
        return copy.deepcopy(cache)

    def delete_serverless_cache(self, client, **params):
        self.calls.append(("delete_serverless_cache", params))
        name = params["ServerlessCacheName"]
        if name not in self.serverless:
            return False
        self._transition(self.serverless[name], ("serverless", name), "deleting", self._gone(self.serverless, name))
        return True

    # -- replication groups ---------------------------------------------------

    def describe_replication_group(self, client, group_id):
        self.calls.append(("describe_replication_group", group_id))
        group = self.groups.get(group_id)
        if group is None:
            return None
        group = self._settle(("group", group_id), group)
        return copy.deepcopy(group) if group else None

    def describe_cache_cluster(self, client, cluster_id):
        self.calls.append(("describe_cache_cluster", cluster_id))
        member = self.members.get(cluster_id)
        return copy.deepcopy(member) if member else None

    def create_replication_group(self, client, **params):
        self.calls.append(("create_replication_group", params))
        group_id = params["ReplicationGroupId"]
        group = self.add_group(
            group_id,
            description=params["ReplicationGroupDescription"],
            engine=params["Engine"],
            cache_node_type=params.get("CacheNodeType"),
            transit_encryption_enabled=params["TransitEncryptionEnabled"],
            at_rest_encryption_enabled=params["AtRestEncryptionEnabled"],
            tags={t["Key"]: t["Value"] for t in params.get("Tags", [])},
            member_fields={
                "security_groups": [{"security_group_id": s} for s in params.get("SecurityGroupIds", [])],
                "cache_subnet_group_name": params.get("CacheSubnetGroupName"),
            },
        )
        group["status"] = "creating"
        return copy.deepcopy(group)

    def modify_replication_group(self, client, **params):
        self.calls.append(("modify_replication_group", params))
        return copy.deepcopy(self.groups[params["ReplicationGroupId"]])

    def delete_replication_group(self, client, **params):
        self.calls.append(("delete_replication_group", params))
        self.groups[params["ReplicationGroupId"]]["status"] = "deleting"
        return True

    def wait_for_replication_group(self, client, group_id, waiter_name, timeout, delay=15):
        self.calls.append(("wait_for_replication_group", group_id, waiter_name, timeout))
        if waiter_name == "replication_group_available":
            self.groups[group_id]["status"] = "available"
        else:
            self.groups.pop(group_id, None)

    # -- subnet groups ----------------------------------------------------------

    def describe_cache_subnet_group(self, client, name):
        self.calls.append(("describe_cache_subnet_group", name))
        group = self.subnet_groups.get(name)
        return copy.deepcopy(group) if group else None

    def create_cache_subnet_group(self, client, **params):
        self.calls.append(("create_cache_subnet_group", params))
        tags = {t["Key"]: t["Value"] for t in params.get("Tags", [])}
        return copy.deepcopy(self.add_subnet_group(params["CacheSubnetGroupName"], params["SubnetIds"], tags))

    def modify_cache_subnet_group(self, client, **params):
        self.calls.append(("modify_cache_subnet_group", params))
        group = self.subnet_groups[params["CacheSubnetGroupName"]]
        group["subnets"] = [{"subnet_identifier": s} for s in params["SubnetIds"]]
        return copy.deepcopy(group)

    def delete_cache_subnet_group(self, client, name):
        self.calls.append(("delete_cache_subnet_group", name))
        return self.subnet_groups.pop(name, None) is not None

    # -- tags -------------------------------------------------------------------

    def list_elasticache_tags(self, client, arn):
        self.calls.append(("list_elasticache_tags", arn))
        return dict(self.tags.get(arn, {}))

    def add_elasticache_tags(self, client, arn, tags):
        self.calls.append(("add_elasticache_tags", arn, dict(tags)))
        self.tags.setdefault(arn, {}).update({k: str(v) for k, v in tags.items()})

    def remove_elasticache_tags(self, client, arn, keys):
        self.calls.append(("remove_elasticache_tags", arn, sorted(keys)))
        for key in keys:
            self.tags.get(arn, {}).pop(key, None)


SEAM = (
    "add_elasticache_tags",
    "create_cache_subnet_group",
    "create_replication_group",
    "create_serverless_cache",
    "delete_cache_subnet_group",
    "delete_replication_group",
    "delete_serverless_cache",
    "describe_cache_cluster",
    "describe_cache_subnet_group",
    "describe_replication_group",
    "describe_serverless_cache",
    "list_elasticache_tags",
    "modify_cache_subnet_group",
    "modify_replication_group",
    "modify_serverless_cache",
    "remove_elasticache_tags",
    "wait_for_replication_group",
)


@pytest.fixture
def fake(monkeypatch):
    """A FakeElastiCache behind every module_utils call of both modules, and a fake clock."""
    from ansible_collections.wanzami.infra.plugins.modules import elasticache_replication_group
    from ansible_collections.wanzami.infra.plugins.modules import elasticache_serverless

    state = FakeElastiCache()
    for name in SEAM:
        for target in (utils, elasticache_serverless, elasticache_replication_group):
            if hasattr(target, name):
                monkeypatch.setattr(target, name, getattr(state, name))
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    state.clock = clock
    monkeypatch.setattr(WanzamiInfraAWSModule, "client", lambda self, service, **kwargs: object())
    return state


def run_module(main, args, check_mode=False, diff=False):
    """Run a module's main() with args; returns (result, failed)."""

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, failed=False)

    def fail_json(self, **kwargs):
        raise ModuleExit(kwargs, failed=True)

    warnings = []
    full = dict(args, region="us-east-2", _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(full), pytest.MonkeyPatch.context() as mp:
        mp.setattr(basic.AnsibleModule, "exit_json", exit_json)
        mp.setattr(basic.AnsibleModule, "fail_json", fail_json)
        # ansible-core adds warnings to the result in exit_json, patched out above.
        mp.setattr(basic.AnsibleModule, "warn", lambda self, message: warnings.append(message))
        with pytest.raises(ModuleExit) as exited:
            main()
    result = dict(exited.value.result)
    if warnings:
        result["warnings"] = warnings
    return result, exited.value.failed
