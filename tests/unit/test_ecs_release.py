"""wanzami.infra.ecs_release with the boto layer patched at the module_utils seam (plugins/module_utils/release.py).

FakeAWS plays ECR, STS, SSM, ECS and EventBridge with just enough state for a release: services whose deployments
move as each test scripts them, task definitions that get new revisions, parameters, a fake clock.
"""

import copy
import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.wanzami.infra.plugins.module_utils import release as rel
from ansible_collections.wanzami.infra.plugins.modules import ecs_release as mod

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-2.amazonaws.com"
REPO = f"{REGISTRY}/wanzami-backend"
DIGEST = "sha256:" + "a" * 64
OLD_DIGEST = "sha256:" + "b" * 64
PINNED = f"{REPO}@{DIGEST}"
ARN = "arn:aws:ecs:us-east-2:123456789012:task-definition/{}"
CLUSTER = "wanzami-cluster"
SERVICES = ["wanzami-backend-service", "wanzami-worker-service", "wanzami-worker-cron-service"]
RULE = "wanzami-cron-sync-payments"
LOCK = "/wanzami/production/release-lock"
RECORD = "/wanzami/production/release"
STRATEGY = [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-api"],
                                   "assignPublicIp": "DISABLED"}}
XRAY = "public.ecr.aws/xray/aws-xray-daemon:3.3.7"
HELD = {"holder": "ana@laptop", "since": "2024-06-01T10:00:00Z", "release": "v1", "token": "theirs"}
SMOKE = {"url": "http://wanzami-alb-123.us-east-2.elb.amazonaws.com/health", "status": 200, "timeout": 60, "interval": 5.0}
SMOKE_THROUGH_ALB = {"url": None, "load_balancer": "wanzami-alb", "path": "/health", "status": 200, "timeout": 60,
                     "interval": 5.0}
MUTATING = {"put_parameter", "delete_parameter", "register_task_definition", "update_service", "put_targets", "run_task",
            "deregister_task_definition"}


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.region = "us-east-2"
        self.warnings = []
        self.created = []
        self.params = {
            "cluster": CLUSTER, "services": list(SERVICES), "scheduled_tasks": [RULE], "repository": "wanzami-backend",
            "registry": None, "image_tag": "v2", "image_digest": None, "to_previous": False, "migration": None,
            "wait_timeout": 900, "poll_interval": 10.0, "smoke_test": None, "rollback_on_failure": True,
            "record_parameter": RECORD, "lock_parameter": LOCK, "lock_wait": 0, "break_lock": False, "who": "ci@runner",
            "keep_revisions": 10, "tags": None,
        }
        self.params.update(params)

    def warn(self, msg):
        self.warnings.append(msg)

    def client(self, service):
        self.created.append(service)
        return f"{service}-client"

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def exit_json(self, **kwargs):
        raise SystemExit(kwargs)


def definition(family, revision, image, sidecar=False):
    containers = [{"name": "api" if "backend" in family else "worker", "image": image, "memory": 1024, "essential": True,
                   "command": ["node", "dist/main.js"], "environment": [], "mountPoints": []}]
    if sidecar:
        containers.append({"name": "xray", "image": XRAY, "memory": 256, "essential": False})
    return {"taskDefinitionArn": ARN.format(f"{family}:{revision}"), "family": family, "revision": revision,
            "containerDefinitions": containers, "cpu": "512", "memory": "1024", "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"], "compatibilities": ["EC2", "FARGATE"], "status": "ACTIVE",
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", "volumes": [],
            "placementConstraints": [], "registeredAt": "2024-06-01T00:00:00Z", "registeredBy": "arn:aws:iam::x",
            "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}],
            "tags": [{"key": "project", "value": "wanzami"}]}


def service(name, family_revision):
    arn = ARN.format(family_revision)
    return {"serviceName": name, "serviceArn": f"arn:aws:ecs:us-east-2:123456789012:service/{CLUSTER}/{name}",
            "status": "ACTIVE", "taskDefinition": arn, "desiredCount": 2, "runningCount": 2,
            "capacityProviderStrategy": STRATEGY, "networkConfiguration": NETWORK, "deploymentController": {"type": "ECS"},
            "deployments": [{"id": f"ecs-svc/{name}-0", "status": "PRIMARY", "taskDefinition": arn, "rolloutState": "COMPLETED",
                             "desiredCount": 2, "runningCount": 2}],
            "events": [{"message": f"({name}) event {n}"} for n in (4, 3, 2, 1)]}


