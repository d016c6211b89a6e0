"""wanzami.infra.elasticache_serverless, run whole (main()) against a fake
ElastiCache patched at the module_utils seam: the emulator has no serverless
API, so this is where create, no-op, update, delete, waits, the "cannot modify"
errors and the diff are proven."""

import pytest

from ansible_collections.wanzami.infra.plugins.modules import elasticache_serverless as mod
from tests.unit.elasticache_helpers import fake  # noqa: F401  (fake is a fixture)
from tests.unit.elasticache_helpers import run_module  # noqa: F401  (fake is a fixture)

CACHE = "wanzami-cache"
ARN = f"arn:aws:elasticache:us-east-2:123456789012:serverlesscache:{CACHE}"
SEED_000 = {
    "name": "Wanzami-Cache",
    "engine": "valkey",
    "major_engine_version": "8",
    "description": "cache",
    "subnet_ids": ["subnet-b", "subnet-a"],
    "security_group_ids": ["sg-1"],
    "cache_usage_limits": {"data_storage": {"maximum": 10}, "ecpu_per_second": {"maximum": 5000}},
    "daily_snapshot_time": "03:00",
    "snapshot_retention_limit": 1,
    "tags": {"project": "wanzami", "environment": "production"},
}
LIMITS = {"data_storage": {"maximum": 10, "unit": "GB"}, "ecpu_per_second": {"maximum": 5000}}


def existing(fake, **fields):  # noqa: F811
    settings = dict(cache_usage_limits=LIMITS, daily_snapshot_time="03:00", snapshot_retention_limit=1)
    settings.update(fields)
    return fake.add_serverless(CACHE, tags={"project": "wanzami", "environment": "production"}, **settings)


def run(args, check_mode=False, diff=False):
    return run_module(mod.main, args, check_mode=check_mode, diff=diff)


@pytest.mark.parametrize("check_mode", [False, True])
def test_creates_a_missing_cache_with_every_setting_and_waits_for_it(fake, check_mode):  # noqa: F811
    result, failed = run(SEED_000, check_mode=check_mode)

    assert not failed, result
    assert result["changed"]
    if check_mode:
        assert fake.mutating_calls() == []
        assert result["serverless_cache"] == {}
        return
    assert fake.mutating_calls() == [
        (
            "create_serverless_cache",
            {
                "ServerlessCacheName": CACHE,
                "Engine": "valkey",
                "MajorEngineVersion": "8",
                "Description": "cache",
                "SubnetIds": ["subnet-a", "subnet-b"],
                "SecurityGroupIds": ["sg-1"],
                "DailySnapshotTime": "03:00",
                "SnapshotRetentionLimit": 1,
                "CacheUsageLimits": {"DataStorage": {"Maximum": 10, "Unit": "GB"}, "ECPUPerSecond": {"Maximum": 5000}},
                "Tags": [{"Key": "project", "Value": "wanzami"}, {"Key": "environment", "Value": "production"}],
            },
        )
    ]
    # Created as "creating": the module polled until "available", sleeping in between.
    assert result["serverless_cache"]["status"] == "available"
    assert fake.clock.sleeps == [mod.POLL_DELAY]
    endpoint = {"address": f"{CACHE}-abc123.serverless.use2.cache.amazonaws.com", "port": 6379}
    assert result["serverless_cache"]["endpoint"] == endpoint
    assert result["serverless_cache"]["tags"] == {"project": "wanzami", "environment": "production"}


def test_creation_without_wait_returns_at_once(fake):  # noqa: F811
    result, failed = run(dict(SEED_000, wait=False))

    assert not failed and result["changed"]
    assert fake.clock.sleeps == []
    assert result["serverless_cache"]["status"] == "creating"


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_matching_cache_is_left_alone_lists_compared_as_sets(fake, check_mode):  # noqa: F811
    existing(fake, subnet_ids=["subnet-a", "subnet-b"])
    args = dict(SEED_000, subnet_ids=["subnet-b", "subnet-a", "subnet-a"])

    result, failed = run(args, check_mode=check_mode, diff=True)

    assert not failed, result
    assert not result["changed"]
    assert fake.mutating_calls() == []
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["serverless_cache"]["arn"] == ARN


