"""wanzami.infra.ecs_service_health_info with the boto layer patched at the module_utils seam
(plugins/module_utils/diagnosis.py), and the iam_policy_allows filter the runbooks judge roles with."""

import pytest

from ansible_collections.wanzami.infra.plugins.filter.iam import iam_policy_allows
from ansible_collections.wanzami.infra.plugins.module_utils import diagnosis as diag
from ansible_collections.wanzami.infra.plugins.modules import ecs_service_health_info as mod

REGISTRY = "123456789012.dkr.ecr.us-east-2.amazonaws.com"
DIGEST = "sha256:" + "c" * 64
CLUSTER = "wanzami-cluster"


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.check_mode = True
        self.warnings = []
        self.params = {"cluster": CLUSTER, "services": ["wanzami-backend-service", "wanzami-worker-service"], "events": 2,
                       "stopped_tasks": 5, "log_lines": 2, "log_since_minutes": 60, "log_scan_limit": 100,
                       "check_images": True}
        self.params.update(params)

    def warn(self, msg):
        self.warnings.append(msg)

    def client(self, service, **kwargs):
        return f"{service}-client"

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])

    def exit_json(self, **kwargs):
        raise SystemExit(kwargs)


def definition(name, command, image):
    return {"containerDefinitions": [{
        "name": name, "image": image, "command": command,
        "environmentFiles": [{"value": "arn:aws:s3:::wanzami-env/wanzami_assets/.env", "type": "s3"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": f"/ecs/{name}",
                                                                  "awslogs-stream-prefix": "ecs"}}}]}


@pytest.fixture
def aws(monkeypatch):
    state = {
        "services": {
            "wanzami-backend-service": {"serviceName": "wanzami-backend-service", "status": "ACTIVE", "desiredCount": 2,
                                        "runningCount": 2, "taskDefinition": "arn:aws:ecs:us-east-2:1:task-definition/api:3",
                                        "events": [{"message": m} for m in ("newest", "older", "oldest")],
                                        "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED",
                                                         "taskDefinition": "arn:aws:ecs:us-east-2:1:task-definition/api:3"}]},
            "wanzami-worker-service": {"serviceName": "wanzami-worker-service", "status": "ACTIVE", "desiredCount": 1,
                                       "runningCount": 0, "taskDefinition": "arn:aws:ecs:us-east-2:1:task-definition/worker:5"},
        },
        "definitions": {
            "arn:aws:ecs:us-east-2:1:task-definition/api:3": definition("api", ["node", "dist/main.js"],
                                                                        f"{REGISTRY}/wanzami-backend@{DIGEST}"),
            "arn:aws:ecs:us-east-2:1:task-definition/worker:5": definition("worker", ["node", "dist/wrker/transcode.js"],
                                                                           f"{REGISTRY}/wanzami-backend:v9"),
        },
        "stopped": {"wanzami-worker-service": [
            {"taskArn": "t1", "taskDefinitionArn": "arn:aws:ecs:us-east-2:1:task-definition/worker:5",
             "stoppedReason": "Essential container in task exited", "stoppedAt": "2026-11-22T10:00:00",
             "containers": [{"name": "worker", "exitCode": 1}]},
            {"taskArn": "t2", "taskDefinitionArn": "arn:aws:ecs:us-east-2:1:task-definition/worker:5",
             "stoppedReason": "Essential container in task exited", "stoppedAt": "2026-11-22T10:05:00",
             "containers": [{"name": "worker", "exitCode": 1}]}]},
        "logs": {"/ecs/api": [{"timestamp": 3, "message": "listening on 4000\n"}, {"timestamp": 1, "message": "boot"},
                              {"timestamp": 2, "message": "connected"}],
                 "/ecs/worker": [{"timestamp": 1, "message": "Error: Cannot find module '/app/dist/wrker/transcode.js'"}]},
        "images": {("wanzami-backend", DIGEST): DIGEST},
        "calls": [],
    }

    def describe_services(client, cluster, names):
        state["calls"].append(("describe_services", cluster))
        if state["services"] is None:
            return None
        return {n: state["services"][n] for n in names if n in state["services"]}

    def describe_task_definition(client, arn):
        state["calls"].append(("describe_task_definition", arn))
        return state["definitions"].get(arn)

    def list_stopped_tasks(client, cluster, service):
        return [t["taskArn"] for t in state["stopped"].get(service, [])]

    def describe_tasks(client, cluster, arns):
        return [t for tasks in state["stopped"].values() for t in tasks if t["taskArn"] in arns]

    def filter_log_events(client, group, prefix, start, limit):
        state["calls"].append(("filter_log_events", group, prefix))
        events = state["logs"].get(group)
        return None if events is None else sorted(events, key=lambda e: e["timestamp"])

    def describe_image(client, registry_id, repository, image_id):
        state["calls"].append(("describe_image", client, repository, image_id))
        if repository != "wanzami-backend":
            return None
        ref = image_id.get("imageDigest") or image_id.get("imageTag")
        return [{"imageDigest": state["images"][(repository, ref)]}] if (repository, ref) in state["images"] else []

    for name, fake in (("describe_services", describe_services), ("describe_task_definition", describe_task_definition),
                       ("list_stopped_tasks", list_stopped_tasks), ("describe_tasks", describe_tasks),
                       ("filter_log_events", filter_log_events), ("describe_image", describe_image)):
        monkeypatch.setattr(diag, name, fake)
    return state