class FakeAWS:
    """State and recorded calls; every wrapper of release.py is replaced by a method of this class."""

    def __init__(self):
        self.clock = 1000.0
        self.sleeps = []
        self.calls = []
        self.images = {"v2": DIGEST, "v1": OLD_DIGEST}
        self.parameters = {}
        self.definitions = {}
        for d in (definition("wanzami-backend-task", 4, f"{REPO}:latest", sidecar=True),
                  definition("wanzami-worker-task", 2, f"{REPO}:latest"),
                  definition("wanzami-cron-light", 3, f"{REPO}@{OLD_DIGEST}")):
            self.definitions[f"{d['family']}:{d['revision']}"] = d
        # The worker and the cron worker share one revision; the scheduled task has its own family.
        self.services = {"wanzami-backend-service": service("wanzami-backend-service", "wanzami-backend-task:4"),
                         "wanzami-worker-service": service("wanzami-worker-service", "wanzami-worker-task:2"),
                         "wanzami-worker-cron-service": service("wanzami-worker-cron-service", "wanzami-worker-task:2")}
        self.targets = {RULE: [{"Id": RULE, "Arn": f"arn:aws:ecs:us-east-2:123456789012:cluster/{CLUSTER}",
                                "RoleArn": "arn:aws:iam::123456789012:role/wanzami-events-run-task",
                                "EcsParameters": {"TaskDefinitionArn": ARN.format("wanzami-cron-light:3"), "TaskCount": 1,
                                                  "LaunchType": "FARGATE"}}]}
        self.rollouts = {}  # service -> list of behaviours, one used per UpdateService (default: complete)
        self.migration = {"exit_code": 0, "polls": 3, "reason": None}
        self.http = [200]
        self.load_balancers = {"wanzami-alb": "wanzami-alb-123.us-east-2.elb.amazonaws.com"}
        self.on_update = None
        self.deployments = 0

    # clock

    def monotonic(self):
        return self.clock

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.clock += seconds

    def names(self):
        return [c[0] for c in self.calls]

    def mutating(self):
        return [c for c in self.calls if c[0] in MUTATING]

    def record(self, call, **kwargs):
        self.calls.append((call, kwargs))

    # ECR, STS

    def describe_image(self, client, repository, image_id, registry_id=None):
        assert client == "ecr-client"
        self.record("describe_image", repository=repository, image_id=image_id)
        digest = self.images.get(image_id.get("imageTag")) or image_id.get("imageDigest")
        return {"imageDigest": digest} if digest in self.images.values() else None

    def load_balancer_dns_name(self, client, name):
        assert client == "elbv2-client"
        self.record("load_balancer_dns_name", name=name)
        return self.load_balancers.get(name)

    def get_caller_identity(self, client):
        assert client == "sts-client"
        self.record("get_caller_identity")
        return {"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/ci"}

    # SSM

    def get_parameter(self, client, name):
        assert client == "ssm-client"
        self.record("get_parameter", name=name)
        return self.parameters.get(name)

    def put_parameter(self, client, name, value, overwrite, tags=None):
        assert client == "ssm-client"
        self.record("put_parameter", name=name, value=value, overwrite=overwrite, tags=tags)
        if name in self.parameters and not overwrite:
            return False
        self.parameters[name] = value
        return True

    def delete_parameter(self, client, name):
        self.record("delete_parameter", name=name)
        return self.parameters.pop(name, None) is not None

    # ECS

    def describe_services(self, client, cluster, names):
        assert client == "ecs-client" and cluster == CLUSTER
        self.record("describe_services", names=list(names))
        if self.services is None:  # no cluster
            return None
        found = {}
        for name in names:
            svc = self.services.get(name)
            if svc is None:
                continue
            if "_stale" in svc:
                found[name] = svc.pop("_stale")
                continue
            pending = svc.pop("_behaviour", None)
            if pending:
                self.advance(svc, *pending)
            found[name] = {k: copy.deepcopy(v) for k, v in svc.items() if not k.startswith("_")}
        return found

    def advance(self, svc, behaviour, old_arn):
        """What ECS shows of the deployment UpdateService started, on the next DescribeServices."""
        ours = svc["deployments"][0]
        if behaviour == "complete":
            ours.update(rolloutState="COMPLETED", runningCount=2)
            svc["deployments"] = [ours]
        elif behaviour == "slow":
            svc["_behaviour"] = (behaviour, old_arn)
        elif behaviour == "failed":
            ours.update(rolloutState="FAILED", rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
        elif behaviour == "circuit_breaker":
            # The breaker rolled back: a new deployment of the old revision is PRIMARY and has completed ('stable').
            svc["taskDefinition"] = old_arn
            self.deployments += 1
            svc["deployments"] = [{"id": f"ecs-svc/rollback-{self.deployments}", "status": "PRIMARY", "taskDefinition": old_arn,
                                   "rolloutState": "COMPLETED", "desiredCount": 2, "runningCount": 2}]
            svc["events"] = [{"message": "rolling back to deployment ecs-svc/0: circuit breaker"},
                             {"message": "task failed container health checks"}, {"message": "task stopped"},
                             {"message": "older event"}] + svc["events"]

    def describe_task_definition(self, client, arn):
        assert client == "ecs-client"
        self.record("describe_task_definition", arn=arn)
        found = self.definitions.get(rel.ref(arn))
        return copy.deepcopy(found) if found else None

    def register_task_definition(self, client, **params):
        self.record("register_task_definition", **copy.deepcopy(params))
        family = params["family"]
        revision = max(d["revision"] for d in self.definitions.values() if d["family"] == family) + 1
        registered = dict(copy.deepcopy(params), taskDefinitionArn=ARN.format(f"{family}:{revision}"), revision=revision,
                          status="ACTIVE")
        self.definitions[f"{family}:{revision}"] = registered
        return copy.deepcopy(registered)

    def update_service(self, client, **params):
        assert client == "ecs-client"
        self.record("update_service", **params)
        svc = self.services[params["service"]]
        before = {k: copy.deepcopy(v) for k, v in svc.items() if not k.startswith("_")}
        old_arn = svc["taskDefinition"]
        for d in svc["deployments"]:
            d["status"] = "ACTIVE"
        self.deployments += 1
        svc["deployments"].insert(0, {"id": f"ecs-svc/new-{self.deployments}", "status": "PRIMARY",
                                      "taskDefinition": params["taskDefinition"], "rolloutState": "IN_PROGRESS",
                                      "desiredCount": 2, "runningCount": 0})
        svc["taskDefinition"] = params["taskDefinition"]
        if "desiredCount" in params:
            svc["desiredCount"] = params["desiredCount"]
        behaviours = self.rollouts.get(params["service"]) or ["complete"]
        behaviour = behaviours.pop(0) if len(behaviours) > 1 else behaviours[0]
        if behaviour == "stale":
            # The next read does not show the update yet (eventual consistency); the one after shows it complete.
            svc["_stale"] = before
            behaviour = "complete"
        svc["_behaviour"] = (behaviour, old_arn)
        if self.on_update:
            self.on_update(params)
        return copy.deepcopy(svc)

    def run_task(self, client, **params):
        self.record("run_task", **params)
        self.task_polls = 0
        task = {"taskArn": "arn:aws:ecs:us-east-2:123456789012:task/wanzami-cluster/m1", "lastStatus": "PROVISIONING"}
        return {"tasks": [task], "failures": []}

    def describe_tasks(self, client, cluster, arns):
        self.record("describe_tasks", arns=arns)
        self.task_polls += 1
        if self.task_polls < self.migration["polls"]:
            return [{"taskArn": arns[0], "lastStatus": "RUNNING", "containers": [{"name": "api"}]}]
        return [{"taskArn": arns[0], "lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
                 "containers": [{"name": "api", "exitCode": self.migration["exit_code"], "reason": self.migration["reason"]}]}]

    def list_task_definitions(self, client, family):
        self.record("list_task_definitions", family=family)
        # familyPrefix matches other families too; the module must filter them out.
        return [d["taskDefinitionArn"] for d in sorted(self.definitions.values(), key=lambda d: -d["revision"])
                if d["family"].startswith(family) and d.get("status") == "ACTIVE"]

    def deregister_task_definition(self, client, arn):
        self.record("deregister_task_definition", arn=arn)
        self.definitions[rel.ref(arn)]["status"] = "INACTIVE"

    # EventBridge

    def list_targets_by_rule(self, client, rule):
        assert client == "events-client"
        self.record("list_targets_by_rule", rule=rule)
        return copy.deepcopy(self.targets.get(rule, []))

    def put_targets(self, client, rule, targets):
        self.record("put_targets", rule=rule, targets=copy.deepcopy(targets))
        self.targets[rule] = copy.deepcopy(targets)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    # HTTP

    def http_status(self, url, timeout, address=None, check_hostname=True):
        self.record("http_status", url=url, address=address, check_hostname=check_hostname)
        status = self.http.pop(0) if len(self.http) > 1 else self.http[0]
        self.clock += 1
        return (status, None) if status else (None, "Connection refused")


@pytest.fixture
def aws(monkeypatch):
    fake = FakeAWS()
    for name in ("describe_image", "get_caller_identity", "get_parameter", "put_parameter", "delete_parameter",
                 "describe_services", "describe_task_definition", "register_task_definition", "update_service", "run_task",
                 "describe_tasks", "list_task_definitions", "deregister_task_definition", "list_targets_by_rule", "put_targets",
                 "load_balancer_dns_name", "http_status", "monotonic", "sleep"):
        monkeypatch.setattr(rel, name, getattr(fake, name))
    return fake



def diff_images(result, side):
    """The image(s) of our containers in each entry of the diff's before or after."""
    images = {}
    for name, entry in result["diff"][side].items():
        ours = [c["image"] for c in entry["containerDefinitions"] if c["image"].startswith(REPO)]
        images[name] = ours[0] if len(ours) == 1 else ours
    return images


def run(aws, check_mode=False, **params):
    module = FakeModule(check_mode=check_mode, **params)
    assert rel.validate(module.params) is None
    result = rel.Release(module, rel.Clients(module)).run()
    return result, module


def failure(aws, **params):
    module = FakeModule(**params)
    with pytest.raises(rel.ReleaseError) as raised:
        rel.Release(module, rel.Clients(module)).run()
    return raised.value, module


def pinned(aws, family_revision):
    return [c["image"] for c in aws.definitions[family_revision]["containerDefinitions"]]


def on_pinned_revisions(aws):
    """The state after a successful release of DIGEST: what a re-release must leave alone."""
    for ref in ("wanzami-backend-task:4", "wanzami-worker-task:2", "wanzami-cron-light:3"):
        for c in aws.definitions[ref]["containerDefinitions"]:
            if c["image"].startswith(REPO):
                c["image"] = PINNED


# --- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "message"), [
    ({"image_tag": None}, "give exactly one of image_tag, image_digest or to_previous=true (got none of them)"),
    ({"image_digest": DIGEST}, "give exactly one of image_tag, image_digest or to_previous=true (got image_tag, image_digest)"),
    ({"to_previous": True}, "(got image_tag, to_previous)"),
    ({"image_tag": None, "image_digest": "sha256:ABC"}, "image_digest must match ^sha256:[0-9a-f]{64}$"),
    ({"image_tag": "-bad"}, "image_tag must be a Docker tag"),
    ({"image_tag": None, "to_previous": True, "record_parameter": None}, "to_previous=true needs record_parameter"),
    ({"wait_timeout": 0}, "wait_timeout must be greater than 0: got 0"),
    ({"poll_interval": -1.0}, "poll_interval must be greater than 0"),
    ({"keep_revisions": -1}, "keep_revisions must be 0 or more"),
    ({"services": []}, "services must name at least one service"),
    ({"repository": f"{REPO}:v2"}, "repository must be an ECR repository name"),
    ({"registry": "https://registry"}, "registry must be a host name"),
    ({"break_lock": True, "lock_parameter": None}, "break_lock=true needs lock_parameter"),
    ({"migration": {"service": "other", "command": ["true"], "container": None, "timeout": 600}},
     "migration.service must be one of services (wanzami-backend-service, wanzami-worker-service, wanzami-worker-cron-service)"),
    ({"migration": {"service": SERVICES[0], "command": ["true"], "container": None, "timeout": 0}},
     "migration.timeout must be greater than 0"),
    ({"smoke_test": {"url": "file:///etc/passwd", "status": 200, "timeout": 60, "interval": 5.0}},
     "smoke_test.url must be an http:// or https:// URL"),
    ({"smoke_test": {"url": "http://alb/health", "status": 2000, "timeout": 60, "interval": 5.0}},
     "smoke_test.status must be an HTTP status (100-599)"),
    ({"smoke_test": {**SMOKE_THROUGH_ALB, "path": "health"}},
     "smoke_test.path must start with '/': got 'health'"),
    ({"smoke_test": {"url": "http://alb/health", "load_balancer": "wanzami-alb", "path": "/", "status": 200, "timeout": 60,
                     "interval": 5.0}}, "smoke_test needs exactly one of url and load_balancer"),
])

