"""wanzami.infra.ecs_service with the boto layer patched at the module_utils seam."""

import pytest

from ansible_collections.wanzami.infra.plugins.modules import ecs_service as mod

SERVICE_ARN = "arn:aws:ecs:us-east-2:123456789012:service/wanzami-cluster/wanzami-backend-service"
TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/wanzami-backend-tg/0123456789abcdef"
DEPLOYMENT = {"minimumHealthyPercent": 100, "maximumPercent": 200,
              "deploymentCircuitBreaker": {"enable": True, "rollback": True}}


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {
            "name": "wanzami-backend-service", "cluster": "wanzami-cluster", "task_definition": "wanzami-backend-task:4",
            "desired_count": 2, "keep_desired_count": False, "launch_type": None,
            "capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}],
            "network_configuration": {"subnets": ["subnet-b", "subnet-a"], "security_groups": ["sg-api"],
                                      "assign_public_ip": False},
            "load_balancers": [{"target_group_arn": TG, "container_name": "api", "container_port": 4000}],
            "health_check_grace_period_seconds": 60,
            "deployment_configuration": {"minimum_healthy_percent": 100, "maximum_percent": 200, "circuit_breaker": True,
                                         "rollback": True},
            "propagate_tags": "SERVICE", "force_new_deployment": False, "tags": {"project": "wanzami"}, "purge_tags": True,
        }
        self.params.update(params)


def existing(**overrides):
    service = {
        "serviceArn": SERVICE_ARN, "serviceName": "wanzami-backend-service", "status": "ACTIVE",
        "taskDefinition": "arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-backend-task:4", "desiredCount": 2,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-api"],
                                                         "assignPublicIp": "DISABLED"}},
        "loadBalancers": [{"targetGroupArn": TG, "containerName": "api", "containerPort": 4000}],
        "healthCheckGracePeriodSeconds": 60, "deploymentConfiguration": DEPLOYMENT, "propagateTags": "SERVICE",
        "launchType": "EC2", "tags": [{"key": "project", "value": "wanzami"}], "events": [{"message": "steady"}],
    }
    service.update(overrides)
    return service


def fake_ecs(monkeypatch, describe_name, mutating, answer):
    """describe_name returns state['reads'] in turn (the last one repeats); the mutating calls are recorded
    and return answer()."""
    state = {"reads": [None], "calls": []}

    def describe(client, cluster, name):
        return state["reads"].pop(0) if len(state["reads"]) > 1 else state["reads"][0]

    def record(name):
        def call(client, *args, **kwargs):
            state["calls"].append((name, args, kwargs))
            return answer()
        return call

    monkeypatch.setattr(mod, describe_name, describe)
    for name in mutating:
        monkeypatch.setattr(mod, name, record(name))
    return state


@pytest.fixture
def aws(monkeypatch):
    return fake_ecs(monkeypatch, "describe_service", ("create_service", "update_service", "tag_resource", "untag_resource"),
                    existing)