def run(aws, **params):
    module = FakeModule(**params)
    return diag.Diagnosis(module, "ecs-client", "logs-client", lambda region: f"ecr-{region}").run(), module


def test_a_healthy_service_shows_counts_events_containers_and_its_last_log_lines_in_order(aws):
    result, _ = run(aws)
    api = result["services"]["wanzami-backend-service"]
    assert result["cluster_exists"] and result["missing"] == []
    assert (api["desired_count"], api["running_count"], api["task_definition"]) == (2, 2, "api:3")
    assert api["events"] == ["newest", "older"]
    assert api["deployments"][0]["rollout_state"] == "COMPLETED"
    assert api["log_lines"] == {"api": ["connected", "listening on 4000"]}
    assert ("filter_log_events", "/ecs/api", "ecs/api/") in aws["calls"]
    (container,) = api["containers"]
    assert container["command"] == ["node", "dist/main.js"]
    assert container["environment_files"] == ["arn:aws:s3:::wanzami-env/wanzami_assets/.env"]
    assert container["ecr"] == {"registry_id": "123456789012", "region": "us-east-2", "repository": "wanzami-backend",
                                "reference": DIGEST, "repository_exists": True, "image_exists": True, "digest": DIGEST}
    assert not api["module_not_found"]


def test_a_worker_whose_script_is_missing_is_named_with_its_stopped_tasks_newest_first(aws):
    result, _ = run(aws)
    worker = result["services"]["wanzami-worker-service"]
    assert worker["module_not_found"]
    assert [t["task_arn"] for t in worker["stopped_tasks"]] == ["t2", "t1"]
    assert worker["stopped_tasks"][0]["containers"] == [{"name": "worker", "exit_code": 1, "reason": ""}]
    assert worker["containers"][0]["ecr"]["image_exists"] is False
    assert worker["containers"][0]["ecr"]["repository_exists"] is True


def test_a_missing_cluster_or_service_is_an_answer(aws):
    result, _ = run(aws, services=["wanzami-backend-service", "wanzami-gone"])
    assert result["missing"] == ["wanzami-gone"]
    aws["services"] = None
    result, _ = run(aws)
    assert result == {"cluster_exists": False, "services": {},
                      "missing": ["wanzami-backend-service", "wanzami-worker-service"]}


def test_a_missing_log_group_is_a_warning_and_no_lines(aws):
    del aws["logs"]["/ecs/worker"]
    result, module = run(aws)
    assert result["services"]["wanzami-worker-service"]["log_lines"] == {"worker": []}
    assert module.warnings == ["log group /ecs/worker of container worker does not exist"]


def test_nothing_is_read_that_was_not_asked_for(aws):
    module = FakeModule(log_lines=0, stopped_tasks=0)
    result = diag.Diagnosis(module, "ecs-client", "logs-client", None).run()
    assert not [c for c in aws["calls"] if c[0] in ("filter_log_events", "describe_image")]
    assert result["services"]["wanzami-worker-service"]["stopped_tasks"] == []
    assert "ecr" not in result["services"]["wanzami-worker-service"]["containers"][0]


