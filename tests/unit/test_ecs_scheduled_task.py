"""wanzami.infra.ecs_scheduled_task with the boto layer patched at the module_utils seam."""

import json

import pytest

from ansible_collections.wanzami.infra.plugins.modules import ecs_scheduled_task as mod

NAME = "wanzami-cron-sync-payments"
RULE_ARN = f"arn:aws:events:us-east-2:123456789012:rule/{NAME}"
CLUSTER = "arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster"
TASK_DEFINITION = "arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-cron-light:3"
ROLE = "arn:aws:iam::123456789012:role/wanzami-events-run-task"
OVERRIDES = [{"name": "cron", "command": ["node", "dist/scripts/run-job.js", "sync-payments"],
              "environment": [{"name": "JOB", "value": "sync-payments"}]}]
MUTATING = ("put_rule", "put_targets", "remove_targets", "delete_rule", "tag_resource", "untag_resource")


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {
            "name": NAME, "state": "present", "schedule_expression": "cron(0/15 * * * ? *)", "enabled": True,
            "description": "sync-payments every 15 minutes", "cluster_arn": CLUSTER, "task_definition_arn": TASK_DEFINITION,
            "task_count": 1, "role_arn": ROLE, "launch_type": "FARGATE", "capacity_provider_strategy": None,
            "platform_version": "LATEST",
            "network_configuration": {"subnets": ["subnet-b", "subnet-a"], "security_groups": ["sg-cron"],
                                      "assign_public_ip": True},
            "container_overrides": OVERRIDES, "propagate_tags": "TASK_DEFINITION", "enable_ecs_managed_tags": True,
            "tags": {"project": "wanzami"}, "purge_tags": True,
        }
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])


def rule(**overrides):
    found = {"Name": NAME, "Arn": RULE_ARN, "ScheduleExpression": "cron(0/15 * * * ? *)", "State": "ENABLED",
             "Description": "sync-payments every 15 minutes", "EventBusName": "default"}
    found.update(overrides)
    return found


def target(ecs=None, **overrides):
    """Our target as list_targets_by_rule returns it; subnets in the other order than the module's params."""
    parameters = {"TaskDefinitionArn": TASK_DEFINITION, "TaskCount": 1, "LaunchType": "FARGATE",
                  "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-a", "subnet-b"],
                                                                   "SecurityGroups": ["sg-cron"], "AssignPublicIp": "ENABLED"}},
                  "PlatformVersion": "LATEST", "EnableECSManagedTags": True, "PropagateTags": "TASK_DEFINITION"}
    parameters.update(ecs or {})
    # Input with other key order and spacing than the module writes.
    found = {"Id": NAME, "Arn": CLUSTER, "RoleArn": ROLE, "EcsParameters": parameters,
             "Input": json.dumps({"containerOverrides": [dict(reversed(list(o.items()))) for o in OVERRIDES]}, indent=2)}
    found.update(overrides)
    return found


@pytest.fixture
def aws(monkeypatch):
    """Reads return state's rule, targets and tags; mutating calls are recorded with their arguments."""
    state = {"rule": None, "targets": [], "tags": {}, "calls": [], "put_targets": {"FailedEntryCount": 0, "FailedEntries": []},
             "remove_targets": {"FailedEntryCount": 0, "FailedEntries": []}}

    monkeypatch.setattr(mod, "describe_rule", lambda client, name: state["rule"])
    monkeypatch.setattr(mod, "list_targets_by_rule", lambda client, name: list(state["targets"]))
    monkeypatch.setattr(mod, "list_tags", lambda client, arn: dict(state["tags"]))

    def record(name, result=None):
        def call(client, *args, **kwargs):
            state["calls"].append((name, args, kwargs))
            return state.get(name, result)
        return call

    monkeypatch.setattr(mod, "put_rule", record("put_rule", RULE_ARN))
    for name in MUTATING[1:]:
        monkeypatch.setattr(mod, name, record(name))
    return state