def test_invalid_options_fail_before_any_aws_call(aws, monkeypatch, params, message):
    module = FakeModule(**params)
    monkeypatch.setattr(mod, "WanzamiInfraAWSModule", lambda **kwargs: module)
    with pytest.raises(Failed) as failed:
        mod.main()
    assert message in failed.value.args[0]["msg"]
    assert aws.calls == []
    assert module.created == []


def test_main_reports_a_failure_with_the_release_and_defaults_who(aws, monkeypatch):
    module = FakeModule(who=None, services=[*SERVICES, "wanzami-gone-service"])
    monkeypatch.setattr(mod, "WanzamiInfraAWSModule", lambda **kwargs: module)
    with pytest.raises(Failed) as failed:
        mod.main()
    result = failed.value.args[0]
    assert result["msg"] == f"services not found (or not ACTIVE) in cluster {CLUSTER}: wanzami-gone-service"
    assert result["rolled_back"] is False
    assert result["release"]["digest"] == DIGEST
    assert "@" in module.params["who"]
    # The lock was taken with the default holder, and released.
    assert json.loads(next(c[1]["value"] for c in aws.calls if c[0] == "put_parameter"))["holder"] == module.params["who"]
    assert LOCK not in aws.parameters


def test_one_client_per_aws_service_created_on_first_use(aws):
    _, module = run(aws)
    assert sorted(module.created) == ["ecr", "ecs", "events", "ssm", "sts"]
    _, module = run(aws, scheduled_tasks=[], registry=REGISTRY, lock_parameter=None, record_parameter=None)
    assert sorted(module.created) == ["ecr", "ecs"]


# --- a release ----------------------------------------------------------------------------------------------------


def test_a_release_pins_the_image_registers_once_per_revision_and_updates_each_service(aws):
    result, module = run(aws)
    assert result["changed"]
    # Exactly these mutating calls, in this order.
    assert [c[0] for c in aws.mutating()] == ["put_parameter", "register_task_definition", "register_task_definition",
                                               "register_task_definition", "update_service", "update_service", "update_service",
                                               "put_targets", "put_parameter", "delete_parameter"]
    assert [c[0] for c in aws.calls[:2]] == ["describe_image", "get_caller_identity"]
    assert aws.calls[0][1] == {"repository": "wanzami-backend", "image_id": {"imageTag": "v2"}}
    # The worker and the cron worker share wanzami-worker-task:2: one new revision for both.
    registered = [c[1] for c in aws.calls if c[0] == "register_task_definition"]
    assert [r["family"] for r in registered] == ["wanzami-backend-task", "wanzami-worker-task", "wanzami-cron-light"]
    backend = registered[0]
    assert [c["image"] for c in backend["containerDefinitions"]] == [PINNED, XRAY]  # the sidecar keeps its image
    assert backend["tags"] == [{"key": "project", "value": "wanzami"}]
    assert set(backend) == {"family", "containerDefinitions", "cpu", "memory", "networkMode", "requiresCompatibilities",
                            "executionRoleArn", "tags"}  # nothing ECS made up, no empty list
    updates = [c[1] for c in aws.calls if c[0] == "update_service"]
    assert updates == [
        {"cluster": CLUSTER, "service": "wanzami-backend-service", "taskDefinition": ARN.format("wanzami-backend-task:5")},
        {"cluster": CLUSTER, "service": "wanzami-worker-service", "taskDefinition": ARN.format("wanzami-worker-task:3")},
        {"cluster": CLUSTER, "service": "wanzami-worker-cron-service", "taskDefinition": ARN.format("wanzami-worker-task:3")},
    ]
    (put,) = [c[1] for c in aws.calls if c[0] == "put_targets"]
    expected = copy.deepcopy(FakeAWS().targets[RULE])
    expected[0]["EcsParameters"]["TaskDefinitionArn"] = ARN.format("wanzami-cron-light:4")
    assert put == {"rule": RULE, "targets": expected}
    release = result["release"]
    assert (release["tag"], release["digest"], release["image"]) == ("v2", DIGEST, PINNED)
    assert release["services"] == {
        "wanzami-backend-service": {"previous": "wanzami-backend-task:4", "current": "wanzami-backend-task:5", "changed": True},
        "wanzami-worker-service": {"previous": "wanzami-worker-task:2", "current": "wanzami-worker-task:3", "changed": True},
        "wanzami-worker-cron-service": {"previous": "wanzami-worker-task:2", "current": "wanzami-worker-task:3", "changed": True},
    }
    assert release["scheduled_tasks"] == {RULE: {"previous": "wanzami-cron-light:3", "current": "wanzami-cron-light:4",
                                                 "changed": True}}
    assert diff_images(result, "after") == {n: PINNED for n in [*SERVICES, RULE]}
    assert diff_images(result, "before")["wanzami-backend-service"] == f"{REPO}:latest"
    assert diff_images(result, "before")[RULE] == f"{REPO}@{OLD_DIGEST}"
    assert release["migration"] == {} and release["smoke_test"] == {} and release["lock_holder"] is None
    assert module.warnings == []
    # The rollouts completed on the first poll: no sleep at all.
    assert aws.sleeps == []


def test_a_given_registry_and_digest_skip_sts_and_match_only_that_registry(aws):
    other = "999999999999.dkr.ecr.eu-west-1.amazonaws.com"
    error, _ = failure(aws, image_tag=None, image_digest=DIGEST, registry=other + "/")
    assert "get_caller_identity" not in aws.names()
    assert aws.calls[0][1]["image_id"] == {"imageDigest": DIGEST}
    assert error.msg.startswith("pre-flight failed: wanzami-backend-service: no container of wanzami-backend-task:4 runs an "
                                f"image of {other}/wanzami-backend (it runs {REPO}:latest, {XRAY})")
    assert not [c for c in aws.mutating() if c[0] != "put_parameter" and c[0] != "delete_parameter"]


def test_a_re_release_of_the_same_digest_changes_nothing(aws):
    run(aws)
    aws.calls.clear()
    result, _ = run(aws)
    assert not result["changed"]
    assert result["diff"] == {"before": {}, "after": {}}
    assert all(not s["changed"] for s in result["release"]["services"].values())
    # Reads, and the lock taken and given back; nothing registered, updated or recorded.
    assert [(c[0], c[1]["name"]) for c in aws.mutating()] == [("put_parameter", LOCK), ("delete_parameter", LOCK)]


def test_a_no_op_release_writes_the_record_only_when_there_is_none(aws):
    on_pinned_revisions(aws)
    result, _ = run(aws)
    assert result["changed"]  # the first record
    assert result["release"]["record"]["services"]["wanzami-backend-service"] == "wanzami-backend-task:4"
    assert "register_task_definition" not in aws.names() and "update_service" not in aws.names()
    result, _ = run(aws)
    assert not result["changed"]
    assert result["release"]["record"] == {}