def test_one_task_definition_is_described_once_for_the_services_sharing_it(aws):
    aws["services"]["wanzami-worker-service"]["taskDefinition"] = "arn:aws:ecs:us-east-2:1:task-definition/api:3"
    run(aws)
    assert [c for c in aws["calls"] if c[0] == "describe_task_definition"] == [
        ("describe_task_definition", "arn:aws:ecs:us-east-2:1:task-definition/api:3")]


@pytest.mark.parametrize(("image", "expected"), [
    (f"{REGISTRY}/wanzami-backend:v1", ("123456789012", "us-east-2", "wanzami-backend", "v1", None)),
    (f"{REGISTRY}/team/api@{DIGEST}", ("123456789012", "us-east-2", "team/api", None, DIGEST)),
    ("public.ecr.aws/xray/aws-xray-daemon:3.3.7", None),
])
def test_ecr_image_references_are_parsed(image, expected):
    match = diag.ECR_IMAGE.match(image)
    assert (match.groups() if match else None) == expected


@pytest.mark.parametrize(("params", "message"), [
    ({"log_lines": -1}, "log_lines must be 0 or more"),
    ({"stopped_tasks": 101}, "stopped_tasks must be at most 100"),
])
def test_bad_options_fail_before_any_call(aws, monkeypatch, params, message):
    module = FakeModule(**params)
    monkeypatch.setattr(mod, "WanzamiInfraAWSModule", lambda **kwargs: module)
    with pytest.raises(Failed, match=message):
        mod.main()
    assert aws["calls"] == []


def test_main_reports_no_change(aws, monkeypatch):
    module = FakeModule()
    monkeypatch.setattr(mod, "WanzamiInfraAWSModule", lambda **kwargs: module)
    with pytest.raises(SystemExit) as done:
        mod.main()
    assert done.value.args[0]["changed"] is False
    assert set(done.value.args[0]["services"]) == {"wanzami-backend-service", "wanzami-worker-service"}


# --- iam_policy_allows --------------------------------------------------------------------------------------------

ENV_FILE = "arn:aws:s3:::wanzami-env/wanzami_assets/.env"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [ENV_FILE]},
    {"Effect": "Allow", "Action": "ECR:Batch*", "Resource": "arn:aws:ecr:us-east-2:123456789012:repository/wanzami-*"},
]}


@pytest.mark.parametrize(("action", "resource", "allowed"), [
    ("s3:GetObject", ENV_FILE, True),
    ("s3:GetObject", "arn:aws:s3:::wanzami-env/other", False),
    ("s3:PutObject", ENV_FILE, False),
    ("ecr:GetAuthorizationToken", "*", True),
    ("ecr:BatchGetImage", "arn:aws:ecr:us-east-2:123456789012:repository/wanzami-backend", True),
    ("ecr:BatchGetImage", "arn:aws:ecr:us-east-2:123456789012:repository/other", False),
])
def test_iam_policy_allows_matches_actions_and_resources_with_wildcards(action, resource, allowed):
    assert iam_policy_allows([POLICY], action, resource) is allowed


def test_iam_policy_allows_lets_a_deny_win_and_reads_json_strings():
    import json

    deny = {"Statement": [{"Effect": "Deny", "NotAction": "ecr:*", "NotResource": "arn:aws:ecr:*"}]}
    assert iam_policy_allows([json.dumps(POLICY)], "s3:GetObject", ENV_FILE)
    assert not iam_policy_allows([POLICY, deny], "s3:GetObject", ENV_FILE)
    assert iam_policy_allows([], "s3:GetObject", ENV_FILE) is False


def test_an_aws_error_of_any_wrapper_fails_the_module_cleanly(aws, monkeypatch):
    """describe_services is release.py's wrapper: its error class is not diagnosis.py's."""
    from ansible_collections.wanzami.infra.plugins.module_utils.release import AnsibleReleaseError

    def denied(client, cluster, names):
        raise AnsibleReleaseError(message="Failed to describe services: AccessDenied")

    module = FakeModule()
    module.fail_json_aws_error = lambda e: module.fail_json(msg=e.message)
    monkeypatch.setattr(diag, "describe_services", denied)
    monkeypatch.setattr(mod, "WanzamiInfraAWSModule", lambda **kwargs: module)
    with pytest.raises(Failed, match="AccessDenied"):
        mod.main()
