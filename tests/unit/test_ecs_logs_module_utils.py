"""module_utils/ecs.py and module_utils/logs.py against botocore's Stubber: every request
is checked against the service model (a wrong parameter name fails here, not on AWS),
and the answers are shaped as AWS gives them."""

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils import ecs
from ansible_collections.wanzami.infra.plugins.module_utils import logs
from tests.unit.stubs import stubbed_client

ARN = "arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster"
GROUP_ARN = "arn:aws:logs:us-east-2:123456789012:log-group:/ecs/wanzami-backend"


@pytest.fixture
def ecs_client():
    with stubbed_client("ecs") as stubbed:
        yield stubbed


@pytest.fixture
def logs_client():
    with stubbed_client("logs") as stubbed:
        yield stubbed


def test_describe_cluster_asks_for_settings_and_tags(ecs_client):
    client, stubber = ecs_client
    cluster = {"clusterName": "wanzami-cluster", "clusterArn": ARN, "status": "ACTIVE"}
    stubber.add_response("describe_clusters", {"clusters": [cluster], "failures": []},
                         {"clusters": ["wanzami-cluster"], "include": ["SETTINGS", "TAGS"]})
    assert ecs.describe_cluster(client, "wanzami-cluster") == cluster


@pytest.mark.parametrize(
    "answer",
    [
        {"clusters": [], "failures": [{"arn": ARN, "reason": "MISSING"}]},
        # A deleted cluster lingers as INACTIVE and may be created again under its name.
        {"clusters": [{"clusterName": "wanzami-cluster", "clusterArn": ARN, "status": "INACTIVE"}], "failures": []},
    ],
)
def test_a_missing_or_deleted_cluster_is_none(ecs_client, answer):
    client, stubber = ecs_client
    stubber.add_response("describe_clusters", answer)
    assert ecs.describe_cluster(client, "wanzami-cluster") is None


def test_create_update_and_tag_requests_match_the_ecs_model(ecs_client):
    client, stubber = ecs_client
    cluster = {"clusterName": "wanzami-cluster", "clusterArn": ARN}
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0}]
    settings = [{"name": "containerInsights", "value": "enabled"}]
    create = {"clusterName": "wanzami-cluster", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
              "defaultCapacityProviderStrategy": strategy, "settings": settings, "tags": [{"key": "project", "value": "wanzami"}]}
    stubber.add_response("create_cluster", {"cluster": cluster}, create)
    stubber.add_response("update_cluster", {"cluster": cluster}, {"cluster": "wanzami-cluster", "settings": settings})
    stubber.add_response("put_cluster_capacity_providers", {"cluster": cluster},
                         {"cluster": "wanzami-cluster", "capacityProviders": ["FARGATE"],
                          "defaultCapacityProviderStrategy": strategy[:1]})
    stubber.add_response("tag_resource", {},
                         {"resourceArn": ARN, "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "x"}]})
    stubber.add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["owner"]})
    stubber.add_response("delete_cluster", {"cluster": cluster}, {"cluster": "wanzami-cluster"})

    assert ecs.create_cluster(client, **create) == cluster
    assert ecs.update_cluster_settings(client, "wanzami-cluster", settings) == cluster
    assert ecs.put_cluster_capacity_providers(client, "wanzami-cluster", ["FARGATE"], strategy[:1]) == cluster
    ecs.tag_cluster(client, ARN, {"b": "x", "a": 1})
    ecs.untag_cluster(client, ARN, ["owner"])
    assert ecs.delete_cluster(client, "wanzami-cluster") is True