@pytest.mark.parametrize("held", [False, True])
def test_check_mode_reads_only_and_reports_the_plan_and_the_lock_holder(aws, held):
    if held:
        aws.parameters[LOCK] = json.dumps(HELD)
    result, _ = run(aws, check_mode=True, migration={"service": SERVICES[0], "command": ["npx", "prisma", "migrate", "deploy"],
                                                     "container": None, "timeout": 600},
                    smoke_test={"url": "http://alb/health", "status": 200, "timeout": 60, "interval": 5.0})
    assert aws.mutating() == []
    assert "http_status" not in aws.names() and "describe_tasks" not in aws.names()
    assert result["changed"]
    assert result["release"]["lock_holder"] == ("ana@laptop" if held else None)
    assert diff_images(result, "before") == {"wanzami-backend-service": f"{REPO}:latest",
                                             "wanzami-worker-service": f"{REPO}:latest",
                                             "wanzami-worker-cron-service": f"{REPO}:latest", RULE: f"{REPO}@{OLD_DIGEST}"}
    assert diff_images(result, "after") == {n: PINNED for n in [*SERVICES, RULE]}
    assert result["release"]["services"]["wanzami-backend-service"] == {
        "previous": "wanzami-backend-task:4", "current": "wanzami-backend-task:4", "changed": True}


def test_check_mode_of_a_converged_environment_reports_no_change(aws):
    on_pinned_revisions(aws)
    result, _ = run(aws, check_mode=True)
    assert not result["changed"]
    assert aws.mutating() == []


def empty_account(aws):
    """What a dry run before the first site.yml finds: no image, no cluster, no rule, no record, no load balancer."""
    aws.images, aws.services, aws.targets, aws.definitions, aws.load_balancers = {}, None, {}, {}, {}


def test_check_mode_on_an_empty_account_reports_what_a_run_would_stop_at_instead_of_failing(aws):
    empty_account(aws)
    result, module = run(aws, check_mode=True, smoke_test=SMOKE_THROUGH_ALB)
    assert aws.mutating() == []
    assert not result["changed"], "a run that would fail changes nothing"
    blockers = ["image wanzami-backend:v2 is not in ECR repository wanzami-backend in us-east-2: push it first "
                "(or set release_build=true)", "load balancer wanzami-alb does not exist: the smoke test goes through it",
                f"cluster {CLUSTER} does not exist"]
    assert result["release"]["blockers"] == blockers
    assert module.warnings == [f"a real run would fail now: {b}" for b in blockers]
    assert result["release"]["image"] == f"{REPO}:v2"
    assert result["release"]["services"] == {}


def test_check_mode_before_the_first_push_plans_the_tag_and_names_the_missing_image(aws):
    aws.images = {}
    result, _ = run(aws, check_mode=True)
    assert aws.mutating() == []
    assert not result["changed"]
    assert result["release"]["blockers"] == ["image wanzami-backend:v2 is not in ECR repository wanzami-backend in us-east-2: "
                                             "push it first (or set release_build=true)"]
    assert diff_images(result, "after") == {n: f"{REPO}:v2" for n in [*SERVICES, RULE]}


def test_check_mode_names_missing_services_and_rules_and_plans_the_rest(aws):
    del aws.services["wanzami-worker-cron-service"]
    aws.targets = {}
    result, _ = run(aws, check_mode=True)
    assert aws.mutating() == []
    assert result["release"]["blockers"] == [
        f"services not found (or not ACTIVE) in cluster {CLUSTER}: wanzami-worker-cron-service",
        f"scheduled task rule {RULE} does not exist or has no ECS target"]
    assert sorted(result["release"]["services"]) == ["wanzami-backend-service", "wanzami-worker-service"]


def test_check_mode_still_fails_on_what_is_wrong_rather_than_absent(aws):
    aws.definitions["wanzami-worker-task:2"]["containerDefinitions"][0]["image"] = f"{REGISTRY}/wanzami-frontend:latest"
    module = FakeModule(check_mode=True)
    with pytest.raises(rel.ReleaseError) as raised:
        rel.Release(module, rel.Clients(module)).run()
    assert "no container of wanzami-worker-task:2 runs an image of" in raised.value.msg
    assert aws.mutating() == []


def test_a_real_run_on_an_empty_account_fails_at_the_missing_cluster_after_the_image(aws):
    empty_account(aws)
    aws.images = {"v2": DIGEST}
    error, _ = failure(aws)
    assert error.msg == f"cluster {CLUSTER} does not exist"
    assert LOCK not in aws.parameters


def test_rollback_in_check_mode_without_a_record_reports_it(aws):
    result, module = run(aws, check_mode=True, image_tag=None, to_previous=True)
    assert aws.mutating() == []
    assert not result["changed"]
    assert result["release"]["blockers"] == [f"to_previous: there is no release record {RECORD}: nothing to go back to"]


# --- pre-flight errors --------------------------------------------------------------------------------------------


def test_an_image_that_is_not_in_ecr_fails_with_a_hint(aws):
    error, _ = failure(aws, image_tag="v9")
    assert error.msg == ("image wanzami-backend:v9 is not in ECR repository wanzami-backend in us-east-2: push it first "
                         "(or set release_build=true)")
    assert aws.names() == ["describe_image"]


def test_a_missing_service_fails_the_pre_flight_naming_it(aws):
    error, _ = failure(aws, services=["wanzami-backend-service", "wanzami-api-v2", "wanzami-gone"])
    assert error.msg == f"services not found (or not ACTIVE) in cluster {CLUSTER}: wanzami-api-v2, wanzami-gone"
    assert [c[0] for c in aws.mutating()] == ["put_parameter", "delete_parameter"]  # only the lock


def test_a_service_without_a_container_of_the_repository_fails_the_pre_flight(aws):
    aws.definitions["wanzami-worker-task:2"]["containerDefinitions"][0]["image"] = f"{REGISTRY}/wanzami-frontend:latest"
    error, _ = failure(aws)
    assert error.msg == ("pre-flight failed: wanzami-worker-service: no container of wanzami-worker-task:2 runs an image of "
                         f"{REPO} (it runs {REGISTRY}/wanzami-frontend:latest); wanzami-worker-cron-service: no container of "
                         f"wanzami-worker-task:2 runs an image of {REPO} (it runs {REGISTRY}/wanzami-frontend:latest)")
    assert "register_task_definition" not in aws.names()


def test_a_repository_that_is_only_a_prefix_of_the_image_is_not_ours(aws):
    aws.definitions["wanzami-worker-task:2"]["containerDefinitions"][0]["image"] = f"{REPO}-worker:latest"
    error, _ = failure(aws)
    assert "wanzami-worker-service: no container of wanzami-worker-task:2" in error.msg


def test_a_scheduled_task_without_an_ecs_target_fails_the_pre_flight(aws):
    error, _ = failure(aws, scheduled_tasks=["wanzami-cron-missing"])
    assert error.msg == "scheduled task rule wanzami-cron-missing does not exist or has no ECS target"


# --- the lock -----------------------------------------------------------------------------------------------------


def test_a_held_lock_fails_naming_its_holder_and_leaves_it(aws):
    aws.parameters[LOCK] = json.dumps(HELD)
    error, _ = failure(aws)
    assert error.msg == ("release of wanzami-cluster is locked by ana@laptop since 2024-06-01T10:00:00Z (release v1); wait for "
                         "it to finish, or if it died, break the stale lock with -e release_break_lock=true")
    assert json.loads(aws.parameters[LOCK]) == HELD
    assert error.result["release"]["lock_holder"] == "ana@laptop"
    assert [c[0] for c in aws.mutating()] == ["put_parameter"]
    assert "describe_services" not in aws.names()


def test_lock_wait_polls_until_the_lock_is_free(aws, monkeypatch):
    aws.parameters[LOCK] = json.dumps(HELD)
    gets = []

    def get_parameter(client, name):
        gets.append(name)
        if name == LOCK and len(gets) == 3:
            aws.parameters.pop(LOCK)  # the other release finishes
        return aws.parameters.get(name)

    monkeypatch.setattr(rel, "get_parameter", get_parameter)
    result, _ = run(aws, lock_wait=60, poll_interval=5.0)
    assert result["changed"]
    assert aws.sleeps[:2] == [5.0, 5.0]
    assert LOCK not in aws.parameters


def test_lock_wait_gives_up_after_lock_wait_seconds(aws):
    aws.parameters[LOCK] = json.dumps(HELD)
    error, _ = failure(aws, lock_wait=30, poll_interval=10.0)
    assert "is locked by ana@laptop" in error.msg
    assert sum(aws.sleeps) == 30
    assert json.loads(aws.parameters[LOCK]) == HELD


