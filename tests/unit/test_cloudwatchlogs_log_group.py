"""wanzami.infra.cloudwatchlogs_log_group with the boto layer patched at the module_utils seam."""

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils.logs import RETENTION_DAYS
from ansible_collections.wanzami.infra.plugins.modules import cloudwatchlogs_log_group as mod

ARN = "arn:aws:logs:us-east-2:123456789012:log-group:/ecs/wanzami-backend"


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {"name": "/ecs/wanzami-backend", "state": "present", "retention": 30,
                       "tags": {"project": "wanzami"}, "purge_tags": True}
        self.params.update(params)


def existing(**overrides):
    group = {"logGroupName": "/ecs/wanzami-backend", "arn": ARN + ":*", "logGroupArn": ARN, "creationTime": 1,
             "retentionInDays": 30}
    group.update(overrides)
    return group


@pytest.fixture
def aws(monkeypatch):
    state = {"group": None, "tags": {}, "calls": []}

    def record(name):
        def call(client, *args):
            state["calls"].append((name, *args))
            if name == "create_log_group":
                state["group"] = existing(retentionInDays=None)
        return call

    monkeypatch.setattr(mod, "describe_log_group", lambda client, name: state["group"])
    monkeypatch.setattr(mod, "list_log_group_tags", lambda client, arn: dict(state["tags"]))
    for name in ("create_log_group", "delete_log_group", "put_retention_policy", "delete_retention_policy", "tag_log_group",
                 "untag_log_group"):
        monkeypatch.setattr(mod, name, record(name))
    return state


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_a_missing_group_with_tags_and_retention(aws, check_mode):
    changed, group, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed
    expected = [("create_log_group", "/ecs/wanzami-backend", {"project": "wanzami"}),
                ("put_retention_policy", "/ecs/wanzami-backend", 30)]
    assert aws["calls"] == ([] if check_mode else expected)
    assert diff == {"before": {}, "after": {"retention_in_days": 30, "tags": {"project": "wanzami"}}}
    assert ("arn" in group) is not check_mode


@pytest.mark.parametrize("check_mode", [True, False])
def test_converged_group_changes_nothing(aws, check_mode):
    aws.update(group=existing(), tags={"project": "wanzami"})
    changed, group, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert not changed and aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert group["arn"] == ARN


@pytest.mark.parametrize("check_mode", [True, False])
def test_retention_and_tag_drift_is_corrected_and_only_read_in_check_mode(aws, check_mode):
    # amazon.aws.cloudwatchlogs_log_group 10.1.2 calls PutRetentionPolicy here even in check mode.
    aws.update(group=existing(retentionInDays=3), tags={"project": "wanzami", "owner": "console"})
    changed, _, diff = mod.ensure_present(FakeModule(check_mode=check_mode, retention=1096), None)
    assert changed
    expected = [("put_retention_policy", "/ecs/wanzami-backend", 1096), ("untag_log_group", ARN, ["owner"])]
    assert aws["calls"] == ([] if check_mode else expected)
    assert diff["before"]["retention_in_days"] == 3 and diff["after"]["retention_in_days"] == 1096


def test_retention_zero_means_never_expire(aws):
    aws.update(group=existing(retentionInDays=7), tags={"project": "wanzami"})
    changed, group, _ = mod.ensure_present(FakeModule(retention=0), None)
    assert changed and aws["calls"] == [("delete_retention_policy", "/ecs/wanzami-backend")]
    assert group["retention_in_days"] is None
    aws.update(group=existing(retentionInDays=None), calls=[])
    assert mod.ensure_present(FakeModule(retention=0), None)[0] is False


def test_options_not_given_are_left_alone(aws):
    aws.update(group=existing(retentionInDays=5), tags={"owner": "someone"})
    changed, group, _ = mod.ensure_present(FakeModule(retention=None, tags=None), None)
    assert not changed and aws["calls"] == []
    assert group["retention_in_days"] == 5 and group["tags"] == {"owner": "someone"}


def test_every_value_cloudwatch_accepts_is_a_choice():
    # The five amazon.aws 10.1.2 refuses (and deletes the group for) are among them.
    assert {1096, 2192, 2557, 2922, 3288} <= set(RETENTION_DAYS)
    assert len(RETENTION_DAYS) == 22


@pytest.mark.parametrize("check_mode", [True, False])
def test_delete(aws, check_mode):
    aws.update(group=existing())
    changed, diff, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert kept is None
    assert changed and diff["after"]["state"] == "absent"
    assert aws["calls"] == ([] if check_mode else [("delete_log_group", "/ecs/wanzami-backend")])
    aws.update(group=None, calls=[])
    assert mod.ensure_absent(FakeModule(state="absent"), None)[0] is False


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_log_group_without_the_ownership_tags_is_kept(aws, check_mode):
    aws.update(group=existing(), tags={"owner": "console"})
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent",
                                                    only_if_tagged={"project": "wanzami"}), None)
    assert not changed and aws["calls"] == []
    assert kept.startswith("Log group /ecs/wanzami-backend is not ours (it lacks the ownership tags project=wanzami)")


@pytest.mark.parametrize(("before", "after", "row"), [
    ({"retention_in_days": None, "tags": {}}, {"retention_in_days": 30, "tags": {}},
     "retention never expire -> 30 days: older events expire"),
    ({"retention_in_days": 90, "tags": {}}, {"retention_in_days": 30, "tags": {}},
     "retention 90 -> 30 days: older events expire"),
    ({"retention_in_days": 30, "tags": {}}, {"retention_in_days": 90, "tags": {}}, None),
    ({"retention_in_days": 30, "tags": {}}, {"retention_in_days": None, "tags": {}}, None),
    ({}, {"retention_in_days": 30, "tags": {}}, None),
])
def test_a_shorter_retention_on_an_existing_group_is_a_remove_row(before, after, row):
    plan = mod.expiry_plan("/ecs/wanzami-backend", {"before": before, "after": after})
    assert plan == ({"wanzami_plan": [{"action": "remove", "resource": "log group /ecs/wanzami-backend", "detail": row}]}
                    if row else {})