def converged(aws):
    aws.update(rule=rule(), targets=[target()], tags={"project": "wanzami"})


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_the_rule_its_target_and_tags(aws, check_mode):
    changed, result, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed
    assert diff["before"] == {}
    assert diff["after"]["rule"] == {"name": NAME, "schedule_expression": "cron(0/15 * * * ? *)", "state": "ENABLED",
                                     "description": "sync-payments every 15 minutes"}
    assert diff["after"]["target"]["network_configuration"] == {"subnets": ["subnet-a", "subnet-b"],
                                                                "security_groups": ["sg-cron"], "assign_public_ip": True}
    assert diff["after"]["tags"] == {"project": "wanzami"}
    assert result["target"]["container_overrides"] == OVERRIDES
    if check_mode:
        assert aws["calls"] == []
        assert result["rule"]["arn"] is None
        return
    assert [c[0] for c in aws["calls"]] == ["put_rule", "put_targets", "tag_resource"]
    (_, _, put), (_, (rule_name, targets), _), (_, (arn, tags), _) = aws["calls"]
    assert put == {"Name": NAME, "ScheduleExpression": "cron(0/15 * * * ? *)", "State": "ENABLED",
                   "Description": "sync-payments every 15 minutes"}
    assert rule_name == NAME
    ((sent,),) = [targets]
    assert sent["Id"] == NAME and sent["Arn"] == CLUSTER and sent["RoleArn"] == ROLE
    assert sent["EcsParameters"] == {
        "TaskDefinitionArn": TASK_DEFINITION, "TaskCount": 1, "LaunchType": "FARGATE", "PlatformVersion": "LATEST",
        "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-b", "subnet-a"], "SecurityGroups": ["sg-cron"],
                                                         "AssignPublicIp": "ENABLED"}},
        "EnableECSManagedTags": True, "PropagateTags": "TASK_DEFINITION"}
    assert json.loads(sent["Input"]) == {"containerOverrides": OVERRIDES}
    assert (arn, tags) == (RULE_ARN, {"project": "wanzami"})
    assert result["rule"]["arn"] == RULE_ARN


@pytest.mark.parametrize("check_mode", [True, False])
def test_converged_makes_no_call(aws, check_mode):
    # Subnet order, Input key order and spacing are not changes.
    converged(aws)
    changed, result, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert not changed
    assert aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert result["rule"]["arn"] == RULE_ARN


def test_a_description_not_given_is_kept(aws):
    converged(aws)
    changed, result, _ = mod.ensure_present(FakeModule(description=None), None)
    assert not changed and aws["calls"] == []
    assert result["rule"]["description"] == "sync-payments every 15 minutes"


def test_a_new_schedule_is_put_rule_only(aws):
    converged(aws)
    changed, _, diff = mod.ensure_present(FakeModule(schedule_expression="rate(30 minutes)"), None)
    assert changed
    assert aws["calls"] == [("put_rule", (), {"Name": NAME, "ScheduleExpression": "rate(30 minutes)", "State": "ENABLED",
                                              "Description": "sync-payments every 15 minutes"})]
    assert diff["before"]["rule"]["schedule_expression"] == "cron(0/15 * * * ? *)"
    assert diff["after"]["rule"]["schedule_expression"] == "rate(30 minutes)"
    assert diff["before"]["target"] == diff["after"]["target"]


def test_disabling_is_put_rule_only(aws):
    converged(aws)
    changed, _, _ = mod.ensure_present(FakeModule(enabled=False), None)
    assert changed
    ((name, _, params),) = aws["calls"]
    assert name == "put_rule" and params["State"] == "DISABLED"


def test_subnet_and_group_order_is_not_a_change(aws):
    converged(aws)
    network = {"subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-cron"], "assign_public_ip": True}
    changed, _, _ = mod.ensure_present(FakeModule(network_configuration=network), None)
    assert not changed
    assert aws["calls"] == []