def test_break_lock_deletes_a_stale_lock_warns_and_takes_it(aws):
    aws.parameters[LOCK] = json.dumps(HELD)
    result, module = run(aws, break_lock=True)
    assert result["changed"]
    assert [c[0] for c in aws.mutating()][:3] == ["put_parameter", "delete_parameter", "put_parameter"]
    assert module.warnings == [f"broke the lock {LOCK} held by ana@laptop since 2024-06-01T10:00:00Z (release v1)"]
    assert result["release"]["lock_holder"] == "ana@laptop"
    assert LOCK not in aws.parameters


def test_our_lock_value_names_us_and_the_release(aws):
    aws.on_update = lambda params: aws.calls.append(("lock seen", json.loads(aws.parameters[LOCK])))
    run(aws)
    held = next(c[1] for c in aws.calls if c[0] == "lock seen")
    assert held["holder"] == "ci@runner" and held["release"] == "v2" and len(held["token"]) == 32
    assert held["since"].endswith("Z")


def test_the_lock_is_released_when_the_release_fails(aws):
    aws.migration["exit_code"] = 1
    failure(aws, migration={"service": SERVICES[0], "command": ["false"], "container": None, "timeout": 600})
    assert LOCK not in aws.parameters
    assert aws.calls[-1] == ("delete_parameter", {"name": LOCK})


def test_a_lock_that_is_not_ours_any_more_is_left_alone(aws):
    def steal(params):
        aws.parameters[LOCK] = json.dumps(dict(HELD, holder="bob@ci"))

    aws.on_update = steal
    result, module = run(aws)
    assert result["changed"]
    assert json.loads(aws.parameters[LOCK])["holder"] == "bob@ci"
    assert "delete_parameter" not in aws.names()
    assert any("held by bob@ci" in w for w in module.warnings)


# --- migration ----------------------------------------------------------------------------------------------------


MIGRATION = {"service": "wanzami-backend-service", "command": ["npx", "prisma", "migrate", "deploy"], "container": None,
             "timeout": 600}


def test_the_migration_runs_on_the_new_revision_with_the_services_network_before_any_update(aws):
    result, _ = run(aws, migration=MIGRATION, poll_interval=2.0)
    (task,) = [c[1] for c in aws.calls if c[0] == "run_task"]
    assert task == {"cluster": CLUSTER, "taskDefinition": ARN.format("wanzami-backend-task:5"), "count": 1,
                    "startedBy": "wanzami-release", "capacityProviderStrategy": STRATEGY, "networkConfiguration": NETWORK,
                    "overrides": {"containerOverrides": [{"name": "api", "command": ["npx", "prisma", "migrate", "deploy"]}]}}
    names = aws.names()
    assert names.index("run_task") < names.index("update_service")
    assert names.count("describe_tasks") == 3 and aws.sleeps == [2.0, 2.0]
    assert names.index("describe_tasks") < names.index("update_service")
    assert result["release"]["migration"] == {"task_arn": "arn:aws:ecs:us-east-2:123456789012:task/wanzami-cluster/m1",
                                              "container": "api", "exit_code": 0}


def test_a_failed_migration_leaves_the_services_untouched(aws):
    aws.migration.update(exit_code=1, reason=None)
    error, _ = failure(aws, migration=MIGRATION)
    assert error.msg == ("migration task arn:aws:ecs:us-east-2:123456789012:task/wanzami-cluster/m1 exited with 1 (Essential "
                         "container in task exited): services not updated; they still run wanzami-backend-task:4, "
                         "wanzami-worker-task:2, wanzami-worker-task:2, wanzami-cron-light:3")
    assert "update_service" not in aws.names() and "put_targets" not in aws.names()
    assert error.result["rolled_back"] is False
    assert error.result["release"]["migration"]["exit_code"] == 1
    assert RECORD not in aws.parameters


def test_a_migration_that_never_stops_fails_at_its_timeout(aws):
    aws.migration["polls"] = 10**6
    error, _ = failure(aws, migration=dict(MIGRATION, timeout=60), poll_interval=10.0)
    assert "did not stop within 60s (last status RUNNING; it may still be running): services not updated" in error.msg
    assert sum(aws.sleeps) == 60
    assert "update_service" not in aws.names()


def test_a_migration_container_that_does_not_exist_fails_the_pre_flight(aws):
    error, _ = failure(aws, migration=dict(MIGRATION, container="migrate"))
    assert error.msg == ("pre-flight failed: migration.container migrate is not a container of wanzami-backend-task:4 "
                         "(it has api, xray)")
    assert "register_task_definition" not in aws.names()


# --- waiting for the rollout --------------------------------------------------------------------------------------


def test_a_rollout_is_done_only_when_our_revision_is_primary_and_completed(aws):
    aws.rollouts["wanzami-worker-service"] = ["stale"]
    result, _ = run(aws, poll_interval=3.0)
    assert result["changed"]
    # First read: the stale view is not taken for a rollback; one poll later it shows our deployment completed.
    assert aws.sleeps == [3.0]


@pytest.mark.parametrize(("service", "state", "expected"), [
    ({"rolloutState": "COMPLETED"}, "done", None),
    ({"rolloutState": "IN_PROGRESS"}, "pending", None),
    ({"rolloutState": "FAILED", "rolloutStateReason": "tasks failed to start"}, "failed", "FAILED (tasks failed to start)"),
    ({"rolloutState": None, "runningCount": 2}, "done", None),
    ({"rolloutState": None, "runningCount": 1}, "pending", None),
    ({"taskDefinition": ARN.format("wanzami-backend-task:4")}, "failed",
     "runs wanzami-backend-task:4, not wanzami-backend-task:5"),
])
def test_rollout_state(service, state, expected):
    deployment = {"id": "ecs-svc/new", "status": "PRIMARY", "taskDefinition": ARN.format("wanzami-backend-task:5"),
                  "desiredCount": 2, "runningCount": 2}
    deployment.update(service)
    svc = {"taskDefinition": ARN.format("wanzami-backend-task:5"), "deployments": [deployment]}
    got, why = rel.rollout_state(svc, ARN.format("wanzami-backend-task:5"))
    assert got == state
    if expected:
        assert expected in why


def test_a_rolled_back_deployment_still_listed_as_failed_is_named():
    svc = {"taskDefinition": ARN.format("f:1"), "deployments": [
        {"id": "back", "status": "PRIMARY", "taskDefinition": ARN.format("f:1"), "rolloutState": "COMPLETED"},
        {"id": "ours", "status": "ACTIVE", "taskDefinition": ARN.format("f:2"), "rolloutState": "FAILED",
         "rolloutStateReason": "tasks failed to start"}]}
    assert rel.rollout_state(svc, ARN.format("f:2")) == (
        "failed",
        "the rollout of f:2 FAILED (tasks failed to start) and the deployment circuit breaker rolled the service back to f:1")


def test_without_rollout_state_two_deployments_are_not_done():
    deployments = [{"id": "n", "status": "PRIMARY", "taskDefinition": ARN.format("f:2"), "desiredCount": 2, "runningCount": 2},
                   {"id": "o", "status": "ACTIVE", "taskDefinition": ARN.format("f:1"), "desiredCount": 2, "runningCount": 2}]
    assert rel.rollout_state({"taskDefinition": ARN.format("f:2"), "deployments": deployments}, ARN.format("f:2"))[0] == "pending"


def test_a_stale_read_is_tolerated_only_right_after_the_update():
    old = {"taskDefinition": ARN.format("f:1"), "deployments": [
        {"id": "old", "status": "PRIMARY", "taskDefinition": ARN.format("f:1"), "rolloutState": "COMPLETED"}]}
    assert rel.rollout_state(old, ARN.format("f:2"), ("old",))[0] == "pending"
    assert rel.rollout_state(old, ARN.format("f:2"))[0] == "failed"


