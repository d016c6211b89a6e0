"""wanzami.infra.elasticache_replication_group, run whole (main()) against a
fake ElastiCache patched at the module_utils seam. Molecule (molecule/valkey)
runs it against the emulator too; these tests cover what the emulator cannot:
member clusters, modifications it ignores, deletion, waiter timeouts."""

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils.elasticache import AnsibleElastiCacheError
from ansible_collections.wanzami.infra.plugins.modules import elasticache_replication_group as mod
from tests.unit.elasticache_helpers import fake  # noqa: F401  (fake is a fixture)
from tests.unit.elasticache_helpers import run_module  # noqa: F401  (fake is a fixture)

GROUP = "wanzami-cache"
ARN = f"arn:aws:elasticache:us-east-2:123456789012:replicationgroup:{GROUP}"
SUBNET_GROUP_ARN = f"arn:aws:elasticache:us-east-2:123456789012:subnetgroup:{GROUP}"
TAGS = {"project": "wanzami", "environment": "staging"}
SEED_002 = {
    "replication_group_id": GROUP,
    "description": "cache",
    "engine": "valkey",
    "engine_version": "8.0",
    "cache_node_type": "cache.t4g.micro",
    "num_cache_clusters": 1,
    "automatic_failover": False,
    "multi_az": False,
    "subnet_ids": ["subnet-b", "subnet-a"],
    "security_group_ids": ["sg-1"],
    "port": 6379,
    "snapshot_retention_limit": 1,
    "snapshot_window": "03:00-04:00",
    "preferred_maintenance_window": "sun:05:00-sun:06:00",
    "tags": TAGS,
}


def existing(fake, member=True, **fields):  # noqa: F811
    fake.add_subnet_group(GROUP, ["subnet-a", "subnet-b"], tags=TAGS)
    settings = dict(snapshot_retention_limit=1, snapshot_window="03:00-04:00")
    settings.update(fields)
    return fake.add_group(GROUP, tags=TAGS, member=member, **settings)


def run(args, check_mode=False, diff=False):
    return run_module(mod.main, args, check_mode=check_mode, diff=diff)


