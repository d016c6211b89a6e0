"""The adopt module's judgement (module_utils/adoption.py): what exists, whose it is, what may be done to it."""

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils.adoption import adopted
from ansible_collections.wanzami.infra.plugins.module_utils.adoption import judge
from ansible_collections.wanzami.infra.plugins.module_utils.adoption import plan_entries

OURS = {"project": "wanzami", "environment": "production", "managed-by": "ansible"}
CLUSTER = {"kind": "ecs_cluster", "name": "wanzami-cluster", "variables": {"name": "ecs_cluster_name"}}
ALB = {"kind": "elbv2_load_balancer", "name": "wanzami-backend-alb",
       "attributes": {"scheme": "internet-facing", "vpc_id": "vpc-ours"},
       "variables": {"name": "ecs_service_alb_name", "scheme": "ecs_service_alb_scheme", "vpc_id": "vpc_existing"}}
ROLE = {"kind": "iam_role", "name": "ecsTaskExecutionRole", "shared": True}


@pytest.mark.parametrize(("patterns", "expected"), [
    ([], False), (["*"], True), (["ecs_cluster/*"], True), (["ecs_cluster/wanzami-cluster"], True),
    (["ecs_service/*"], False), (["ecs_cluster/wanzami-c?uster"], True), (["ECS_CLUSTER/*"], False),
])
def test_adopt_patterns_match_kind_slash_name(patterns, expected):
    assert adopted(CLUSTER, patterns) is expected


def test_absent_and_ours_go_ahead_without_a_word():
    found = {"ecs_cluster/wanzami-cluster": {"tags": OURS, "attributes": {}, "arn": "arn:cluster"}}
    verdicts, refusals = judge([CLUSTER, ALB], found, [], OURS)
    assert [v["state"] for v in verdicts] == ["ours", "absent"]
    assert refusals == []
    assert plan_entries(verdicts, refusals, check_mode=True) == []


def test_not_ours_and_not_adopted_is_refused_naming_the_resource_the_switch_and_the_variable():
    found = {"ecs_cluster/wanzami-cluster": {"tags": {"team": "media"}, "attributes": {}, "arn": "arn:cluster"}}
    verdicts, refusals = judge([CLUSTER], found, ["ecs_service/*"], OURS)
    assert verdicts[0]["state"] == "existing"
    (refusal,) = refusals
    assert refusal["resource"] == "ECS cluster wanzami-cluster"
    assert "lacks environment=production, managed-by=ansible, project=wanzami" in refusal["message"]
    assert "wanzami_adopt: ['ecs_cluster/wanzami-cluster']" in refusal["message"]
    assert "ecs_cluster_name" in refusal["message"]
    assert plan_entries(verdicts, refusals, check_mode=False) == [
        {"action": "refused", "resource": "ECS cluster wanzami-cluster", "detail": refusal["short"]}]


def test_one_that_carries_only_some_of_our_tags_is_not_ours():
    found = {"ecs_cluster/wanzami-cluster": {"tags": dict(OURS, environment="staging"), "attributes": {}}}
    _, refusals = judge([CLUSTER], found, [], OURS)
    assert "lacks environment=production)" in refusals[0]["message"]


def test_adopted_is_tagged_and_shared_is_not():
    found = {"ecs_cluster/wanzami-cluster": {"tags": {}, "attributes": {}, "arn": "arn:cluster"},
             "iam_role/ecsTaskExecutionRole": {"tags": {"team": "media"}, "attributes": {}, "arn": "arn:role"}}
    verdicts, refusals = judge([CLUSTER, ROLE], found, ["*"], OURS)
    assert refusals == []
    assert [v["state"] for v in verdicts] == ["adopt", "adopt"]
    rows = plan_entries(verdicts, refusals, check_mode=True)
    assert [(r["action"], r["resource"]) for r in rows] == [
        ("adopt", "ECS cluster wanzami-cluster"), ("adopt", "IAM role ecsTaskExecutionRole")]
    assert "would be tagged as ours" in rows[0]["detail"]
    assert "never tagged as ours" in rows[1]["detail"]


@pytest.mark.parametrize(("tags", "patterns"), [(OURS, []), ({}, ["*"])])
def test_what_cannot_change_in_place_is_refused_for_ours_and_adopted_alike(tags, patterns):
    found = {"elbv2_load_balancer/wanzami-backend-alb": {
        "tags": tags, "arn": "arn:alb", "attributes": {"scheme": "internal", "vpc_id": "vpc-theirs", "type": "application"}}}
    _, refusals = judge([ALB], found, patterns, OURS)
    messages = [r["message"] for r in refusals]
    assert len(messages) == 2
    assert "its scheme is internal, the inventory asks internet-facing" in messages[0]
    assert "adopt it as it is (ecs_service_alb_scheme = internal)" in messages[0]
    assert "its vpc_id is vpc-theirs, the inventory asks vpc-ours" in messages[1]
    assert "(vpc_existing = vpc-theirs)" in messages[1]


def test_not_ours_with_an_impossible_change_names_both():
    found = {"elbv2_load_balancer/wanzami-backend-alb": {
        "tags": {}, "arn": "arn:alb", "attributes": {"scheme": "internet-facing", "vpc_id": "vpc-theirs"}}}
    _, refusals = judge([ALB], found, [], OURS)
    assert [r["short"].split(":")[0] for r in refusals] == [
        "vpc_id is vpc-theirs, asked vpc-ours",
        "exists, not ours (lacks environment=production, managed-by=ansible, project=wanzami), not in wanzami_adopt"]


@pytest.mark.parametrize(("have", "want", "same"), [
    (["subnet-b", "subnet-a"], ["subnet-a", "subnet-b"], True),
    (["subnet-a", "subnet-c"], ["subnet-a", "subnet-b"], False),
    (True, True, True), (False, True, False), ("POSTGRES", "postgres", True), (None, "x", False),
])
def test_attributes_compare_as_aws_answers_them(have, want, same):
    resource = {"kind": "rds_instance", "name": "db", "attributes": {"x": want}}
    found = {"rds_instance/db": {"tags": OURS, "attributes": {"x": have}}}
    _, refusals = judge([resource], found, [], OURS)
    assert (refusals == []) is same


def test_an_attribute_left_to_the_role_is_not_compared():
    resource = {"kind": "rds_instance", "name": "db", "attributes": {"engine": None}}
    found = {"rds_instance/db": {"tags": OURS, "attributes": {"engine": "mysql"}}}
    assert judge([resource], found, [], OURS)[1] == []


def test_no_ownership_tags_means_nothing_is_ours():
    found = {"ecs_cluster/wanzami-cluster": {"tags": {}, "attributes": {}}}
    verdicts, refusals = judge([CLUSTER], found, [], {})
    assert verdicts[0]["state"] == "existing" and len(refusals) == 1
