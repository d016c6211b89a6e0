"""wanzami.infra.ecs_cluster with the boto layer patched at the module_utils seam."""

import pytest

from ansible_collections.wanzami.infra.plugins.modules import ecs_cluster as mod

ARN = "arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster"
ON_DEMAND = [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}]
SPOT_MIX = [{"capacity_provider": "FARGATE", "weight": 1, "base": 1},
            {"capacity_provider": "FARGATE_SPOT", "weight": 4, "base": 0}]


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {"name": "wanzami-cluster", "state": "present", "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
                       "capacity_provider_strategy": ON_DEMAND, "container_insights": "enabled",
                       "tags": {"project": "wanzami"}, "purge_tags": True}
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


def existing(**overrides):
    cluster = {"clusterName": "wanzami-cluster", "clusterArn": ARN, "status": "ACTIVE",
               "capacityProviders": ["FARGATE_SPOT", "FARGATE"],
               # ECS reports base and weight even when they were not given.
               "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
               "settings": [{"name": "containerInsights", "value": "enabled"}],
               "tags": [{"key": "project", "value": "wanzami"}]}
    cluster.update(overrides)
    return cluster


@pytest.fixture
def aws(monkeypatch):
    """Record every mutating call at the seam; tests set what describe returns."""
    state = {"cluster": None, "calls": []}

    def record(name, result=None):
        def call(client, *args, **kwargs):
            state["calls"].append((name, args, kwargs))
            return result
        return call

    monkeypatch.setattr(mod, "describe_cluster", lambda client, name: state["cluster"])
    for name in ("create_cluster", "update_cluster_settings", "put_cluster_capacity_providers", "tag_cluster", "untag_cluster",
                 "delete_cluster"):
        monkeypatch.setattr(mod, name, record(name, existing() if name == "create_cluster" else None))
    return state


def names(calls):
    return [c[0] for c in calls]


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_a_missing_cluster_with_every_setting_in_one_call(aws, check_mode):
    module = FakeModule(check_mode=check_mode, capacity_provider_strategy=SPOT_MIX, container_insights="enhanced")
    changed, cluster, diff = mod.ensure_present(module, None)
    assert changed
    if check_mode:
        assert aws["calls"] == []
        assert "cluster_arn" not in cluster
    else:
        ((name, _, params),) = aws["calls"]
        assert name == "create_cluster"
        assert params == {
            "clusterName": "wanzami-cluster",
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                                {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0}],
            "settings": [{"name": "containerInsights", "value": "enhanced"}],
            "tags": [{"key": "project", "value": "wanzami"}],
        }
        assert cluster["cluster_arn"] == ARN
    assert diff["before"] == {}
    assert diff["after"]["container_insights"] == "enhanced"
    assert diff["after"]["capacity_provider_strategy"] == SPOT_MIX
    assert cluster["container_insights"] == "enhanced"


@pytest.mark.parametrize("check_mode", [True, False])
def test_converged_cluster_changes_nothing(aws, check_mode):
    # Provider order, strategy order and omitted zero bases must not read as changes.
    aws["cluster"] = existing()
    module = FakeModule(check_mode=check_mode, capacity_providers=["FARGATE", "FARGATE_SPOT"],
                        capacity_provider_strategy=[{"capacity_provider": "FARGATE", "weight": 1, "base": 0}])
    changed, cluster, diff = mod.ensure_present(module, None)
    assert not changed
    assert aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert cluster["cluster_arn"] == ARN
    assert cluster["default_capacity_provider_strategy"] == ON_DEMAND


