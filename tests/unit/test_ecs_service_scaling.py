"""wanzami.infra.ecs_service_scaling with the boto layer patched at the module_utils seam."""

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.wanzami.infra.plugins.module_utils import autoscaling
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.modules import ecs_service_scaling as mod

RESOURCE = "service/wanzami-cluster/wanzami-backend-service"
CPU = "wanzami-backend-service-cpu-target-tracking"
MEMORY = "wanzami-backend-service-memory-target-tracking"
CPU_METRIC = "ECSServiceAverageCPUUtilization"
MEMORY_METRIC = "ECSServiceAverageMemoryUtilization"


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {
            "cluster": "wanzami-cluster", "service": "wanzami-backend-service", "state": "present",
            "min_capacity": 1, "max_capacity": 10, "cpu_target": 70.0, "memory_target": 80.0,
            "scale_in_cooldown": 300, "scale_out_cooldown": 60, "purge_policies": True,
        }
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])


def target(low=1, high=10):
    return {"ServiceNamespace": "ecs", "ResourceId": RESOURCE, "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": low, "MaxCapacity": high, "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/x"}


def configuration(metric, value, scale_in=300, scale_out=60, disable_scale_in=False):
    return {"TargetValue": value, "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
            "ScaleInCooldown": scale_in, "ScaleOutCooldown": scale_out, "DisableScaleIn": disable_scale_in}


def policy(name, metric, value, **kwargs):
    return {"PolicyName": name, "PolicyARN": f"arn:policy/{name}", "ServiceNamespace": "ecs", "ResourceId": RESOURCE,
            "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": configuration(metric, value, **kwargs)}


def converged():
    """What AWS holds after the default FakeModule ran (TargetValue as AWS echoes it, a float)."""
    return target(), [policy(CPU, CPU_METRIC, 70.0), policy(MEMORY, MEMORY_METRIC, 80.0)]


@pytest.fixture
def aws(monkeypatch):
    """A small fake of Application Auto Scaling: describes read state; mutating calls are recorded and applied."""
    state = {"target": None, "policies": {}, "calls": []}

    def describe_target(client, resource_id):
        assert resource_id == RESOURCE
        return dict(state["target"]) if state["target"] else None

    def describe_policies(client, resource_id):
        assert resource_id == RESOURCE
        return [dict(p) for _, p in sorted(state["policies"].items())]

    def register(client, resource_id, low, high):
        state["calls"].append(("register_scalable_target", low, high))
        state["target"] = target(low, high)

    def put(client, resource_id, name, config):
        state["calls"].append(("put_target_tracking_policy", name, config))
        metric = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
        state["policies"][name] = policy(name, metric, config["TargetValue"], scale_in=config["ScaleInCooldown"],
                                         scale_out=config["ScaleOutCooldown"], disable_scale_in=config["DisableScaleIn"])

    def delete(client, resource_id, name):
        state["calls"].append(("delete_scaling_policy", name))
        del state["policies"][name]
        return True

    def deregister(client, resource_id):
        state["calls"].append(("deregister_scalable_target",))
        state["target"] = None
        return True

    monkeypatch.setattr(mod, "describe_scalable_target", describe_target)
    monkeypatch.setattr(mod, "describe_scaling_policies", describe_policies)
    monkeypatch.setattr(mod, "register_scalable_target", register)
    monkeypatch.setattr(mod, "put_target_tracking_policy", put)
    monkeypatch.setattr(mod, "delete_scaling_policy", delete)
    monkeypatch.setattr(mod, "deregister_scalable_target", deregister)
    return state


def holding(aws, found_target, policies):
    aws["target"] = found_target
    aws["policies"] = {p["PolicyName"]: p for p in policies}