def test_a_circuit_breaker_rollback_is_a_failure_although_the_service_is_stable(aws):
    aws.rollouts["wanzami-worker-service"] = ["circuit_breaker", "complete"]
    error, _ = failure(aws)
    assert error.msg == (
        "release v2 failed: service wanzami-worker-service: its PRIMARY deployment runs wanzami-worker-task:2, not "
        "wanzami-worker-task:3: the deployment circuit breaker rolled it back, or another deployment replaced it; last events: "
        "rolling back to deployment ecs-svc/0: circuit breaker | task failed container health checks | task stopped. "
        "Rolled back: wanzami-backend-service -> wanzami-backend-task:4, wanzami-worker-service -> wanzami-worker-task:2, "
        f"wanzami-worker-cron-service -> wanzami-worker-task:2, {RULE} -> wanzami-cron-light:3 (restored fully)")
    assert error.result["rolled_back"] is True
    assert error.result["release"]["services"]["wanzami-backend-service"] == {
        "previous": "wanzami-backend-task:4", "current": "wanzami-backend-task:4", "changed": False}
    assert RECORD not in aws.parameters and LOCK not in aws.parameters
    assert "deregister_task_definition" not in aws.names()


def test_a_failed_rollout_state_is_rolled_back(aws):
    aws.rollouts["wanzami-backend-service"] = ["failed", "complete"]
    error, _ = failure(aws)
    assert error.msg.startswith("release v2 failed: service wanzami-backend-service: the rollout of wanzami-backend-task:5 "
                                "FAILED (ECS deployment circuit breaker: tasks failed to start.); last events: "
                                "(wanzami-backend-service) event 4 | (wanzami-backend-service) event 3 | "
                                "(wanzami-backend-service) event 2. Rolled back: ")
    assert error.msg.endswith("(restored fully)")


def test_a_rollout_that_does_not_finish_in_wait_timeout_is_rolled_back(aws):
    aws.rollouts["wanzami-backend-service"] = ["slow", "complete"]
    error, _ = failure(aws, wait_timeout=60, poll_interval=25.0)
    assert error.msg.startswith("release v2 failed: service wanzami-backend-service: did not finish rolling out "
                                "wanzami-backend-task:5 within 60s (rollout IN_PROGRESS, 0/2 tasks running, 2 deployments); "
                                "last events: ")
    assert aws.sleeps[:3] == [25.0, 25.0, 10.0]
    rollback = [c[1] for c in aws.calls if c[0] == "update_service"][3:]
    assert [u["taskDefinition"] for u in rollback] == [ARN.format("wanzami-backend-task:4"), ARN.format("wanzami-worker-task:2"),
                                                       ARN.format("wanzami-worker-task:2")]


def test_a_rollback_that_does_not_finish_says_so(aws):
    aws.rollouts["wanzami-backend-service"] = ["failed", "slow"]
    error, _ = failure(aws, wait_timeout=30, poll_interval=10.0)
    assert "Rolled back: wanzami-backend-service -> wanzami-backend-task:4" in error.msg
    assert ("(restore did not finish: service wanzami-backend-service: did not finish rolling out wanzami-backend-task:4 "
            "within 30s") in error.msg
    assert error.result["rolled_back"] is True


def test_rollback_on_failure_false_leaves_the_release_in_place(aws):
    aws.rollouts["wanzami-backend-service"] = ["failed"]
    error, _ = failure(aws, rollback_on_failure=False)
    assert "Not rolled back (rollback_on_failure=false): wanzami-backend-service runs wanzami-backend-task:5 (was " \
           "wanzami-backend-task:4)" in error.msg
    assert len([c for c in aws.calls if c[0] == "update_service"]) == 3
    assert error.result["rolled_back"] is False


# --- the first release: services waiting at 0 for their first image ------------------------------------------------

COUNTS = {"wanzami-backend-service": 2, "wanzami-worker-service": 1, "wanzami-worker-cron-service": 1}


def waiting(aws, *names):
    """names wait at desired count 0 (role ecs_service created them so, their image not pushed yet)."""
    for name in names:
        aws.services[name]["desiredCount"] = 0
        aws.services[name]["runningCount"] = 0


def counts_updated(aws):
    return [(c[1]["service"], c[1].get("desiredCount")) for c in aws.calls if c[0] == "update_service"]


def test_the_first_release_starts_the_services_waiting_at_zero_and_no_other(aws):
    waiting(aws, "wanzami-backend-service", "wanzami-worker-service")
    result, _ = run(aws, desired_counts=COUNTS)
    assert counts_updated(aws) == [("wanzami-backend-service", 2), ("wanzami-worker-service", 1),
                                   ("wanzami-worker-cron-service", None)]
    assert result["release"]["services"]["wanzami-backend-service"]["desired_count"] == {"before": 0, "after": 2}
    assert "desired_count" not in result["release"]["services"]["wanzami-worker-cron-service"]
    assert json.loads(aws.parameters[RECORD])["images"] == {"wanzami-backend": PINNED}


def test_a_dry_run_of_the_first_release_says_it_would_start_them_and_changes_nothing(aws):
    waiting(aws, *SERVICES)
    result, _ = run(aws, check_mode=True, desired_counts=COUNTS)
    assert result["changed"]
    assert {n: s["desired_count"] for n, s in result["release"]["services"].items()} == {
        n: {"before": 0, "after": c} for n, c in COUNTS.items()}
    assert aws.mutating() == []


def test_after_a_release_a_service_scaled_to_zero_stays_there(aws):
    # Someone scaled the worker to 0 on purpose (runbooks/scale.yml) after the first release.
    aws.parameters[RECORD] = json.dumps({"tag": "v1", "digest": OLD_DIGEST, "image": f"{REPO}@{OLD_DIGEST}",
                                         "images": {"wanzami-backend": f"{REPO}@{OLD_DIGEST}"}})
    waiting(aws, "wanzami-worker-service")
    result, _ = run(aws, desired_counts=COUNTS)
    assert [count for _, count in counts_updated(aws)] == [None, None, None]
    assert "desired_count" not in result["release"]["services"]["wanzami-worker-service"]


def test_the_first_release_of_another_repository_starts_its_services(aws):
    # The record is of another repository's releases only: this is still this repository's first.
    frontend = f"{REGISTRY}/wanzami-frontend@{OLD_DIGEST}"
    aws.parameters[RECORD] = json.dumps({"tag": "f1", "images": {"wanzami-frontend": frontend}})
    waiting(aws, "wanzami-worker-service")
    run(aws, desired_counts=COUNTS)
    assert ("wanzami-worker-service", 1) in counts_updated(aws)


def test_a_failed_first_release_puts_the_services_it_started_back_to_zero(aws):
    waiting(aws, "wanzami-backend-service", "wanzami-worker-service")
    aws.http = [503]
    error, _ = failure(aws, desired_counts=COUNTS, smoke_test=SMOKE)
    assert ("Rolled back: wanzami-backend-service -> wanzami-backend-task:4 (0 tasks), "
            "wanzami-worker-service -> wanzami-worker-task:2 (0 tasks), "
            "wanzami-worker-cron-service -> wanzami-worker-task:2,") in error.msg
    assert counts_updated(aws)[3:] == [("wanzami-backend-service", 0), ("wanzami-worker-service", 0),
                                       ("wanzami-worker-cron-service", None)]
    assert {n: s["desiredCount"] for n, s in aws.services.items()} == {
        "wanzami-backend-service": 0, "wanzami-worker-service": 0, "wanzami-worker-cron-service": 2}
    assert RECORD not in aws.parameters, "no record: the next release is still the first"


@pytest.mark.parametrize(("params", "message"), [
    ({"desired_counts": COUNTS, "record_parameter": None}, "desired_counts needs record_parameter"),
    ({"desired_counts": {"nope": 1}}, "desired_counts names services that are not in services: nope"),
    ({"desired_counts": {"wanzami-worker-service": -1}}, "desired_counts must map each service to a whole number of tasks"),
    ({"desired_counts": {"wanzami-worker-service": "two"}}, "desired_counts must map each service to a whole number"),
])
def test_bad_desired_counts_are_refused_before_any_call(params, message):
    assert message in rel.validate(FakeModule(**params).params)


def test_desired_counts_given_as_text_are_numbers():
    params = FakeModule(desired_counts={"wanzami-worker-service": "2"}).params
    assert rel.validate(params) is None and params["desired_counts"] == {"wanzami-worker-service": 2}


# --- smoke test ---------------------------------------------------------------------------------------------------




def test_the_smoke_test_retries_until_the_status_matches(aws):
    aws.http = [502, None, 200]
    result, _ = run(aws, smoke_test=SMOKE)
    assert result["release"]["smoke_test"] == {"url": SMOKE["url"], "status": 200}
    assert aws.names().count("http_status") == 3
    assert aws.sleeps == [5.0, 5.0]