@pytest.mark.parametrize("check_mode", [True, False])
def test_converged_service_changes_nothing(aws, check_mode):
    # Subnet order, an ARN for family:revision and a reported launch type are not changes.
    aws["reads"] = [existing()]
    changed, service, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)[:3]
    assert not changed
    assert aws["calls"] == []
    assert diff == {"before": {}, "after": {}}
    assert service["service_arn"] == SERVICE_ARN
    assert "events" not in service


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_a_missing_service_and_applies_what_the_create_dropped(aws, check_mode):
    # An API that drops deploymentConfiguration and the grace period on create: read back and update once.
    dropped = existing(deploymentConfiguration=None, healthCheckGracePeriodSeconds=None)
    aws["reads"] = [None, dropped, existing()]
    changed, service, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)[:3]
    assert changed
    assert diff["before"] == {}
    assert diff["after"]["deploymentConfiguration"] == DEPLOYMENT
    if check_mode:
        assert aws["calls"] == []
        assert service == {"service_name": "wanzami-backend-service"}
    else:
        (create, update) = aws["calls"]
        assert create[0] == "create_service"
        assert create[2]["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
        assert "launchType" not in create[2]
        assert create[2]["deploymentConfiguration"] == DEPLOYMENT
        assert update[0] == "update_service"
        assert set(update[2]) == {"cluster", "service", "deploymentConfiguration", "healthCheckGracePeriodSeconds"}
        assert service["service_arn"] == SERVICE_ARN


def test_keep_desired_count_leaves_a_running_services_count_to_the_autoscaler(aws):
    # The autoscaler moved the service to 7 tasks: a re-run must not put it back to 2.
    aws["reads"] = [existing(desiredCount=7)]
    changed, _, diff = mod.ensure_present(FakeModule(keep_desired_count=True), None)[:3]
    assert not changed
    assert aws["calls"] == []
    # Other drift is still corrected, without the count.
    aws["reads"] = [existing(desiredCount=7, healthCheckGracePeriodSeconds=0)]
    changed, _, _ = mod.ensure_present(FakeModule(keep_desired_count=True), None)[:3]
    assert changed
    (update,) = aws["calls"]
    assert set(update[2]) == {"cluster", "service", "healthCheckGracePeriodSeconds"}


def test_keep_desired_count_still_creates_with_the_count(aws):
    aws["reads"] = [None, existing()]
    mod.ensure_present(FakeModule(keep_desired_count=True), None)
    assert aws["calls"][0][2]["desiredCount"] == 2


FIRST_IMAGE = {"repository": "wanzami-backend", "tag": "latest"}


@pytest.fixture
def ecr(monkeypatch):
    """describe_image answers state['image'] (None: not in ECR) and counts its calls."""
    state = {"image": None, "calls": 0}

    def describe_image(client, repository, image_id, registry_id=None):
        assert (repository, image_id) == ("wanzami-backend", {"imageTag": "latest"})
        state["calls"] += 1
        return state["image"]

    monkeypatch.setattr(mod, "describe_image", describe_image)
    return state


class ModuleWithClients(FakeModule):
    def client(self, service):
        return service


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("check_mode", [False, True])
def test_without_its_first_image_a_new_service_is_created_at_zero(aws, ecr, keep, check_mode):
    aws["reads"] = [None, existing(desiredCount=0)]
    changed, _, diff, awaiting = mod.ensure_present(
        ModuleWithClients(check_mode=check_mode, first_image=FIRST_IMAGE, keep_desired_count=keep), None)
    assert changed and awaiting
    assert diff["after"]["desiredCount"] == 0
    assert [c[2]["desiredCount"] for c in aws["calls"]] == ([] if check_mode else [0])


@pytest.mark.parametrize("keep", [False, True])
def test_a_service_at_zero_awaiting_its_first_image_stays_there(aws, ecr, keep):
    aws["reads"] = [existing(desiredCount=0)]
    changed, _, _, awaiting = mod.ensure_present(ModuleWithClients(first_image=FIRST_IMAGE, keep_desired_count=keep), None)
    assert not changed and awaiting
    assert aws["calls"] == []


def test_a_running_service_is_never_lowered_nor_the_image_looked_up(aws, ecr):
    aws["reads"] = [existing(desiredCount=2)]
    changed, _, _, awaiting = mod.ensure_present(ModuleWithClients(first_image=FIRST_IMAGE), None)
    assert not changed and not awaiting
    assert ecr["calls"] == 0


def test_once_the_first_image_is_there_the_service_gets_its_count(aws, ecr):
    ecr["image"] = {"imageDigest": "sha256:" + "a" * 64}
    aws["reads"] = [None, existing()]
    changed, _, _, awaiting = mod.ensure_present(ModuleWithClients(first_image=FIRST_IMAGE), None)
    assert changed and not awaiting
    assert aws["calls"][0][2]["desiredCount"] == 2


def test_a_create_that_keeps_everything_is_not_followed_by_an_update(aws):
    aws["reads"] = [None, existing()]
    changed, _, _ = mod.ensure_present(FakeModule(), None)[:3]
    assert changed
    assert [c[0] for c in aws["calls"]] == ["create_service"]


@pytest.mark.parametrize(("drift", "field"), [
    ({"desiredCount": 1}, "desiredCount"),
    ({"taskDefinition": "arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-backend-task:3"}, "taskDefinition"),
    ({"deploymentConfiguration": dict(DEPLOYMENT, deploymentCircuitBreaker={"enable": False, "rollback": False})},
     "deploymentConfiguration"),
    ({"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-api"]}}},
     "networkConfiguration"),
    ({"healthCheckGracePeriodSeconds": 0}, "healthCheckGracePeriodSeconds"),
])
@pytest.mark.parametrize("check_mode", [True, False])
def test_drift_is_updated_in_one_call_with_only_what_differs(aws, drift, field, check_mode):
    aws["reads"] = [existing(**drift)]
    changed, _, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)[:3]
    assert changed
    assert list(diff["before"]) == [field] and list(diff["after"]) == [field]
    if check_mode:
        assert aws["calls"] == []
    else:
        ((name, _, params),) = aws["calls"]
        assert name == "update_service"
        assert set(params) == {"cluster", "service", field}


def test_a_new_capacity_provider_strategy_forces_a_new_deployment(aws):
    aws["reads"] = [existing()]
    strategy = [{"capacity_provider": "FARGATE", "weight": 1, "base": 1}, {"capacity_provider": "FARGATE_SPOT", "weight": 4}]
    changed, _, _ = mod.ensure_present(FakeModule(capacity_provider_strategy=strategy), None)[:3]
    assert changed
    ((name, _, params),) = aws["calls"]
    assert name == "update_service" and params["forceNewDeployment"] is True
    assert params["capacityProviderStrategy"][1] == {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0}