def test_creates_the_target_and_both_policies_from_nothing(aws):
    changed, result, diff = mod.ensure_present(FakeModule(), None)
    assert changed
    assert aws["calls"] == [
        ("register_scalable_target", 1, 10),
        ("put_target_tracking_policy", CPU, configuration(CPU_METRIC, 70.0)),
        ("put_target_tracking_policy", MEMORY, configuration(MEMORY_METRIC, 80.0)),
    ]
    assert diff["before"] == {}
    assert diff["after"] == {"min_capacity": 1, "max_capacity": 10, "policies": {
        CPU: {"metric": CPU_METRIC, "target": 70.0, "scale_in_cooldown": 300, "scale_out_cooldown": 60},
        MEMORY: {"metric": MEMORY_METRIC, "target": 80.0, "scale_in_cooldown": 300, "scale_out_cooldown": 60},
    }}
    assert result["scalable_target"]["min_capacity"] == 1 and result["scalable_target"]["max_capacity"] == 10
    assert [p["policy_name"] for p in result["policies"]] == [CPU, MEMORY]
    tracking = result["policies"][0]["target_tracking_scaling_policy_configuration"]
    assert tracking["predefined_metric_specification"] == {"predefined_metric_type": CPU_METRIC}


def test_seed_003_puts_only_the_cpu_policy_with_its_cooldowns(aws):
    module = FakeModule(min_capacity=2, max_capacity=10, cpu_target=70, memory_target=None,
                        scale_out_cooldown=60, scale_in_cooldown=300)
    mod.ensure_present(module, None)
    assert aws["calls"] == [("register_scalable_target", 2, 10),
                            ("put_target_tracking_policy", CPU, configuration(CPU_METRIC, 70.0))]
    assert isinstance(aws["calls"][1][2]["TargetValue"], float)


@pytest.mark.parametrize("check_mode", [True, False])
def test_converged_scaling_makes_no_call_and_no_change(aws, check_mode):
    holding(aws, *converged())
    # An integer target is the same as the float AWS echoes.
    changed, result, diff = mod.ensure_present(FakeModule(check_mode=check_mode, cpu_target=70, memory_target=80), None)
    assert not changed
    assert aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert result["scalable_target"]["resource_id"] == RESOURCE


def test_a_new_min_and_max_is_one_register_call(aws):
    holding(aws, *converged())
    changed, result, diff = mod.ensure_present(FakeModule(min_capacity=2, max_capacity=12), None)
    assert changed
    assert aws["calls"] == [("register_scalable_target", 2, 12)]
    assert (diff["before"]["min_capacity"], diff["after"]["min_capacity"]) == (1, 2)
    assert diff["before"]["policies"] == diff["after"]["policies"]
    assert result["scalable_target"]["max_capacity"] == 12


@pytest.mark.parametrize(("change", "expected"), [
    ({"cpu_target": 60.0}, configuration(CPU_METRIC, 60.0)),
    ({"scale_in_cooldown": 120}, configuration(CPU_METRIC, 70.0, scale_in=120)),
])
def test_a_new_target_or_cooldown_is_one_put_call(aws, change, expected):
    holding(aws, *converged())
    # The cooldowns apply to both policies; only the CPU policy is asked for here.
    changed, _, diff = mod.ensure_present(FakeModule(memory_target=None, purge_policies=False, **change), None)
    assert changed
    assert aws["calls"] == [("put_target_tracking_policy", CPU, expected)]
    assert diff["before"]["policies"][CPU] != diff["after"]["policies"][CPU]


def test_a_policy_that_does_not_scale_in_is_put_again(aws):
    found_target, policies = converged()
    policies[0] = policy(CPU, CPU_METRIC, 70.0, disable_scale_in=True)
    holding(aws, found_target, policies)
    changed, _, diff = mod.ensure_present(FakeModule(), None)
    assert changed
    assert aws["calls"] == [("put_target_tracking_policy", CPU, configuration(CPU_METRIC, 70.0))]
    assert diff["before"]["policies"][CPU]["disable_scale_in"] is True


def test_the_memory_policy_is_deleted_once_memory_target_is_left_out(aws):
    holding(aws, *converged())
    changed, result, diff = mod.ensure_present(FakeModule(memory_target=None), None)
    assert changed
    assert aws["calls"] == [("delete_scaling_policy", MEMORY)]
    assert list(diff["before"]["policies"]) == [CPU, MEMORY]
    assert list(diff["after"]["policies"]) == [CPU]
    assert [p["policy_name"] for p in result["policies"]] == [CPU]