def test_the_smoke_test_goes_through_the_load_balancer_found_by_name(aws):
    result, _ = run(aws, smoke_test=SMOKE_THROUGH_ALB)
    assert result["release"]["smoke_test"] == {"url": "http://wanzami-alb-123.us-east-2.elb.amazonaws.com/health", "status": 200}
    assert aws.names().index("load_balancer_dns_name") < aws.names().index("put_parameter"), "found before the lock"


ALB = "wanzami-alb-123.us-east-2.elb.amazonaws.com"


@pytest.mark.parametrize(("through", "url", "address", "check_hostname"), [
    # HTTP :80, no host rule (seed 000): the load balancer's name.
    ({}, f"http://{ALB}/health", None, True),
    # HTTPS (seed 003): its certificate is the domain's, so the chain is verified, not the name.
    ({"scheme": "https"}, f"https://{ALB}/health", None, False),
    # The API routed by host (seed 004's api.<domain>) over HTTPS: that name, verified, through the load balancer.
    ({"scheme": "https", "host": "api.revendiste.example"}, "https://api.revendiste.example/health", ALB, True),
    ({"scheme": "http", "host": "api.revendiste.example"}, "http://api.revendiste.example/health", ALB, True),
])
def test_the_smoke_test_follows_the_listeners_scheme_and_host(aws, through, url, address, check_hostname):
    result, _ = run(aws, smoke_test={**SMOKE_THROUGH_ALB, "scheme": "http", "host": None, **through})
    (call,) = [c[1] for c in aws.calls if c[0] == "http_status"]
    assert call == {"url": url, "address": address, "check_hostname": check_hostname}
    assert result["release"]["smoke_test"] == {"url": url, "status": 200, **({"through": ALB} if address else {})}


@pytest.mark.parametrize(("smoke", "message"), [
    ({**SMOKE, "host": "api.example.com"}, "smoke_test.host goes with smoke_test.load_balancer"),
    ({**SMOKE_THROUGH_ALB, "host": "https://api.example.com"}, "smoke_test.host must be a host name"),
    ({**SMOKE_THROUGH_ALB, "host": "*.example.com"}, "smoke_test.host must be a host name"),
])
def test_a_bad_smoke_test_host_is_refused(smoke, message):
    assert message in rel.validate(FakeModule(smoke_test=smoke).params)


def test_http_status_through_an_address_sends_the_host_name():
    import threading
    from http.server import BaseHTTPRequestHandler
    from http.server import ThreadingHTTPServer

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append((self.headers["Host"], self.path))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert rel.http_status(f"http://api.example.com:{port}/health?x=1", 5, address="127.0.0.1") == (204, None)
    finally:
        server.shutdown()
    assert seen == [(f"api.example.com:{port}", "/health?x=1")]


def test_a_missing_load_balancer_fails_the_release_before_the_lock(aws):
    aws.load_balancers = {}
    error, _ = failure(aws, smoke_test=SMOKE_THROUGH_ALB)
    assert error.msg == "load balancer wanzami-alb does not exist: the smoke test goes through it"
    assert aws.mutating() == []


def test_a_failed_smoke_test_rolls_back_every_changed_service_and_scheduled_task(aws):
    aws.http = [503]
    error, _ = failure(aws, smoke_test=SMOKE)
    assert error.msg == (
        f"release v2 failed: smoke test GET {SMOKE['url']} answered 503, not 200, for 60s. Rolled back: "
        "wanzami-backend-service -> wanzami-backend-task:4, wanzami-worker-service -> wanzami-worker-task:2, "
        f"wanzami-worker-cron-service -> wanzami-worker-task:2, {RULE} -> wanzami-cron-light:3 (restored fully)")
    updates = [c[1] for c in aws.calls if c[0] == "update_service"]
    assert [rel.ref(u["taskDefinition"]) for u in updates[3:]] == ["wanzami-backend-task:4", "wanzami-worker-task:2",
                                                                   "wanzami-worker-task:2"]
    puts = [c[1] for c in aws.calls if c[0] == "put_targets"]
    assert [p["targets"][0]["EcsParameters"]["TaskDefinitionArn"] for p in puts] == [ARN.format("wanzami-cron-light:4"),
                                                                                     ARN.format("wanzami-cron-light:3")]
    assert error.result["release"]["smoke_test"] == {"url": SMOKE["url"], "status": 503}
    assert error.result["rolled_back"] is True
    # The services really run their old revisions again.
    assert {n: rel.ref(s["taskDefinition"]) for n, s in aws.services.items()} == {
        "wanzami-backend-service": "wanzami-backend-task:4", "wanzami-worker-service": "wanzami-worker-task:2",
        "wanzami-worker-cron-service": "wanzami-worker-task:2"}


def test_only_what_the_release_changed_is_rolled_back(aws):
    # The backend already runs the pinned image: the release changes the workers and the rule only.
    aws.definitions["wanzami-backend-task:4"]["containerDefinitions"][0]["image"] = PINNED
    aws.http = [None]
    error, _ = failure(aws, smoke_test=SMOKE)
    assert "did not answer (Connection refused), not 200, for 60s. Rolled back: wanzami-worker-service" in error.msg
    assert "wanzami-backend-service ->" not in error.msg
    assert [c[1]["service"] for c in aws.calls if c[0] == "update_service"] == [
        "wanzami-worker-service", "wanzami-worker-cron-service", "wanzami-worker-service", "wanzami-worker-cron-service"]


# --- the record ---------------------------------------------------------------------------------------------------


def test_the_record_names_the_release_the_previous_one_and_every_repositorys_image(aws):
    before = {"tag": "v1", "digest": OLD_DIGEST, "image": f"{REPO}@{OLD_DIGEST}", "repository": "wanzami-backend",
              "time": "2024-06-01T10:00:00Z", "who": "ana@laptop",
              "services": {"wanzami-backend-service": "wanzami-backend-task:4", "wanzami-worker-service": "wanzami-worker-task:2",
                           "wanzami-worker-cron-service": "wanzami-worker-task:2"},
              "scheduled_tasks": {RULE: "wanzami-cron-light:3"},
              "images": {"wanzami-backend": f"{REPO}@{OLD_DIGEST}", "wanzami-frontend": f"{REGISTRY}/wanzami-frontend@sha256:f"},
              "previous": {"tag": "v0"}}
    aws.parameters[RECORD] = json.dumps(before)
    result, _ = run(aws)
    record = json.loads(aws.parameters[RECORD])
    assert record == result["release"]["record"]
    assert record["time"].endswith("Z")
    assert {k: v for k, v in record.items() if k != "time"} == {
        "tag": "v2", "digest": DIGEST, "image": PINNED, "repository": "wanzami-backend", "who": "ci@runner",
        "services": {"wanzami-backend-service": "wanzami-backend-task:5", "wanzami-worker-service": "wanzami-worker-task:3",
                     "wanzami-worker-cron-service": "wanzami-worker-task:3"},
        "scheduled_tasks": {RULE: "wanzami-cron-light:4"},
        "images": {"wanzami-backend": PINNED, "wanzami-frontend": f"{REGISTRY}/wanzami-frontend@sha256:f"},
        "previous": {k: before[k] for k in ("tag", "digest", "image", "time", "who", "services", "scheduled_tasks")},
    }
    (write,) = [c[1] for c in aws.calls if c[0] == "put_parameter" and c[1]["name"] == RECORD]
    assert write["overwrite"] is True


def test_the_first_record_remembers_what_ran_before(aws):
    result, _ = run(aws)
    previous = result["release"]["record"]["previous"]
    assert previous["tag"] is None
    assert previous["services"]["wanzami-backend-service"] == "wanzami-backend-task:4"
    assert previous["scheduled_tasks"] == {RULE: "wanzami-cron-light:3"}


def test_a_failed_release_writes_no_record(aws):
    aws.http = [500]
    failure(aws, smoke_test=SMOKE)
    assert RECORD not in aws.parameters


# --- to_previous --------------------------------------------------------------------------------------------------