def test_a_cluster_still_applying_a_change_is_retried(ecs_client, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    client, stubber = ecs_client
    cluster = {"clusterName": "wanzami-cluster", "clusterArn": ARN}
    stubber.add_client_error("put_cluster_capacity_providers", "UpdateInProgressException", "The cluster is being updated")
    stubber.add_response("put_cluster_capacity_providers", {"cluster": cluster})
    assert ecs.put_cluster_capacity_providers(client, "wanzami-cluster", ["FARGATE"], []) == cluster


def test_ecs_errors_become_ansible_ecs_errors(ecs_client):
    client, stubber = ecs_client
    stubber.add_client_error("create_cluster", "InvalidParameterException", "bad strategy")
    with pytest.raises(ecs.AnsibleECSError, match="create cluster"):
        ecs.create_cluster(client, clusterName="wanzami-cluster")


def test_describe_log_group_finds_the_exact_name_across_pages(logs_client):
    client, stubber = logs_client
    workers = {"logGroupName": "/ecs/wanzami-backend-workers", "arn": GROUP_ARN + "-workers:*"}
    api = {"logGroupName": "/ecs/wanzami-backend", "arn": GROUP_ARN + ":*", "logGroupArn": GROUP_ARN, "retentionInDays": 30}
    prefix = {"logGroupNamePrefix": "/ecs/wanzami-backend"}
    stubber.add_response("describe_log_groups", {"logGroups": [workers], "nextToken": "t"}, prefix)
    stubber.add_response("describe_log_groups", {"logGroups": [api]}, {**prefix, "nextToken": "t"})
    assert logs.describe_log_group(client, "/ecs/wanzami-backend") == api


def test_describe_log_group_is_none_when_only_longer_names_match(logs_client):
    client, stubber = logs_client
    stubber.add_response("describe_log_groups", {"logGroups": [{"logGroupName": "/ecs/wanzami-backend-workers"}]})
    assert logs.describe_log_group(client, "/ecs/wanzami-backend") is None


def test_log_group_requests_match_the_logs_model(logs_client):
    client, stubber = logs_client
    stubber.add_response("create_log_group", {}, {"logGroupName": "/ecs/wanzami-backend", "tags": {"project": "wanzami"}})
    stubber.add_response("put_retention_policy", {}, {"logGroupName": "/ecs/wanzami-backend", "retentionInDays": 1096})
    stubber.add_response("delete_retention_policy", {}, {"logGroupName": "/ecs/wanzami-backend"})
    stubber.add_response("list_tags_for_resource", {"tags": {"project": "wanzami"}}, {"resourceArn": GROUP_ARN})
    stubber.add_response("tag_resource", {}, {"resourceArn": GROUP_ARN, "tags": {"a": "b"}})
    stubber.add_response("untag_resource", {}, {"resourceArn": GROUP_ARN, "tagKeys": ["owner"]})
    stubber.add_response("delete_log_group", {}, {"logGroupName": "/ecs/wanzami-backend"})

    logs.create_log_group(client, "/ecs/wanzami-backend", {"project": "wanzami"})
    logs.put_retention_policy(client, "/ecs/wanzami-backend", 1096)
    logs.delete_retention_policy(client, "/ecs/wanzami-backend")
    assert logs.list_log_group_tags(client, GROUP_ARN) == {"project": "wanzami"}
    logs.tag_log_group(client, GROUP_ARN, {"a": "b"})
    logs.untag_log_group(client, GROUP_ARN, ["owner"])
    assert logs.delete_log_group(client, "/ecs/wanzami-backend") is True


def test_a_group_without_tags_is_created_without_the_tags_parameter(logs_client):
    client, stubber = logs_client
    stubber.add_response("create_log_group", {}, {"logGroupName": "/ecs/x"})
    logs.create_log_group(client, "/ecs/x", {})


@pytest.mark.parametrize(
    ("group", "arn"),
    [
        ({"arn": GROUP_ARN + ":*", "logGroupArn": GROUP_ARN}, GROUP_ARN),
        # Older answers carry only `arn`, with the ':*' the tagging API refuses.
        ({"arn": GROUP_ARN + ":*"}, GROUP_ARN),
    ],
)
def test_log_group_arn_is_the_one_the_tagging_api_takes(group, arn):
    assert logs.log_group_arn(group) == arn
