"""plugins/module_utils/elasticache.py and modules.py: the wrapped boto calls
(against botocore's Stubber, so request and response shapes are botocore's
own), the poll loop, the engine rules and the tag helpers."""

import time

import pytest
import yaml

from ansible_collections.wanzami.infra.plugins.module_utils import elasticache as utils
from ansible_collections.wanzami.infra.plugins.module_utils import modules
from tests.conftest import REPO
from tests.unit.elasticache_helpers import FakeClock
from tests.unit.stubs import stubbed_client


@pytest.fixture
def stubbed():
    with stubbed_client("elasticache") as pair:
        yield pair


def test_describe_serverless_cache_returns_snake_case(stubbed):
    client, stubber = stubbed
    stubber.add_response(
        "describe_serverless_caches",
        {
            "ServerlessCaches": [
                {
                    "ServerlessCacheName": "wanzami-cache",
                    "Status": "available",
                    "CacheUsageLimits": {"DataStorage": {"Maximum": 10, "Unit": "GB"}, "ECPUPerSecond": {"Maximum": 5000}},
                    "Endpoint": {"Address": "wanzami-cache-dbt2pq.serverless.use2.cache.amazonaws.com", "Port": 6379},
                    "ARN": "arn:aws:elasticache:us-east-2:123456789012:serverlesscache:wanzami-cache",
                }
            ]
        },
        {"ServerlessCacheName": "wanzami-cache"},
    )

    cache = utils.describe_serverless_cache(client, "wanzami-cache")

    assert cache == {
        "serverless_cache_name": "wanzami-cache",
        "status": "available",
        "cache_usage_limits": {"data_storage": {"maximum": 10, "unit": "GB"}, "ecpu_per_second": {"maximum": 5000}},
        "endpoint": {"address": "wanzami-cache-dbt2pq.serverless.use2.cache.amazonaws.com", "port": 6379},
        "arn": "arn:aws:elasticache:us-east-2:123456789012:serverlesscache:wanzami-cache",
    }


@pytest.mark.parametrize(
    ("call", "operation", "code", "args"),
    [
        (utils.describe_serverless_cache, "describe_serverless_caches", "ServerlessCacheNotFoundFault", ("x",)),
        (utils.describe_replication_group, "describe_replication_groups", "ReplicationGroupNotFoundFault", ("x",)),
        (utils.describe_cache_cluster, "describe_cache_clusters", "CacheClusterNotFound", ("x",)),
        (utils.describe_cache_subnet_group, "describe_cache_subnet_groups", "CacheSubnetGroupNotFoundFault", ("x",)),
    ],
)
def test_a_missing_resource_is_none(stubbed, call, operation, code, args):
    client, stubber = stubbed
    stubber.add_client_error(operation, service_error_code=code, http_status_code=404)

    assert call(client, *args) is None