def test_options_left_out_are_not_compared(fake):  # noqa: F811
    existing(fake, description="set by hand", security_group_ids=["sg-9"])

    result, failed = run({"name": CACHE})

    assert not failed and not result["changed"]
    assert fake.mutating_calls() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_updates_security_groups_limits_and_tags_in_place(fake, check_mode):  # noqa: F811
    existing(fake)
    args = dict(
        SEED_000,
        security_group_ids=["sg-2", "sg-1"],
        cache_usage_limits={"ecpu_per_second": {"maximum": 10000}},
        tags={"project": "wanzami", "owner": "platform"},
    )

    result, failed = run(args, check_mode=check_mode)

    assert not failed, result
    assert result["changed"]
    if check_mode:
        assert fake.mutating_calls() == []
        return
    assert fake.mutating_calls() == [
        (
            "modify_serverless_cache",
            {
                "ServerlessCacheName": CACHE,
                "SecurityGroupIds": ["sg-1", "sg-2"],
                # The storage cap that was not given is kept: AWS replaces the whole structure.
                "CacheUsageLimits": {"DataStorage": {"Maximum": 10, "Unit": "GB"}, "ECPUPerSecond": {"Maximum": 10000}},
            },
        ),
        ("remove_elasticache_tags", ARN, ["environment"]),
        ("add_elasticache_tags", ARN, {"owner": "platform"}),
    ]
    assert result["serverless_cache"]["status"] == "available"
    assert result["serverless_cache"]["tags"] == {"project": "wanzami", "owner": "platform"}


def test_purge_tags_false_only_adds(fake):  # noqa: F811
    existing(fake)

    result, failed = run({"name": CACHE, "tags": {"owner": "platform"}, "purge_tags": False})

    assert not failed and result["changed"]
    assert fake.mutating_calls() == [("add_elasticache_tags", ARN, {"owner": "platform"})]


def test_diff_shows_the_managed_fields_before_and_after_sorted(fake):  # noqa: F811
    existing(fake)
    args = dict(SEED_000, security_group_ids=["sg-2", "sg-1"], snapshot_retention_limit=7, tags={"project": "wanzami"})

    result, failed = run(args, check_mode=True, diff=True)

    assert not failed, result
    before = {
        "cache_usage_limits": {"data_storage": {"maximum": 10}, "ecpu_per_second": {"maximum": 5000}},
        "daily_snapshot_time": "03:00",
        "description": "cache",
        "engine": "valkey",
        "major_engine_version": "8",
        "security_group_ids": ["sg-1"],
        "snapshot_retention_limit": 1,
        "subnet_ids": ["subnet-a", "subnet-b"],
        "tags": {"environment": "production", "project": "wanzami"},
    }
    after = dict(before, security_group_ids=["sg-1", "sg-2"], snapshot_retention_limit=7, tags={"project": "wanzami"})
    assert result["diff"] == {"before": before, "after": after}
    assert list(result["diff"]["after"]) == sorted(after)


def test_diff_of_a_creation_starts_from_nothing(fake):  # noqa: F811
    result, failed = run(SEED_000, check_mode=True, diff=True)

    assert not failed
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert result["diff"]["after"]["tags"] == {"environment": "production", "project": "wanzami"}