@pytest.mark.parametrize("network", [
    {"subnets": ["subnet-a", "subnet-c"], "security_groups": ["sg-cron"], "assign_public_ip": True},
    {"subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-cron", "sg-db"], "assign_public_ip": True},
    {"subnets": ["subnet-a", "subnet-b"], "security_groups": ["sg-cron"], "assign_public_ip": False},
])
def test_a_network_change_is_put_targets_only(aws, network):
    converged(aws)
    changed, _, diff = mod.ensure_present(FakeModule(network_configuration=network), None)
    assert changed
    ((name, (rule_name, (sent,)), _),) = aws["calls"]
    assert (name, rule_name) == ("put_targets", NAME)
    vpc = sent["EcsParameters"]["NetworkConfiguration"]["awsvpcConfiguration"]
    assert vpc["Subnets"] == network["subnets"]
    assert vpc["AssignPublicIp"] == ("ENABLED" if network["assign_public_ip"] else "DISABLED")
    assert diff["before"]["rule"] == diff["after"]["rule"]
    assert diff["after"]["target"]["network_configuration"]["security_groups"] == sorted(network["security_groups"])


@pytest.mark.parametrize(("params", "field"), [
    ({"task_definition_arn": "arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-cron-light:4"}, "task_definition_arn"),
    ({"task_count": 2}, "task_count"),
    ({"container_overrides": [{"name": "cron", "command": ["node", "dist/scripts/run-job.js", "notifications"]}]},
     "container_overrides"),
    ({"container_overrides": None}, "container_overrides"),
    ({"propagate_tags": "NONE"}, "propagate_tags"),
    ({"enable_ecs_managed_tags": False}, "enable_ecs_managed_tags"),
    ({"launch_type": None, "capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT"}]}, "capacity_provider_strategy"),
])
def test_a_target_change_is_put_targets_only(aws, params, field):
    converged(aws)
    changed, _, diff = mod.ensure_present(FakeModule(**params), None)
    assert changed
    assert [c[0] for c in aws["calls"]] == ["put_targets"]
    changed_fields = {k for k in diff["after"]["target"] if diff["before"]["target"].get(k) != diff["after"]["target"][k]}
    assert field in changed_fields


def test_a_strategy_is_sent_without_launch_type_and_compared_in_any_order(aws):
    strategy = [{"capacity_provider": "FARGATE_SPOT", "weight": 3, "base": 0},
                {"capacity_provider": "FARGATE", "weight": 1, "base": 1}]
    mod.ensure_present(FakeModule(launch_type=None, capacity_provider_strategy=strategy), None)
    ecs = aws["calls"][1][1][1][0]["EcsParameters"]
    assert "LaunchType" not in ecs
    assert ecs["PlatformVersion"] == "LATEST"
    assert ecs["CapacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
                                              {"capacityProvider": "FARGATE", "weight": 1, "base": 1}]
    stored = target(ecs={"CapacityProviderStrategy": list(reversed(ecs["CapacityProviderStrategy"]))})
    del stored["EcsParameters"]["LaunchType"]
    aws.update(rule=rule(), targets=[stored], tags={"project": "wanzami"}, calls=[])
    changed, _, _ = mod.ensure_present(FakeModule(launch_type=None, capacity_provider_strategy=strategy), None)
    assert not changed and aws["calls"] == []


def test_ec2_without_strategy_sends_no_platform_version(aws):
    mod.ensure_present(FakeModule(launch_type="EC2", network_configuration=None), None)
    ecs = aws["calls"][1][1][1][0]["EcsParameters"]
    assert ecs["LaunchType"] == "EC2"
    assert "PlatformVersion" not in ecs and "NetworkConfiguration" not in ecs


def test_a_stray_target_is_removed(aws):
    converged(aws)
    aws["targets"].append({"Id": "hand-made", "Arn": "arn:aws:sqs:us-east-2:123456789012:queue"})
    changed, _, diff = mod.ensure_present(FakeModule(), None)
    assert changed
    assert aws["calls"] == [("remove_targets", (NAME, ["hand-made"]), {})]
    assert diff["before"]["other_target_ids"] == ["hand-made"]
    assert diff["after"]["other_target_ids"] == []


