"""wanzami.infra.ecs_task_definition with the boto layer patched at the module_utils seam."""

import pytest

from ansible_collections.wanzami.infra.plugins.modules import ecs_task_definition as mod

ARN = "arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-backend-task:{}"
PARAMETER = "arn:aws:ssm:us-east-2:123456789012:parameter/wanzami/production/"
CONTAINER = {
    "name": "api", "image": "repo/wanzami-backend:latest", "memory": 1024, "essential": True,
    "portMappings": [{"containerPort": 4000, "hostPort": 4000, "protocol": "tcp"}],
    "healthCheck": {"command": ["CMD-SHELL", "wget -qO- http://localhost:4000/health || exit 1"], "interval": 30,
                    "timeout": 5, "retries": 3, "startPeriod": 60},
    "secrets": [{"name": "JWT_ACCESS_SECRET", "valueFrom": PARAMETER + "JWT_ACCESS_SECRET"},
                {"name": "DATABASE_URL", "valueFrom": PARAMETER + "DATABASE_URL"}],
}


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {"family": "wanzami-backend-task", "container_definitions": [CONTAINER], "cpu": "512", "memory": "1024",
                       "network_mode": "awsvpc", "requires_compatibilities": ["FARGATE"],
                       "execution_role_arn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", "task_role_arn": None,
                       "runtime_platform": None, "tags": {"project": "wanzami"}, "purge_tags": True}
        self.params.update(params)


def as_ecs_returns(revision, container=None):
    """What DescribeTaskDefinition answers: ECS's implicit fields added, secrets in another order."""
    c = dict(container or CONTAINER)
    c.update({"cpu": 0, "environment": [], "mountPoints": [], "volumesFrom": []})
    c["secrets"] = list(reversed(c.get("secrets", [])))
    return {"taskDefinitionArn": ARN.format(revision), "family": "wanzami-backend-task", "revision": revision,
            "containerDefinitions": [c], "cpu": "512", "memory": "1024", "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"], "compatibilities": ["EC2", "FARGATE"], "status": "ACTIVE",
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", "volumes": [],
            "placementConstraints": [], "tags": [{"key": "project", "value": "wanzami"}]}


@pytest.fixture
def aws(monkeypatch):
    state = {"latest": None, "calls": []}

    def register(client, **params):
        state["calls"].append(("register_task_definition", params))
        return as_ecs_returns((state["latest"] or {}).get("revision", 0) + 1, params["containerDefinitions"][0])

    def record(name):
        def call(client, *args):
            state["calls"].append((name, args))
        return call

    monkeypatch.setattr(mod, "describe_task_definition", lambda client, family: state["latest"])
    monkeypatch.setattr(mod, "register_task_definition", register)
    monkeypatch.setattr(mod, "tag_resource", record("tag_resource"))
    monkeypatch.setattr(mod, "untag_resource", record("untag_resource"))
    return state


@pytest.mark.parametrize("check_mode", [True, False])
def test_registers_the_first_revision_of_a_new_family(aws, check_mode):
    changed, definition, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed
    assert diff["before"] == {}
    assert diff["after"]["containerDefinitions"][0]["portMappings"] == CONTAINER["portMappings"]
    if check_mode:
        assert aws["calls"] == []
        assert definition == {"family": "wanzami-backend-task", "would_register": True}
    else:
        ((name, params),) = aws["calls"]
        assert name == "register_task_definition"
        assert params["cpu"] == "512" and params["memory"] == "1024"
        assert params["requiresCompatibilities"] == ["FARGATE"]
        assert "taskRoleArn" not in params  # None is left out, not sent
        assert params["tags"] == [{"key": "project", "value": "wanzami"}]
        assert definition["family_revision"] == "wanzami-backend-task:1"


@pytest.mark.parametrize("check_mode", [True, False])
def test_same_definition_as_ecs_returns_it_registers_nothing(aws, check_mode):
    # ECS's cpu=0, empty lists and another secrets order are not changes.
    aws["latest"] = as_ecs_returns(4)
    changed, definition, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert not changed
    assert aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert definition["family_revision"] == "wanzami-backend-task:4"