def test_purge_also_deletes_policies_someone_else_put(aws):
    found_target, policies = converged()
    step = {"PolicyName": "manual-step", "PolicyType": "StepScaling", "ResourceId": RESOURCE,
            "ScalableDimension": "ecs:service:DesiredCount"}
    holding(aws, found_target, [*policies, step])
    changed, _, diff = mod.ensure_present(FakeModule(), None)
    assert changed
    assert aws["calls"] == [("delete_scaling_policy", "manual-step")]
    assert diff["before"]["policies"]["manual-step"]["metric"] == "StepScaling"


def test_without_purge_the_memory_policy_stays(aws):
    holding(aws, *converged())
    changed, result, diff = mod.ensure_present(FakeModule(memory_target=None, purge_policies=False), None)
    assert not changed
    assert aws["calls"] == []
    assert list(diff["after"]["policies"]) == [CPU, MEMORY]
    assert [p["policy_name"] for p in result["policies"]] == [CPU, MEMORY]


@pytest.mark.parametrize("found", ["nothing", "drifted"])
def test_check_mode_makes_no_mutating_call_and_shows_the_diff(aws, found):
    if found == "drifted":
        holding(aws, target(2, 4), [policy(CPU, CPU_METRIC, 50.0), policy(MEMORY, MEMORY_METRIC, 80.0)])
    changed, result, diff = mod.ensure_present(FakeModule(check_mode=True, memory_target=None), None)
    assert changed
    assert aws["calls"] == []
    assert diff["after"] == {"min_capacity": 1, "max_capacity": 10, "policies": {
        CPU: {"metric": CPU_METRIC, "target": 70.0, "scale_in_cooldown": 300, "scale_out_cooldown": 60}}}
    if found == "nothing":
        assert diff["before"] == {}
        assert result == {"scalable_target": {}, "policies": []}
    else:
        assert diff["before"]["min_capacity"] == 2 and diff["before"]["max_capacity"] == 4
        assert diff["before"]["policies"][CPU]["target"] == 50.0
        assert MEMORY in diff["before"]["policies"]
        # As AWS holds it, not as it would be.
        assert result["scalable_target"]["min_capacity"] == 2


def test_absent_deletes_the_policies_then_deregisters_the_target(aws):
    holding(aws, *converged())
    changed, result, diff = mod.ensure_absent(FakeModule(state="absent", min_capacity=None, max_capacity=None), None)
    assert changed
    assert aws["calls"] == [("delete_scaling_policy", CPU), ("delete_scaling_policy", MEMORY),
                            ("deregister_scalable_target",)]
    assert diff["after"] == {}
    assert diff["before"]["min_capacity"] == 1
    assert result == {"scalable_target": {}, "policies": []}


def test_absent_in_check_mode_only_reads(aws):
    holding(aws, *converged())
    changed, result, diff = mod.ensure_absent(FakeModule(check_mode=True, state="absent"), None)
    assert changed
    assert aws["calls"] == []
    assert diff["after"] == {} and list(diff["before"]["policies"]) == [CPU, MEMORY]
    assert result["scalable_target"]["resource_id"] == RESOURCE


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_when_nothing_exists_makes_no_call(aws, check_mode):
    changed, result, diff = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert not changed
    assert aws["calls"] == []
    assert diff == {"before": {}, "after": {}}
    assert result == {"scalable_target": {}, "policies": []}


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_keeps_the_scaling_of_a_service_that_is_not_ours(aws, monkeypatch, check_mode):
    holding(aws, *converged())
    required = {"project": "wanzami", "managed-by": "ansible"}
    service = {"status": "ACTIVE", "tags": [{"key": "team", "value": "media"}]}
    monkeypatch.setattr(mod, "describe_service_in_any_status", lambda client, cluster, name: service)
    changed, result, _ = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert not changed and aws["calls"] == [] and result["kept"]
    assert "Autoscaling of ECS service wanzami-backend-service: the service is not ours" in result["msg"]
    service["tags"] = [{"key": "project", "value": "wanzami"}, {"key": "managed-by", "value": "ansible"}]
    changed, result, _ = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert changed and "kept" not in result
    assert len(aws["calls"]) == (0 if check_mode else 3)