def test_to_previous_goes_back_to_the_recorded_revisions_and_twice_returns(aws):
    run(aws, image_tag="v2")
    first = json.loads(aws.parameters[RECORD])
    aws.calls.clear()
    result, _ = run(aws, image_tag=None, to_previous=True)
    assert "describe_image" not in aws.names() and "register_task_definition" not in aws.names()
    assert "describe_task_definition" not in aws.names()
    assert [c[1]["taskDefinition"] for c in aws.calls if c[0] == "update_service"] == [
        ARN.format("wanzami-backend-task:4"), ARN.format("wanzami-worker-task:2"), ARN.format("wanzami-worker-task:2")]
    assert [c[1]["targets"][0]["EcsParameters"]["TaskDefinitionArn"] for c in aws.calls if c[0] == "put_targets"] == [
        ARN.format("wanzami-cron-light:3")]
    assert result["diff"]["after"]["wanzami-backend-service"] == "wanzami-backend-task:4"
    record = json.loads(aws.parameters[RECORD])
    assert record["services"] == first["previous"]["services"]
    assert record["previous"]["digest"] == DIGEST and record["previous"]["services"] == first["services"]
    assert "deregister_task_definition" not in aws.names()
    # Rolling back again returns to the release rolled back from.
    aws.calls.clear()
    run(aws, image_tag=None, to_previous=True)
    assert [rel.ref(c[1]["taskDefinition"]) for c in aws.calls if c[0] == "update_service"] == [
        "wanzami-backend-task:5", "wanzami-worker-task:3", "wanzami-worker-task:3"]
    assert json.loads(aws.parameters[RECORD])["digest"] == DIGEST


def test_to_previous_does_not_run_the_migration(aws):
    run(aws)
    result, module = run(aws, image_tag=None, to_previous=True, migration=MIGRATION)
    assert "run_task" not in aws.names()
    assert result["release"]["migration"] == {}
    assert module.warnings == ["to_previous does not run the migration: a rollback never migrates the database backwards"]


@pytest.mark.parametrize(("record", "message"), [
    (None, f"to_previous: there is no release record {RECORD}: nothing to go back to"),
    ({"tag": "v2", "services": {}}, f"to_previous: the release record {RECORD} has no previous release to go back to"),
    ({"tag": "v2", "previous": {"services": {"wanzami-backend-service": "wanzami-backend-task:3"}}},
     f"to_previous: the previous release in {RECORD} does not name wanzami-worker-service, wanzami-worker-cron-service, "
     f"{RULE}: no revision to go back to"),
])
def test_to_previous_without_a_previous_release_fails(aws, record, message):
    if record is not None:
        aws.parameters[RECORD] = json.dumps(record)
    error, _ = failure(aws, image_tag=None, to_previous=True)
    assert error.msg == message
    assert "update_service" not in aws.names()
    assert LOCK not in aws.parameters


def test_to_previous_in_check_mode_shows_the_revisions(aws):
    run(aws)
    aws.calls.clear()
    result, _ = run(aws, check_mode=True, image_tag=None, to_previous=True)
    assert aws.mutating() == []
    assert result["diff"]["before"]["wanzami-backend-service"] == "wanzami-backend-task:5"
    assert result["diff"]["after"]["wanzami-backend-service"] == "wanzami-backend-task:4"


# --- prune --------------------------------------------------------------------------------------------------------


def test_prune_keeps_the_newest_revisions_and_the_previous_one(aws):
    # wanzami-backend-task has revisions 1..4 (4 runs now); the release registers 5.
    for revision in (1, 2, 3):
        aws.definitions[f"wanzami-backend-task:{revision}"] = definition("wanzami-backend-task", revision, f"{REPO}:old")
    # Another family that familyPrefix also matches must be left alone.
    aws.definitions["wanzami-backend-task-canary:1"] = definition("wanzami-backend-task-canary", 1, f"{REPO}:old")
    result, _ = run(aws, keep_revisions=1)
    deregistered = [rel.ref(c[1]["arn"]) for c in aws.calls if c[0] == "deregister_task_definition"]
    assert sorted(deregistered) == ["wanzami-backend-task:1", "wanzami-backend-task:2", "wanzami-backend-task:3"]
    assert aws.definitions["wanzami-backend-task:4"]["status"] == "ACTIVE"  # the previous one
    assert aws.definitions["wanzami-backend-task-canary:1"]["status"] == "ACTIVE"
    assert sorted(result["release"]["pruned"]) == sorted(deregistered)
    record = next(i for i, c in enumerate(aws.calls) if c[0] == "put_parameter" and c[1]["name"] == RECORD)
    assert aws.names().index("deregister_task_definition") > record


def test_keep_revisions_zero_keeps_everything(aws):
    run(aws, keep_revisions=0)
    assert "list_task_definitions" not in aws.names()


def test_prune_keeps_the_newest_n(aws):
    for revision in (1, 2, 3):
        aws.definitions[f"wanzami-backend-task:{revision}"] = definition("wanzami-backend-task", revision, f"{REPO}:old")
    run(aws, keep_revisions=3)
    assert [rel.ref(c[1]["arn"]) for c in aws.calls if c[0] == "deregister_task_definition"] == [
        "wanzami-backend-task:2", "wanzami-backend-task:1"]


# --- the HTTP call itself -----------------------------------------------------------------------------------------


def test_http_status_reports_any_status_and_no_answer():
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert rel.http_status(f"http://127.0.0.1:{port}/health", 5) == (200, None)
        assert rel.http_status(f"http://127.0.0.1:{port}/down", 5) == (503, None)
    finally:
        server.shutdown()
        server.server_close()
    status, reason = rel.http_status(f"http://127.0.0.1:{port}/health", 2)
    assert status is None and reason


def test_the_lock_and_the_record_are_written_with_the_tags(aws):
    ours = {"project": "wanzami", "environment": "production", "managed-by": "ansible"}
    run(aws, tags=ours)
    writes = {c[1]["name"]: c[1]["tags"] for c in aws.calls if c[0] == "put_parameter"}
    assert writes == {LOCK: ours, RECORD: ours}


class FakeSSM:
    def __init__(self, exists=False):
        self.exists = exists
        self.calls = []

    def put_parameter(self, **params):
        self.calls.append(("put_parameter", params))
        if self.exists and not params["Overwrite"]:
            raise ClientError({"Error": {"Code": "ParameterAlreadyExists", "Message": "exists"}},
                              "PutParameter")

    def add_tags_to_resource(self, **params):
        self.calls.append(("add_tags_to_resource", params))


def test_put_parameter_tags_a_new_parameter_with_its_creation_and_an_overwritten_one_after():
    ours = {"project": "wanzami", "managed-by": "ansible"}
    tag_list = [{"Key": "managed-by", "Value": "ansible"}, {"Key": "project", "Value": "wanzami"}]
    ssm = FakeSSM()
    assert rel.put_parameter(ssm, "/p/lock", "v", overwrite=False, tags=ours)
    assert ssm.calls == [("put_parameter", {"Name": "/p/lock", "Value": "v", "Type": "String", "Overwrite": False,
                                            "Tags": tag_list})]
    ssm = FakeSSM(exists=True)
    assert rel.put_parameter(ssm, "/p/record", "v", overwrite=True, tags=ours)
    assert ssm.calls == [
        ("put_parameter", {"Name": "/p/record", "Value": "v", "Type": "String", "Overwrite": True}),
        ("add_tags_to_resource", {"ResourceType": "Parameter", "ResourceId": "/p/record", "Tags": tag_list}),
    ]
    ssm = FakeSSM(exists=True)
    assert rel.put_parameter(ssm, "/p/lock", "v", overwrite=False, tags=ours) is False
    assert [c[0] for c in ssm.calls] == ["put_parameter"]


def test_the_dry_runs_diff_is_the_container_definitions_with_only_our_image_changed(aws):
    result, _ = run(aws, check_mode=True)
    before, after = result["diff"]["before"]["wanzami-backend-service"], result["diff"]["after"]["wanzami-backend-service"]
    assert before["taskDefinition"] == "wanzami-backend-task:4"
    assert after["taskDefinition"] == "wanzami-backend-task:(new revision)"
    changed = [(b, a) for b, a in zip(before["containerDefinitions"], after["containerDefinitions"], strict=True) if b != a]
    assert [(b["image"], a["image"]) for b, a in changed] == [(f"{REPO}:latest", PINNED)]
    assert [{k: v for k, v in a.items() if k != "image"} for _, a in changed] == [
        {k: v for k, v in b.items() if k != "image"} for b, _ in changed]