def test_public_ip_without_nat_is_enabled(aws):
    aws["reads"] = [existing()]
    network = {"subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-api"], "assign_public_ip": True}
    changed, _, diff = mod.ensure_present(FakeModule(network_configuration=network), None)[:3]
    assert changed
    assert diff["after"]["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"


@pytest.mark.parametrize("check_mode", [True, False])
def test_tags_are_reconciled(aws, check_mode):
    aws["reads"] = [existing(tags=[{"key": "project", "value": "wanzami"}, {"key": "owner", "value": "console"}])]
    changed, _, _ = mod.ensure_present(FakeModule(check_mode=check_mode), None)[:3]
    assert changed
    assert aws["calls"] == ([] if check_mode else [("untag_resource", (SERVICE_ARN, ["owner"]), {})])


class Failed(Exception):
    pass


class AbsentModule(FakeModule):
    def __init__(self, check_mode=False, **params):
        super().__init__(check_mode=check_mode, **{"state": "absent", "wait_timeout": 600, **params})

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])


@pytest.fixture
def gone(monkeypatch):
    """The same for state absent: describe in any status; updates and deletions recorded; no real waiting."""
    monkeypatch.setattr(mod, "time", Clock())
    return fake_ecs(monkeypatch, "describe_service_in_any_status", ("update_service", "delete_service"), lambda: True)


class Clock:
    """time for the module: every sleep moves the clock on, nothing really waits."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_running_service_is_scaled_to_zero_deleted_and_waited_for(gone, check_mode):
    gone["reads"] = [existing(), existing(status="DRAINING"), existing(status="INACTIVE")]
    changed, service, diff, _ = mod.ensure_absent(AbsentModule(check_mode=check_mode), None)
    assert changed
    assert service == {"service_name": "wanzami-backend-service", "status": "INACTIVE"}
    assert diff == {"before": {"status": "ACTIVE", "desiredCount": 2}, "after": {}}
    if check_mode:
        assert gone["calls"] == []
    else:
        assert gone["calls"] == [
            ("update_service", (), {"cluster": "wanzami-cluster", "service": "wanzami-backend-service", "desiredCount": 0}),
            ("delete_service", ("wanzami-cluster", "wanzami-backend-service"), {})]
        assert gone["reads"] == [existing(status="INACTIVE")], "read until INACTIVE"


def test_a_service_at_zero_is_deleted_without_an_update(gone):
    gone["reads"] = [existing(desiredCount=0), None]
    changed, _, _, _ = mod.ensure_absent(AbsentModule(), None)
    assert changed
    assert [c[0] for c in gone["calls"]] == ["delete_service"]


@pytest.mark.parametrize("status", [None, "INACTIVE"])
def test_a_missing_or_inactive_service_changes_nothing(gone, status):
    # A missing cluster reads as a missing service (describe answers None).
    gone["reads"] = [existing(status=status) if status else None]
    changed, service, diff, _ = mod.ensure_absent(AbsentModule(), None)
    assert not changed and gone["calls"] == []
    assert diff == {"before": {}, "after": {}}


def test_a_draining_service_is_only_waited_for(gone):
    gone["reads"] = [existing(status="DRAINING"), existing(status="DRAINING"), existing(status="INACTIVE")]
    changed, _, _, _ = mod.ensure_absent(AbsentModule(), None)
    assert not changed and gone["calls"] == []
    assert gone["reads"] == [existing(status="INACTIVE")]


def test_the_wait_is_bounded_and_says_what_is_left(gone):
    gone["reads"] = [existing(), existing(status="DRAINING", runningCount=1)]
    with pytest.raises(Failed, match=r"wanzami-backend-service is still DRAINING after 60 s \(1 tasks running\)"):
        mod.ensure_absent(AbsentModule(wait_timeout=60), None)


def test_no_wait_with_a_zero_timeout(gone):
    gone["reads"] = [existing(), existing(status="DRAINING")]
    changed, _, _, _ = mod.ensure_absent(AbsentModule(wait_timeout=0), None)
    assert changed and [c[0] for c in gone["calls"]] == ["update_service", "delete_service"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_service_without_the_ownership_tags_is_kept_untouched(gone, check_mode):
    required = {"project": "wanzami", "managed-by": "ansible"}
    gone["reads"] = [existing(tags=[{"key": "team", "value": "media"}])]
    changed, service, _, kept = mod.ensure_absent(AbsentModule(check_mode=check_mode, only_if_tagged=required), None)
    assert not changed and gone["calls"] == [] and service["status"] == "ACTIVE"
    assert "ECS service wanzami-backend-service is not ours" in kept and "managed-by=ansible, project=wanzami" in kept
    gone["reads"] = [existing(tags=[{"key": "project", "value": "wanzami"}, {"key": "managed-by", "value": "ansible"}]),
                     existing(status="INACTIVE")]
    changed, _, _, kept = mod.ensure_absent(AbsentModule(check_mode=check_mode, only_if_tagged=required), None)
    assert changed and kept is None
    assert [c[0] for c in gone["calls"]] == ([] if check_mode else ["update_service", "delete_service"])