@pytest.mark.parametrize("check_mode", [True, False])
def test_drift_is_corrected_with_the_fewest_calls_and_shown(aws, check_mode):
    aws["cluster"] = existing(capacityProviders=["FARGATE"], settings=[{"name": "containerInsights", "value": "disabled"}],
                              tags=[{"key": "project", "value": "wanzami"}, {"key": "owner", "value": "console"}])
    module = FakeModule(check_mode=check_mode, capacity_provider_strategy=SPOT_MIX)
    changed, cluster, diff = mod.ensure_present(module, None)
    assert changed
    if check_mode:
        assert aws["calls"] == []
    else:
        assert names(aws["calls"]) == ["update_cluster_settings", "put_cluster_capacity_providers", "untag_cluster"]
        assert aws["calls"][0][1] == ("wanzami-cluster", [{"name": "containerInsights", "value": "enabled"}])
        assert aws["calls"][1][1] == ("wanzami-cluster", ["FARGATE", "FARGATE_SPOT"],
                                      [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                       {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0}])
        assert aws["calls"][2][1] == (ARN, ["owner"])
    assert diff["before"]["container_insights"] == "disabled" and diff["after"]["container_insights"] == "enabled"
    assert diff["before"]["capacity_providers"] == ["FARGATE"]
    assert diff["after"]["capacity_provider_strategy"] == SPOT_MIX
    assert diff["before"]["tags"] == {"owner": "console", "project": "wanzami"}
    assert diff["after"]["tags"] == {"project": "wanzami"}
    # What it is, or in check mode what it would be.
    assert cluster["container_insights"] == "enabled"
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]


def test_only_the_strategy_changed_keeps_the_current_providers(aws):
    aws["cluster"] = existing()
    changed, _, _ = mod.ensure_present(FakeModule(capacity_providers=None, capacity_provider_strategy=SPOT_MIX), None)
    assert changed
    ((name, args, _),) = aws["calls"]
    assert name == "put_cluster_capacity_providers"
    assert args[1] == ["FARGATE_SPOT", "FARGATE"]


def test_options_not_given_are_left_alone(aws):
    aws["cluster"] = existing(settings=[{"name": "containerInsights", "value": "enhanced"}],
                              tags=[{"key": "owner", "value": "someone"}])
    module = FakeModule(capacity_providers=None, capacity_provider_strategy=None, container_insights=None, tags=None)
    changed, cluster, _ = mod.ensure_present(module, None)
    assert not changed and aws["calls"] == []
    assert cluster["tags"] == {"owner": "someone"}


def test_tags_are_only_added_without_purge(aws):
    aws["cluster"] = existing(tags=[{"key": "owner", "value": "someone"}])
    changed, _, diff = mod.ensure_present(FakeModule(purge_tags=False), None)
    assert changed
    assert aws["calls"] == [("tag_cluster", (ARN, {"project": "wanzami"}), {})]
    assert diff["after"]["tags"] == {"owner": "someone", "project": "wanzami"}


@pytest.mark.parametrize(
    ("strategy", "providers", "message"),
    [
        (SPOT_MIX, ["FARGATE"], "names FARGATE_SPOT, which capacity_providers does not list"),
        ([{"capacity_provider": "FARGATE", "weight": 1, "base": 1},
          {"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 2}],
         ["FARGATE", "FARGATE_SPOT"], "only one provider of capacity_provider_strategy may have a base"),
        ([{"capacity_provider": "FARGATE", "weight": 0, "base": 0}], ["FARGATE"], "needs a weight above 0"),
        ([{"capacity_provider": "FARGATE", "weight": 1001, "base": 0}], ["FARGATE"], "weights must be between 0 and 1000"),
        ([{"capacity_provider": "FARGATE", "weight": 1, "base": 0}] * 2, ["FARGATE"], "more than once"),
    ],
)
@pytest.mark.parametrize("exists", [True, False])
def test_a_strategy_ecs_would_refuse_fails_before_any_call(aws, strategy, providers, message, exists):
    aws["cluster"] = existing() if exists else None
    with pytest.raises(AssertionError, match=message):
        mod.ensure_present(FakeModule(capacity_providers=providers, capacity_provider_strategy=strategy), None)
    assert aws["calls"] == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_delete(aws, check_mode):
    aws["cluster"] = existing()
    changed, diff, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert kept is None
    assert changed and diff["after"]["state"] == "absent"
    assert names(aws["calls"]) == ([] if check_mode else ["delete_cluster"])
    aws.update(cluster=None, calls=[])
    assert mod.ensure_absent(FakeModule(state="absent"), None)[0] is False
    assert aws["calls"] == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_cluster_without_the_ownership_tags_is_kept(aws, check_mode):
    aws["cluster"] = existing(tags=[{"key": "team", "value": "media"}])
    required = {"project": "wanzami"}
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert not changed and aws["calls"] == []
    assert "ECS cluster wanzami-cluster is not ours" in kept
    aws["cluster"] = existing()
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert changed and kept is None