def test_a_stray_target_is_removed_before_ours_is_put(aws):
    aws.update(rule=rule(), targets=[{"Id": "hand-made", "Arn": CLUSTER}], tags={"project": "wanzami"})
    mod.ensure_present(FakeModule(), None)
    assert [c[0] for c in aws["calls"]] == ["remove_targets", "put_targets"]


def test_failed_entries_of_put_targets_fail_with_their_message(aws):
    converged(aws)
    aws["put_targets"] = {"FailedEntryCount": 1, "FailedEntries": [
        {"TargetId": NAME, "ErrorCode": "ValidationException", "ErrorMessage": "Subnets are invalid"}]}
    with pytest.raises(Failed, match=r"could not put target .*ValidationException: Subnets are invalid"):
        mod.ensure_present(FakeModule(task_count=2), None)
    assert [c[0] for c in aws["calls"]] == ["put_targets"]


def test_failed_entries_of_remove_targets_fail_with_their_message(aws):
    converged(aws)
    aws["targets"].append({"Id": "hand-made", "Arn": CLUSTER})
    aws["remove_targets"] = {"FailedEntryCount": 1, "FailedEntries": [
        {"TargetId": "hand-made", "ErrorCode": "InternalException", "ErrorMessage": "try again"}]}
    with pytest.raises(Failed, match="hand-made: InternalException: try again"):
        mod.ensure_present(FakeModule(), None)