@pytest.mark.parametrize(
    ("fields", "args", "message"),
    [
        ({}, {"subnet_ids": ["subnet-c"]}, "subnet_ids cannot be changed on an existing serverless cache"),
        (
            {"kms_key_id": "arn:aws:kms:us-east-2:123456789012:key/1111"},
            {"kms_key_id": "arn:aws:kms:us-east-2:123456789012:key/2222"},
            "kms_key_id cannot be changed on an existing serverless cache",
        ),
        ({}, {"engine": "redis", "major_engine_version": "7"}, "cannot change from valkey to redis"),
        ({}, {"major_engine_version": "7"}, "cannot go down from 8 to 7"),
        (
            {"engine": "redis", "major_engine_version": "7"},
            {"engine": "valkey"},
            "moving from redis to valkey needs the target engine version",
        ),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_what_modify_cannot_change_fails_with_the_option_named(fake, fields, args, message, check_mode):  # noqa: F811
    existing(fake, **fields)

    result, failed = run(dict({"name": CACHE}, **args), check_mode=check_mode)

    assert failed
    assert message in result["msg"]
    assert result["msg"].startswith(f"Serverless cache {CACHE}: ")
    assert fake.mutating_calls() == []


def test_a_bare_kms_key_id_names_the_key_in_the_arn(fake):  # noqa: F811
    existing(fake, kms_key_id="arn:aws:kms:us-east-2:123456789012:key/1111")

    result, failed = run({"name": CACHE, "kms_key_id": "1111"})

    assert not failed and not result["changed"]


def test_redis_moves_to_valkey_before_the_other_changes(fake):  # noqa: F811
    existing(fake, engine="redis", major_engine_version="7")

    result, failed = run({"name": CACHE, "engine": "valkey", "major_engine_version": "8", "description": "moved"})

    assert not failed, result
    assert [call[:2] for call in fake.mutating_calls()] == [
        ("modify_serverless_cache", {"ServerlessCacheName": CACHE, "MajorEngineVersion": "8", "Engine": "valkey"}),
        ("modify_serverless_cache", {"ServerlessCacheName": CACHE, "Description": "moved"}),
    ]
    # The second call waited for the first to finish.
    calls = [c[0] for c in fake.calls]
    first, second = [i for i, c in enumerate(calls) if c == "modify_serverless_cache"]
    assert "describe_serverless_cache" in calls[first:second]


def test_a_cache_still_creating_is_waited_for_before_it_is_modified(fake):  # noqa: F811
    existing(fake, status="creating")
    fake._pending[("serverless", CACHE)] = (1, fake._available)

    result, failed = run({"name": CACHE, "description": "new"})

    assert not failed and result["changed"]
    calls = [c[0] for c in fake.calls]
    assert calls.index("modify_serverless_cache") > 1
    assert fake.clock.sleeps


def test_wait_timeout_fails_with_the_time_waited(fake):  # noqa: F811
    fake.settle_after = 10**6

    result, failed = run(dict(SEED_000, wait_timeout=30))

    assert failed
    assert result["msg"] == f"Timeout trying to wait for serverless cache {CACHE} to become available after 30 seconds"
    # Bounded: 10 s polls within 30 s, no more.
    assert fake.clock.sleeps == [10, 10, 10]


@pytest.mark.parametrize("status", ["deleting", "create-failed"])
def test_a_cache_in_a_dead_end_state_is_not_touched(fake, status):  # noqa: F811
    existing(fake, status=status)

    result, failed = run(SEED_000)

    assert failed
    assert f"is {status}" in result["msg"]
    assert fake.mutating_calls() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_deletes_with_a_final_snapshot_and_waits_until_gone(fake, check_mode):  # noqa: F811
    existing(fake)

    result, failed = run({"name": CACHE, "state": "absent", "final_snapshot_name": "last"}, check_mode=check_mode, diff=True)

    assert not failed, result
    assert result["changed"]
    assert result["diff"]["after"] == {}
    assert result["diff"]["before"]["tags"] == {"project": "wanzami", "environment": "production"}
    if check_mode:
        assert fake.mutating_calls() == []
        assert CACHE in fake.serverless
        return
    assert fake.mutating_calls() == [("delete_serverless_cache", {"ServerlessCacheName": CACHE, "FinalSnapshotName": "last"})]
    assert CACHE not in fake.serverless
    assert result["serverless_cache"] == {}


@pytest.mark.parametrize("check_mode", [False, True])
def test_deleting_a_missing_cache_changes_nothing(fake, check_mode):  # noqa: F811
    result, failed = run({"name": CACHE, "state": "absent"}, check_mode=check_mode)

    assert not failed and not result["changed"]
    assert fake.mutating_calls() == []


def test_a_cache_already_deleting_is_only_waited_for(fake):  # noqa: F811
    existing(fake, status="deleting")
    fake._pending[("serverless", CACHE)] = (1, fake._gone(fake.serverless, CACHE))

    result, failed = run({"name": CACHE, "state": "absent"})

    assert not failed and not result["changed"]
    assert fake.mutating_calls() == []
    assert CACHE not in fake.serverless


def test_deletion_wait_timeout_fails(fake):  # noqa: F811
    existing(fake)
    fake.settle_after = 10**6

    result, failed = run({"name": CACHE, "state": "absent", "wait_timeout": 20})

    assert failed
    assert result["msg"] == f"Timeout trying to wait for serverless cache {CACHE} to be deleted after 20 seconds"


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_cache_without_the_ownership_tags_is_kept(fake, check_mode):  # noqa: F811
    existing(fake)
    ours = {"project": "wanzami", "environment": "production", "managed-by": "ansible"}

    result, failed = run({"name": CACHE, "state": "absent", "only_if_tagged": ours}, check_mode=check_mode)

    assert not failed and not result["changed"] and result["kept"]
    assert result["msg"].startswith(f"Serverless cache {CACHE} is not ours (it lacks the ownership tags managed-by=ansible)")
    assert fake.mutating_calls() == [] and CACHE in fake.serverless

    fake.tags[ARN] = dict(ours)
    result, failed = run({"name": CACHE, "state": "absent", "only_if_tagged": ours}, check_mode=check_mode)
    assert not failed and result["changed"] and not result["kept"]