@pytest.mark.parametrize("check_mode", [False, True])
def test_creates_the_subnet_group_and_an_encrypted_valkey_group(fake, check_mode):  # noqa: F811
    result, failed = run(SEED_002, check_mode=check_mode)

    assert not failed, result
    assert result["changed"]
    if check_mode:
        assert fake.mutating_calls() == []
        assert result["replication_group"] == {}
        return
    tag_list = [{"Key": "project", "Value": "wanzami"}, {"Key": "environment", "Value": "staging"}]
    assert fake.mutating_calls() == [
        (
            "create_cache_subnet_group",
            {
                "CacheSubnetGroupName": GROUP,
                "CacheSubnetGroupDescription": f"Subnets of the {GROUP} cache",
                "SubnetIds": ["subnet-a", "subnet-b"],
                "Tags": tag_list,
            },
        ),
        (
            "create_replication_group",
            {
                "ReplicationGroupId": GROUP,
                "ReplicationGroupDescription": "cache",
                "Engine": "valkey",
                "TransitEncryptionEnabled": True,
                "AtRestEncryptionEnabled": True,
                "EngineVersion": "8.0",
                "CacheNodeType": "cache.t4g.micro",
                "NumCacheClusters": 1,
                "CacheSubnetGroupName": GROUP,
                "SecurityGroupIds": ["sg-1"],
                "Port": 6379,
                "AutomaticFailoverEnabled": False,
                "MultiAZEnabled": False,
                "SnapshotRetentionLimit": 1,
                "SnapshotWindow": "03:00-04:00",
                "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
                "Tags": tag_list,
            },
        ),
    ]
    assert ("wait_for_replication_group", GROUP, "replication_group_available", 1800) in fake.calls
    group = result["replication_group"]
    assert group["status"] == "available"
    assert group["endpoint"] == {"address": f"master.{GROUP}.abc123.use2.cache.amazonaws.com", "port": 6379}
    assert group["reader_endpoint"]["address"].startswith("replica.")
    assert group["security_group_ids"] == ["sg-1"]
    assert group["tags"] == TAGS
    assert result["cache_subnet_group"]["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert result["cache_subnet_group"]["tags"] == TAGS


def test_transit_encryption_stays_on_unless_turned_off(fake):  # noqa: F811
    args = {"replication_group_id": GROUP, "cache_node_type": "cache.t4g.micro"}

    result, failed = run(args)

    assert not failed
    (create,) = [c[1] for c in fake.mutating_calls() if c[0] == "create_replication_group"]
    assert create["TransitEncryptionEnabled"] is True and create["AtRestEncryptionEnabled"] is True
    assert create["Engine"] == "valkey"
    assert "CacheSubnetGroupName" not in create
    assert create["ReplicationGroupDescription"] == GROUP


def test_creation_needs_a_node_type_before_anything_is_made(fake):  # noqa: F811
    result, failed = run({"replication_group_id": GROUP, "subnet_ids": ["subnet-a"]})

    assert failed
    assert result["msg"] == f"cache_node_type is required to create replication group {GROUP}"
    assert fake.mutating_calls() == []


def test_cluster_mode_enabled_publishes_the_configuration_endpoint(fake):  # noqa: F811
    existing(fake, configuration_endpoint={"address": f"clustercfg.{GROUP}.abc123.use2.cache.amazonaws.com", "port": 6379})

    result, failed = run({"replication_group_id": GROUP})

    assert not failed
    assert result["replication_group"]["endpoint"]["address"].startswith("clustercfg.")
    assert "reader_endpoint" not in result["replication_group"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_matching_group_is_left_alone(fake, check_mode):  # noqa: F811
    existing(fake)
    args = dict(SEED_002, security_group_ids=["sg-1", "sg-1"], subnet_ids=["subnet-a", "subnet-b"])

    result, failed = run(args, check_mode=check_mode, diff=True)

    assert not failed, result
    assert not result["changed"]
    assert fake.mutating_calls() == []
    assert result["diff"]["before"] == result["diff"]["after"]
    # "8.0" is met by the 8.0.1 the member cluster reports.
    assert result["diff"]["before"]["engine_version"] == "8.0.1"


def test_without_its_member_cluster_the_group_is_compared_on_what_it_reports(fake):  # noqa: F811
    existing(fake, member=False)

    result, failed = run(dict(SEED_002, security_group_ids=["sg-9"]))

    assert not failed, result
    assert not result["changed"]
    assert fake.mutating_calls() == []
    assert result["warnings"] == [
        f"The first member cluster of replication group {GROUP} was not found, so cache_subnet_group_name, "
        "engine_version, preferred_maintenance_window, security_group_ids could not be compared"
    ]


@pytest.mark.parametrize("check_mode", [False, True])
def test_updates_in_place_what_modify_can_change(fake, check_mode):  # noqa: F811
    existing(fake)
    args = dict(
        SEED_002,
        cache_node_type="cache.t4g.small",
        security_group_ids=["sg-2", "sg-1"],
        engine_version="8.1",
        snapshot_retention_limit=7,
        preferred_maintenance_window="mon:01:00-mon:02:00",
        tags={"project": "wanzami"},
    )

    result, failed = run(args, check_mode=check_mode)

    assert not failed, result
    assert result["changed"]
    if check_mode:
        assert fake.mutating_calls() == []
        return
    assert fake.mutating_calls() == [
        # The subnet group carries the same tags as the group.
        ("remove_elasticache_tags", SUBNET_GROUP_ARN, ["environment"]),
        (
            "modify_replication_group",
            {
                "ReplicationGroupId": GROUP,
                "CacheNodeType": "cache.t4g.small",
                "SecurityGroupIds": ["sg-1", "sg-2"],
                "EngineVersion": "8.1",
                "SnapshotRetentionLimit": 7,
                "PreferredMaintenanceWindow": "mon:01:00-mon:02:00",
                "ApplyImmediately": True,
            },
        ),
        ("remove_elasticache_tags", ARN, ["environment"]),
    ]
    assert ("wait_for_replication_group", GROUP, "replication_group_available", 1800) in fake.calls


def test_modifications_can_wait_for_the_maintenance_window(fake):  # noqa: F811
    existing(fake)

    result, failed = run({"replication_group_id": GROUP, "cache_node_type": "cache.t4g.small", "apply_immediately": False})

    assert not failed and result["changed"]
    assert fake.mutating_calls()[0][1]["ApplyImmediately"] is False


def test_a_group_not_yet_available_is_waited_for_before_it_is_modified(fake):  # noqa: F811
    existing(fake, status="modifying")

    result, failed = run({"replication_group_id": GROUP, "description": "new", "wait": False})

    assert not failed and result["changed"]
    names = [c[0] for c in fake.calls]
    assert names.index("wait_for_replication_group") < names.index("modify_replication_group")


def test_redis_moves_to_valkey_with_its_version(fake):  # noqa: F811
    existing(fake, engine="redis", member_fields={"engine_version": "7.1.0"})

    result, failed = run({"replication_group_id": GROUP, "engine": "valkey", "engine_version": "8.0"})

    assert not failed, result
    assert fake.mutating_calls()[0][1] == {
        "ReplicationGroupId": GROUP,
        "Engine": "valkey",
        "EngineVersion": "8.0",
        "ApplyImmediately": True,
    }


@pytest.mark.parametrize("check_mode", [False, True])
def test_subnets_of_the_managed_subnet_group_are_updated(fake, check_mode):  # noqa: F811
    existing(fake)

    result, failed = run(dict(SEED_002, subnet_ids=["subnet-a", "subnet-c"]), check_mode=check_mode, diff=True)

    assert not failed, result
    assert result["changed"]
    expected = [("modify_cache_subnet_group", {"CacheSubnetGroupName": GROUP, "SubnetIds": ["subnet-a", "subnet-c"]})]
    assert fake.mutating_calls() == ([] if check_mode else expected)
    assert result["diff"]["before"]["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert result["diff"]["after"]["subnet_ids"] == ["subnet-a", "subnet-c"]


@pytest.mark.parametrize(
    ("fields", "args", "message"),
    [
        ({}, {"port": 6380}, "port cannot be changed on an existing replication group (it is 6379, 6380 was requested)"),
        ({}, {"transit_encryption_enabled": False}, "transit_encryption_enabled cannot be changed"),
        ({}, {"at_rest_encryption_enabled": False}, "at_rest_encryption_enabled cannot be changed"),
        ({}, {"cache_subnet_group_name": "elsewhere"}, "cache_subnet_group_name cannot be changed"),
        ({}, {"num_cache_clusters": 2}, "IncreaseReplicaCount/DecreaseReplicaCount"),
        ({}, {"cluster_mode": "enabled"}, "cluster_mode cannot be changed"),
        ({"kms_key_id": "arn:aws:kms:us-east-2:123456789012:key/1111"}, {"kms_key_id": "2222"}, "kms_key_id cannot be changed"),
        ({}, {"engine": "redis", "engine_version": "7.1"}, "cannot change from valkey to redis"),
        ({}, {"engine_version": "7.2"}, "cannot go down from 8.0.1 to 7.2"),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True])
def test_what_modify_cannot_change_fails_with_the_option_named(fake, fields, args, message, check_mode):  # noqa: F811
    existing(fake, **fields)

    result, failed = run(dict({"replication_group_id": GROUP}, **args), check_mode=check_mode)

    assert failed
    assert result["msg"].startswith(f"Replication group {GROUP}: ")
    assert message in result["msg"]
    assert fake.mutating_calls() == []


def test_an_impossible_change_fails_before_the_subnet_group_is_touched(fake):  # noqa: F811
    existing(fake)

    result, failed = run(dict(SEED_002, subnet_ids=["subnet-c"], port=6380, tags={"other": "tag"}))

    assert failed and "port cannot be changed" in result["msg"]
    assert fake.mutating_calls() == []


def test_a_group_that_does_not_report_its_engine_is_redis(fake):  # noqa: F811
    existing(fake, engine=None)

    assert run({"replication_group_id": GROUP, "engine": "redis"})[0]["changed"] is False
    result, failed = run({"replication_group_id": GROUP, "engine": "valkey"})
    assert failed and "moving from redis to valkey needs the target engine version" in result["msg"]


def test_every_change_that_cannot_be_made_is_named_at_once(fake):  # noqa: F811
    existing(fake)

    result, failed = run({"replication_group_id": GROUP, "port": 6380, "transit_encryption_enabled": False})

    assert failed
    assert result["changes"] == ["port", "transit_encryption_enabled"]
    assert "port cannot" in result["msg"] and "transit_encryption_enabled cannot" in result["msg"]


def test_diff_shows_the_managed_fields_before_and_after_sorted(fake):  # noqa: F811
    existing(fake)

    args = dict(SEED_002, cache_node_type="cache.t4g.small", tags={"project": "wanzami"})

    result, failed = run(args, check_mode=True, diff=True)

    assert not failed, result
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["cache_node_type"] == "cache.t4g.micro" and after["cache_node_type"] == "cache.t4g.small"
    assert before["tags"] == TAGS and after["tags"] == {"project": "wanzami"}
    assert before["transit_encryption_enabled"] is True
    assert before["security_group_ids"] == ["sg-1"]
    assert {k: v for k, v in before.items() if k not in ("cache_node_type", "tags")} == {
        k: v for k, v in after.items() if k not in ("cache_node_type", "tags")
    }
    assert list(before) == sorted(before) and list(after) == sorted(after)


def test_diff_of_a_creation_starts_from_nothing(fake):  # noqa: F811
    result, failed = run(SEED_002, check_mode=True, diff=True)

    assert not failed
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert result["diff"]["after"]["transit_encryption_enabled"] is True
    assert result["diff"]["after"]["cache_subnet_group_name"] == GROUP


def test_wait_timeout_fails_with_the_waiter_message(fake, monkeypatch):  # noqa: F811
    def never_available(client, group_id, waiter_name, timeout, delay=15):
        raise AnsibleElastiCacheError(message="Timeout trying to wait for the replication group")

    monkeypatch.setattr(mod, "wait_for_replication_group", never_available)

    result, failed = run(dict(SEED_002, wait_timeout=60))

    assert failed
    assert result["msg"] == "Timeout trying to wait for the replication group"


@pytest.mark.parametrize("status", ["deleting", "create-failed"])
def test_a_group_in_a_dead_end_state_is_not_touched(fake, status):  # noqa: F811
    existing(fake, status=status)

    result, failed = run({"replication_group_id": GROUP, "description": "x"})

    assert failed and f"is {status}" in result["msg"]
    assert fake.mutating_calls() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_deletes_the_group_then_its_subnet_group(fake, check_mode):  # noqa: F811
    existing(fake)

    args = {"replication_group_id": GROUP, "state": "absent", "subnet_ids": [], "final_snapshot_identifier": "last"}
    result, failed = run(args, check_mode=check_mode, diff=True)

    assert not failed, result
    assert result["changed"]
    assert result["diff"]["after"] == {}
    assert result["diff"]["before"]["engine"] == "valkey"
    if check_mode:
        assert fake.mutating_calls() == []
        assert GROUP in fake.groups and GROUP in fake.subnet_groups
        return
    assert fake.mutating_calls() == [
        ("delete_replication_group", {"ReplicationGroupId": GROUP, "FinalSnapshotIdentifier": "last"}),
        ("delete_cache_subnet_group", GROUP),
    ]
    assert ("wait_for_replication_group", GROUP, "replication_group_deleted", 1800) in fake.calls
    assert result["replication_group"] == {}


def test_deletion_without_subnet_ids_keeps_the_subnet_group(fake):  # noqa: F811
    existing(fake)

    result, failed = run({"replication_group_id": GROUP, "state": "absent"})

    assert not failed and result["changed"]
    assert [c[0] for c in fake.mutating_calls()] == ["delete_replication_group"]
    assert GROUP in fake.subnet_groups


def test_deletion_without_wait_keeps_the_subnet_group_it_still_uses(fake):  # noqa: F811
    existing(fake)

    result, failed = run({"replication_group_id": GROUP, "state": "absent", "subnet_ids": [], "wait": False})

    assert not failed and result["changed"]
    assert [c[0] for c in fake.mutating_calls()] == ["delete_replication_group"]
    assert result["warnings"] == [f"Cache subnet group {GROUP} was kept: the replication group is still deleting (wait=false)"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_deleting_a_missing_group_changes_nothing(fake, check_mode):  # noqa: F811
    result, failed = run({"replication_group_id": GROUP, "state": "absent"}, check_mode=check_mode)

    assert not failed and not result["changed"]
    assert fake.mutating_calls() == []


def test_a_group_already_deleting_is_only_waited_for(fake):  # noqa: F811
    existing(fake, status="deleting")

    result, failed = run({"replication_group_id": GROUP, "state": "absent"})

    assert not failed and not result["changed"]
    assert fake.mutating_calls() == []
    assert ("wait_for_replication_group", GROUP, "replication_group_deleted", 1800) in fake.calls


def test_shards_and_replicas_options_exclude_the_node_count(fake):  # noqa: F811
    result, failed = run({"replication_group_id": GROUP, "num_cache_clusters": 2, "num_node_groups": 2})

    assert failed
    assert "mutually exclusive" in result["msg"]
    assert fake.calls == []


OURS = {"project": "wanzami", "environment": "staging", "managed-by": "ansible"}


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_group_without_the_ownership_tags_is_kept_with_its_subnet_group(fake, check_mode):  # noqa: F811
    existing(fake)

    args = {"replication_group_id": GROUP, "state": "absent", "subnet_ids": [], "only_if_tagged": OURS}
    result, failed = run(args, check_mode=check_mode)

    assert not failed and not result["changed"] and result["kept"]
    assert result["msg"].startswith(f"Replication group {GROUP} is not ours (it lacks the ownership tags managed-by=ansible)")
    assert "Its subnet group is kept with it." in result["msg"]
    assert fake.mutating_calls() == []
    assert GROUP in fake.groups and GROUP in fake.subnet_groups


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_group_with_the_ownership_tags_goes_and_a_foreign_subnet_group_stays(fake, check_mode):  # noqa: F811
    existing(fake)
    fake.tags[ARN] = dict(OURS)

    args = {"replication_group_id": GROUP, "state": "absent", "subnet_ids": [], "only_if_tagged": OURS}
    result, failed = run(args, check_mode=check_mode)

    assert not failed and result["changed"] and result["kept"]
    assert result["msg"].startswith(f"Cache subnet group {GROUP} is not ours")
    assert [c[0] for c in fake.mutating_calls()] == ([] if check_mode else ["delete_replication_group"])
    assert GROUP in fake.subnet_groups


def test_a_group_and_subnet_group_that_are_ours_both_go(fake):  # noqa: F811
    existing(fake)
    fake.tags[ARN] = dict(OURS)
    fake.tags[SUBNET_GROUP_ARN] = dict(OURS)

    args = {"replication_group_id": GROUP, "state": "absent", "subnet_ids": [], "only_if_tagged": OURS}
    result, failed = run(args)

    assert not failed and result["changed"] and not result["kept"]
    assert [c[0] for c in fake.mutating_calls()] == ["delete_replication_group", "delete_cache_subnet_group"]