def test_check_mode_makes_no_mutating_call_and_shows_the_diff(aws):
    converged(aws)
    aws["targets"].append({"Id": "hand-made", "Arn": CLUSTER})
    aws["tags"] = {"project": "wanzami", "owner": "console"}
    module = FakeModule(check_mode=True, schedule_expression="cron(0 3 * * ? *)", task_count=2)
    changed, _, diff = mod.ensure_present(module, None)
    assert changed
    assert aws["calls"] == []
    assert (diff["before"]["rule"]["schedule_expression"], diff["after"]["rule"]["schedule_expression"]) == (
        "cron(0/15 * * * ? *)", "cron(0 3 * * ? *)")
    assert (diff["before"]["target"]["task_count"], diff["after"]["target"]["task_count"]) == (1, 2)
    assert (diff["before"]["tags"], diff["after"]["tags"]) == ({"owner": "console", "project": "wanzami"},
                                                               {"project": "wanzami"})
    assert diff["before"]["other_target_ids"] == ["hand-made"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_tags_are_reconciled_on_the_rule(aws, check_mode):
    converged(aws)
    aws["tags"] = {"project": "wanzami", "owner": "console"}
    changed, result, _ = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed
    assert aws["calls"] == ([] if check_mode else [("untag_resource", (RULE_ARN, ["owner"]), {})])
    assert result["tags"] == {"project": "wanzami"}


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_removes_the_targets_then_the_rule(aws, check_mode):
    converged(aws)
    aws["targets"].append({"Id": "hand-made", "Arn": CLUSTER})
    changed, diff, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert kept is None
    assert changed
    assert diff["after"] == {}
    assert diff["before"]["rule"]["name"] == NAME
    assert aws["calls"] == ([] if check_mode else [("remove_targets", (NAME, [NAME, "hand-made"]), {}),
                                                   ("delete_rule", (NAME,), {})])


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_keeps_a_rule_without_the_ownership_tags(aws, check_mode):
    converged(aws)
    aws["tags"] = {"team": "media"}
    required = {"project": "wanzami", "managed-by": "ansible"}
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert not changed and aws["calls"] == []
    assert f"EventBridge rule (scheduled task) {NAME} is not ours" in kept and "managed-by=ansible, project=wanzami" in kept
    aws["tags"] = {"project": "wanzami", "managed-by": "ansible", "environment": "local"}
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert changed and kept is None
    assert [c[0] for c in aws["calls"]] == ([] if check_mode else ["remove_targets", "delete_rule"])


def test_absent_without_targets_deletes_only_the_rule(aws):
    aws["rule"] = rule()
    changed, _, _ = mod.ensure_absent(FakeModule(state="absent"), None)
    assert changed
    assert aws["calls"] == [("delete_rule", (NAME,), {})]


def test_absent_with_nothing_there_makes_no_call(aws):
    changed, diff, _ = mod.ensure_absent(FakeModule(state="absent", schedule_expression=None, cluster_arn=None), None)
    assert not changed
    assert aws["calls"] == []
    assert diff == {"before": {}, "after": {}}


@pytest.mark.parametrize(("params", "message"), [
    ({"schedule_expression": "0/15 * * * ? *"}, r"neither cron\(\.\.\.\) nor rate\(\.\.\.\)"),
    ({"schedule_expression": "cron(0/15 * * * ? *"}, r"neither cron\(\.\.\.\) nor rate\(\.\.\.\)"),
    ({"schedule_expression": "every(5 minutes)"}, r"neither cron\(\.\.\.\) nor rate\(\.\.\.\)"),
    ({"schedule_expression": "cron(*/15 * * * *)"}, "has 5 fields; EventBridge's cron"),
    ({"schedule_expression": "cron(0 3 * * * *)"}, "needs '.' in day-of-month or day-of-week"),
    ({"schedule_expression": "rate(1 minutes)"}, r"rate\(1 minute\) and rate\(2 minutes\)"),
    ({"schedule_expression": "rate(5 minute)"}, r"rate\(1 minute\) and rate\(5 minutes\)"),
    ({"schedule_expression": "rate(5 weeks)"}, "minute.s., hour.s. or day.s."),
    ({"schedule_expression": "rate(0 minutes)"}, "at least 1"),
    ({"capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}]},
     "launch_type and capacity_provider_strategy are mutually exclusive"),
    ({"name": "wanzami cron"}, "not a valid rule name and target Id"),
    ({"name": "x" * 65}, "not a valid rule name and target Id"),
    ({"name": "wanzami/cron"}, "not a valid rule name and target Id"),
    ({"cluster_arn": "wanzami-cluster"}, r"cluster_arn 'wanzami-cluster' is not an ARN of the form .*:cluster/NAME"),
    ({"task_definition_arn": "wanzami-cron-light:3"}, "task_definition_arn 'wanzami-cron-light:3' is not an ARN"),
    ({"role_arn": "wanzami-events-run-task"}, "role_arn 'wanzami-events-run-task' is not an ARN"),
    ({"task_count": 0}, "task_count must be at least 1"),
    ({"network_configuration": None}, "network_configuration .subnets. is required to run the task on Fargate"),
    ({"launch_type": None, "capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT"}], "network_configuration": None},
     "network_configuration .subnets. is required"),
])
def test_bad_input_fails_before_any_call(aws, params, message):
    converged(aws)
    with pytest.raises(Failed, match=message):
        mod.ensure_present(FakeModule(**params), None)
    assert aws["calls"] == []


def test_a_bad_name_fails_absent_too(aws):
    with pytest.raises(Failed, match="not a valid rule name"):
        mod.ensure_absent(FakeModule(state="absent", name="a b"), None)


@pytest.mark.parametrize("expression", ["cron(0/15 * * * ? *)", "cron(0 3 ? * MON-FRI *)", "cron(0 3 1 * ? 2030)",
                                        "rate(1 minute)", "rate(15 minutes)", "rate(1 day)", "rate(12 hours)"])
def test_good_schedules_pass(expression):
    assert mod.schedule_error(expression) is None


def test_a_family_arn_without_revision_is_accepted(aws):
    family = "arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-cron-light"
    mod.ensure_present(FakeModule(task_definition_arn=family), None)
    assert aws["calls"][1][1][1][0]["EcsParameters"]["TaskDefinitionArn"] == family