def test_implicit_defaults_do_not_read_as_changes():
    wanted = {"name": "w", "image": "i", "memory": 1024, "portMappings": [{"containerPort": 4000}],
              "healthCheck": {"command": ["CMD-SHELL", "true"]}}
    returned = dict(wanted, essential=True, cpu=0, environment=[], mountPoints=[],
                    portMappings=[{"containerPort": 4000, "hostPort": 4000, "protocol": "tcp"}],
                    healthCheck={"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3})
    assert mod.normalised_container(wanted) == mod.normalised_container(returned)


@pytest.mark.parametrize("change", [
    {"image": "repo/wanzami-backend@sha256:71041d7a"},
    {"command": ["node", "dist/worker/cron.js"]},
    {"portMappings": []},
    {"memory": 2048},
])
@pytest.mark.parametrize("check_mode", [True, False])
def test_a_changed_container_registers_a_new_revision_and_never_deregisters(aws, change, check_mode):
    aws["latest"] = as_ecs_returns(4)
    module = FakeModule(check_mode=check_mode, container_definitions=[dict(CONTAINER, **change)])
    changed, definition, diff = mod.ensure_present(module, None)
    assert changed
    assert diff["before"] != diff["after"]
    if check_mode:
        assert aws["calls"] == []
        assert definition["would_register"] and definition["family_revision"] == "wanzami-backend-task:4"
    else:
        assert [c[0] for c in aws["calls"]] == ["register_task_definition"]
        assert definition["family_revision"] == "wanzami-backend-task:5"


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_changed_task_size_registers_a_new_revision(aws, check_mode):
    aws["latest"] = as_ecs_returns(4)
    changed, _, diff = mod.ensure_present(FakeModule(check_mode=check_mode, cpu="1024", memory="2048"), None)
    assert changed
    assert (diff["before"]["cpu"], diff["after"]["cpu"]) == ("512", "1024")
    assert [c[0] for c in aws["calls"]] == ([] if check_mode else ["register_task_definition"])


@pytest.mark.parametrize("check_mode", [True, False])
def test_only_tags_changed_tags_the_latest_revision_in_place(aws, check_mode):
    aws["latest"] = as_ecs_returns(4)
    module = FakeModule(check_mode=check_mode, tags={"project": "wanzami", "environment": "production"})
    changed, definition, _ = mod.ensure_present(module, None)
    assert changed
    if check_mode:
        assert aws["calls"] == []
    else:
        assert aws["calls"] == [("tag_resource", (ARN.format(4), {"environment": "production"}))]
    assert definition["family_revision"] == "wanzami-backend-task:4"


@pytest.fixture
def revisions(monkeypatch):
    """list_active_task_definitions answers state['active']; deregistrations are recorded."""
    state = {"active": [], "calls": []}
    monkeypatch.setattr(mod, "list_active_task_definitions", lambda client, family: list(state["active"]))
    monkeypatch.setattr(mod, "deregister_task_definition", lambda client, arn: state["calls"].append(arn))
    return state


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_deregisters_every_active_revision(revisions, check_mode):
    revisions["active"] = [ARN.format(5), ARN.format(4), ARN.format(2)]
    changed, deregistered, diff, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert kept is None
    assert changed
    assert deregistered == ["wanzami-backend-task:5", "wanzami-backend-task:4", "wanzami-backend-task:2"]
    assert diff["after"] == {"family": "wanzami-backend-task", "active_revisions": []}
    assert revisions["calls"] == ([] if check_mode else revisions["active"])


def test_absent_without_active_revisions_changes_nothing(revisions):
    assert mod.ensure_absent(FakeModule(state="absent"), None)[:2] == (False, [])
    assert revisions["calls"] == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_keeps_the_revisions_without_the_ownership_tags(revisions, monkeypatch, check_mode):
    required = {"project": "wanzami", "managed-by": "ansible"}
    ours = [{"key": "project", "value": "wanzami"}, {"key": "managed-by", "value": "ansible"}]
    tags = {ARN.format(5): ours, ARN.format(4): ours, ARN.format(2): [{"key": "team", "value": "media"}]}
    monkeypatch.setattr(mod, "describe_task_definition", lambda client, arn: {"tags": tags[arn]})
    revisions["active"] = [ARN.format(5), ARN.format(4), ARN.format(2)]
    changed, deregistered, diff, kept = mod.ensure_absent(
        FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert changed and deregistered == ["wanzami-backend-task:5", "wanzami-backend-task:4"]
    assert "Task definition family wanzami-backend-task: revisions 2 are not ours" in kept
    assert "managed-by=ansible, project=wanzami" in kept
    assert diff["after"]["active_revisions"] == ["wanzami-backend-task:2"]
    assert revisions["calls"] == ([] if check_mode else [ARN.format(5), ARN.format(4)])
    revisions["active"] = [ARN.format(2)]
    changed, deregistered, _, kept = mod.ensure_absent(FakeModule(state="absent", only_if_tagged=required), None)
    assert not changed and deregistered == [] and kept


def test_only_the_family_itself_is_listed_not_the_ones_it_prefixes():
    class Paginator:
        def paginate(self, **kwargs):
            assert kwargs == {"familyPrefix": "wanzami-backend-task", "status": "ACTIVE", "sort": "DESC"}
            return self

        def build_full_result(self):
            return {"taskDefinitionArns": [ARN.format(3), ARN.replace("task:", "task-old:").format(9)]}

    class Client:
        def get_paginator(self, name):
            assert name == "list_task_definitions"
            return Paginator()

    from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import list_active_task_definitions
    assert list_active_task_definitions(Client(), "wanzami-backend-task") == [ARN.format(3)]