def test_cluster_and_service_arns_give_the_names(aws):
    holding(aws, *converged())
    module = FakeModule(cluster="arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster",
                        service="arn:aws:ecs:us-east-2:123456789012:service/wanzami-cluster/wanzami-backend-service")
    changed, _, _ = mod.ensure_present(module, None)
    assert not changed
    assert aws["calls"] == []


@pytest.mark.parametrize(("params", "message"), [
    ({"min_capacity": 5, "max_capacity": 2}, "min_capacity (5) must not be more than max_capacity (2)"),
    ({"min_capacity": -1}, "min_capacity must be 0 or more, not -1"),
    ({"cpu_target": None, "memory_target": None}, "give cpu_target or memory_target (or both), in percent from 1 to 100"),
    ({"memory_target": 150.0}, "memory_target must be a percentage from 1 to 100, not 150"),
    ({"cpu_target": 0.5}, "cpu_target must be a percentage from 1 to 100, not 0.5"),
    ({"scale_out_cooldown": -5}, "scale_out_cooldown must be 0 or more seconds, not -5"),
])
def test_bad_input_fails_naming_the_option_before_any_call(aws, params, message):
    holding(aws, *converged())
    with pytest.raises(Failed) as failed:
        mod.ensure_present(FakeModule(**params), None)
    assert str(failed.value) == f"Scaling of ECS service wanzami-cluster/wanzami-backend-service: {message}."
    assert aws["calls"] == []


def test_min_equal_to_max_and_zero_are_allowed(aws):
    mod.ensure_present(FakeModule(min_capacity=0, max_capacity=0), None)
    assert aws["calls"][0] == ("register_scalable_target", 0, 0)


def test_min_and_max_are_required_when_present(monkeypatch):
    def capture(self, **kwargs):
        raise Failed(kwargs)

    monkeypatch.setattr(WanzamiInfraAWSModule, "__init__", capture)
    with pytest.raises(Failed) as captured:
        mod.main()
    kwargs = captured.value.args[0]
    assert kwargs["required_if"] == [("state", "present", ["min_capacity", "max_capacity"])]
    assert kwargs["supports_check_mode"] is True
    assert kwargs["argument_spec"]["purge_policies"] == {"type": "bool", "default": True}


def test_the_module_utils_wrappers_send_the_ecs_namespace_and_dimension():
    client = boto3.client("application-autoscaling", region_name="us-east-2", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    ids = {"ServiceNamespace": "ecs", "ResourceId": RESOURCE, "ScalableDimension": "ecs:service:DesiredCount"}
    with Stubber(client) as stub:
        stub.add_response("describe_scalable_targets", {"ScalableTargets": []},
                          {"ServiceNamespace": "ecs", "ResourceIds": [RESOURCE], "ScalableDimension": "ecs:service:DesiredCount"})
        stub.add_response("register_scalable_target", {}, {**ids, "MinCapacity": 1, "MaxCapacity": 10})
        stub.add_response("put_scaling_policy", {"PolicyARN": "arn:policy"},
                          {**ids, "PolicyName": CPU, "PolicyType": "TargetTrackingScaling",
                           "TargetTrackingScalingPolicyConfiguration": configuration(CPU_METRIC, 70.0)})
        stub.add_client_error("delete_scaling_policy", "ObjectNotFoundException", expected_params={**ids, "PolicyName": MEMORY})
        stub.add_client_error("deregister_scalable_target", "ValidationException", expected_params=ids)
        assert autoscaling.describe_scalable_target(client, RESOURCE) is None
        autoscaling.register_scalable_target(client, RESOURCE, 1, 10)
        autoscaling.put_target_tracking_policy(client, RESOURCE, CPU, configuration(CPU_METRIC, 70.0))
        # Already gone is not an error.
        assert autoscaling.delete_scaling_policy(client, RESOURCE, MEMORY) is False
        with pytest.raises(autoscaling.AnsibleAutoScalingError, match="Failed to deregister scalable target"):
            autoscaling.deregister_scalable_target(client, RESOURCE)
        stub.assert_no_pending_responses()