def test_deleting_a_missing_cache_reports_no_change(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("delete_serverless_cache", service_error_code="ServerlessCacheNotFoundFault", http_status_code=404)

    assert utils.delete_serverless_cache(client, ServerlessCacheName="x") is False


def test_other_errors_become_ansible_errors_naming_the_action(stubbed):
    client, stubber = stubbed
    stubber.add_client_error(
        "modify_serverless_cache",
        service_error_code="InvalidServerlessCacheStateFault",
        service_message="not available",
        http_status_code=400,
    )

    with pytest.raises(utils.AnsibleElastiCacheError) as error:
        utils.modify_serverless_cache(client, ServerlessCacheName="x", Description="y")

    assert error.value.message == "Failed to modify serverless cache"
    assert error.value.exception.response["Error"]["Code"] == "InvalidServerlessCacheStateFault"


def test_tags_come_back_as_a_dict(stubbed):
    client, stubber = stubbed
    arn = "arn:aws:elasticache:us-east-2:123456789012:replicationgroup:x"
    stubber.add_response("list_tags_for_resource", {"TagList": [{"Key": "project", "Value": "wanzami"}]}, {"ResourceName": arn})

    assert utils.list_elasticache_tags(client, arn) == {"project": "wanzami"}


@pytest.mark.parametrize("check_mode", [True, False])
def test_ensure_tags_purges_and_sets_and_only_predicts_in_check_mode(stubbed, check_mode):
    # The stubber fails on any call it was not given a response for.
    client, stubber = stubbed
    arn = "arn:aws:elasticache:us-east-2:123456789012:replicationgroup:x"
    if not check_mode:
        stubber.add_response("remove_tags_from_resource", {}, {"ResourceName": arn, "TagKeys": ["old"]})
        stubber.add_response("add_tags_to_resource", {}, {"ResourceName": arn, "Tags": [{"Key": "new", "Value": "1"}]})

    changed = utils.ensure_elasticache_tags(client, arn, {"old": "x", "keep": "y"}, {"keep": "y", "new": 1}, True, check_mode)

    assert changed


def test_ensure_tags_leaves_unmanaged_tags_alone(stubbed):
    client, _ = stubbed
    assert utils.ensure_elasticache_tags(client, "arn", {"a": "1"}, None, True, False) is False
    assert utils.ensure_elasticache_tags(client, "arn", {"a": "1"}, {"a": "1"}, True, False) is False
    assert utils.ensure_elasticache_tags(client, "arn", {"a": "1", "b": "2"}, {"a": "1"}, False, False) is False


@pytest.mark.parametrize(
    ("current", "desired", "purge", "after"),
    [
        ({"a": "1"}, None, True, {"a": "1"}),
        ({"a": "1", "b": "2"}, {"a": "3"}, True, {"a": "3"}),
        ({"a": "1", "b": "2"}, {"a": "3"}, False, {"a": "3", "b": "2"}),
        ({"aws:x": "1"}, {}, True, {"aws:x": "1"}),
    ],
)
def test_tags_after(current, desired, purge, after):
    assert utils.tags_after(current, desired, purge) == after


def test_replication_group_waiter_attempts_cover_the_timeout(monkeypatch):
    seen = {}

    class Waiter:
        def wait(self, **kwargs):
            seen.update(kwargs)

    class Client:
        def get_waiter(self, name):
            seen["name"] = name
            return Waiter()

    utils.wait_for_replication_group(Client(), "g", "replication_group_available", 100, delay=15)

    assert seen == {"name": "replication_group_available", "ReplicationGroupId": "g",
                    "WaiterConfig": {"Delay": 15, "MaxAttempts": 7}}


def test_replication_group_waiter_timeout_is_an_ansible_error():
    with stubbed_client("elasticache") as (client, stubber):
        creating = {"ReplicationGroups": [{"ReplicationGroupId": "g", "Status": "creating"}]}
        stubber.add_response("describe_replication_groups", creating)
        with pytest.raises(utils.AnsibleElastiCacheError) as error:
            utils.wait_for_replication_group(client, "g", "replication_group_available", 1, delay=1)

    assert error.value.message == "Timeout trying to wait for the replication group"


class TestWaitFor:
    @pytest.fixture(autouse=True)
    def clock(self, monkeypatch):
        clock = FakeClock()
        monkeypatch.setattr(time, "monotonic", clock.monotonic)
        monkeypatch.setattr(time, "sleep", clock.sleep)
        return clock

    def test_returns_the_first_ready_result(self, clock):
        answers = iter(["creating", "creating", "available", "never read"])

        result = utils.wait_for(lambda: next(answers), lambda s: s == "available", 600, 10, "wait")

        assert result == "available"
        assert clock.sleeps == [10, 10]

    def test_gives_up_before_the_timeout_is_exceeded(self, clock):
        with pytest.raises(utils.AnsibleElastiCacheError) as error:
            utils.wait_for(lambda: "creating", lambda s: False, 25, 10, "wait for it")

        assert error.value.message == "Timeout trying to wait for it after 25 seconds"
        assert clock.sleeps == [10, 10]
        assert clock.now - 1000.0 <= 25

    def test_a_zero_timeout_checks_once(self, clock):
        calls = []

        with pytest.raises(utils.AnsibleElastiCacheError):
            utils.wait_for(lambda: calls.append(1), lambda s: False, 0, 10, "wait")

        assert calls == [1] and clock.sleeps == []


@pytest.mark.parametrize(
    ("current", "version", "wanted", "wanted_version", "problem"),
    [
        ("valkey", "8", "valkey", "8", None),
        ("valkey", "7", None, "8", None),
        ("redis", "7", "valkey", "8", None),
        ("redis", "7.1.0", "valkey", "7.2", None),
        ("valkey", "8", "redis", "7", "cannot change from valkey to redis"),
        ("redis", "7", "valkey", None, "needs the target engine version"),
        ("valkey", "8", None, "7", "cannot go down from 8 to 7"),
        ("valkey", "8.0.1", None, "8.0", None),
        ("valkey", "8.0.1", None, "7.2", "cannot go down from 8.0.1 to 7.2"),
        ("valkey", "7.2.6", None, "8.0", None),
    ],
)
def test_engine_change_problem(current, version, wanted, wanted_version, problem):
    found = utils.engine_change_problem(current, version, wanted, wanted_version)
    if problem is None:
        assert found is None
    else:
        assert problem in found


@pytest.mark.parametrize(
    ("wanted", "actual", "match"),
    [("8.0", "8.0", True), ("8.0", "8.0.1", True), ("8", "8.0.1", True), ("8.0", "8.1.0", False), ("8.1", "8.10.0", False)],
)
def test_version_matches(wanted, actual, match):
    assert utils.version_matches(wanted, actual) is match


def test_sorted_dict_sorts_every_level():
    value = utils.sorted_dict({"b": {"d": 1, "c": 2}, "a": [3, 1]})
    assert list(value) == ["a", "b"] and list(value["b"]) == ["c", "d"] and value["a"] == [3, 1]


def test_collection_version_is_galaxy_yml_s():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert modules.WANZAMI_INFRA_COLLECTION_NAME == f"{galaxy['namespace']}.{galaxy['name']}"
    assert modules.WANZAMI_INFRA_COLLECTION_VERSION == galaxy["version"]
