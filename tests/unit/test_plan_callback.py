"""The wanzami.infra.plan callback, driven with fake tasks and results: which row each result makes, how
rows of one resource merge, the cap per role, the header in check mode and in a real run."""

import pytest
from ansible import constants as C
from ansible import context

from ansible_collections.wanzami.infra.plugins.callback import plan

STARTED = 1_800_000_000.0


class Role:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class Task:
    def __init__(self, name, role="vpc", action="amazon.aws.ec2_vpc_net", args=None, check_mode=None):
        self.name = name
        self._role = Role(f"wanzami.infra.{role}") if role else None
        self.action = self.resolved_action = action
        self.args = args or {}
        self.check_mode = check_mode

    def get_name(self):
        return self.name


class Result:
    def __init__(self, task, result):
        self.task = task
        self.result = result


class Display:
    verbosity = 0

    def __init__(self):
        self.lines = []

    def display(self, msg, color=None, **kwargs):
        self.lines.append((msg, color))

    def warning(self, msg, **kwargs):
        self.lines.append((f"[WARNING]: {msg}", C.COLOR_WARN))


class Play:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


def callback(monkeypatch, check=False, rows_per_role=10):
    monkeypatch.setattr(context, "CLIARGS", {"check": check})
    cb = plan.CallbackModule(display=Display())
    # As the plugin loader's set_options() would leave it, from ansible.cfg or the environment.
    cb._plugin_options["rows_per_role"] = rows_per_role
    cb.started = STARTED
    cb.v2_playbook_on_play_start(Play("Provision the network"))
    return cb


def table(cb):
    cb.v2_playbook_on_stats(None)
    return [line for line, _ in cb._display.lines]


def rows(cb):
    """The rows of the table, without its header and summary line."""
    return table(cb)[2:]


def args(**module_args):
    return {"invocation": {"module_args": module_args}}


# (task, result, the one row it makes)
CASES = {
    "our module's diff with an empty before is a create": (
        Task("Repositories | Create or update the repositories", role="ecr", action="wanzami.infra.ecr_repository"),
        {"changed": True, "item": "wanzami-backend", "diff": {"before": {}, "after": {"name": "wanzami-backend"}}},
        "+ create   ecr wanzami-backend"),
    "a diff without before is a create": (
        Task("Logs | Create the log groups", role="ecs_cluster"),
        {"changed": True, "item": "/ecs/backend", "diff": {"after": "retention: 30\n"}},
        "+ create   ecs_cluster /ecs/backend"),
    "a before that was absent is a create": (
        Task("Cluster | Create the cluster", role="ecs_cluster"),
        {"changed": True, **args(name="wanzami-local-cluster"),
         "diff": {"before": {"name": "wanzami-local-cluster", "state": "absent"}, "after": {"name": "wanzami-local-cluster"}}},
        "+ create   ecs_cluster wanzami-local-cluster"),
    "ec2_security_group's list of diffs with an empty before is a create": (
        Task("Groups | Create or update the security groups", role="security_groups", action="amazon.aws.ec2_security_group"),
        {"changed": True, "_ansible_item_label": "wanzami-local-alb", "item": {"name": "wanzami-local-alb"},
         "diff": [{"before": {}, "after": {"group_name": "wanzami-local-alb"}}]},
        "+ create   security_groups wanzami-local-alb"),
    "ec2_vpc_net's dry run of a new VPC is a create (by its name argument)": (
        Task("VPC | Create or update the VPC"),
        {"changed": True, "msg": "VPC would be created if not in check mode", **args(name="wanzami-local-vpc")},
        "+ create   vpc wanzami-local-vpc"),
    "elb_application_lb's dry run of a new ALB is a create": (
        Task("ALB | Create or update the load balancer", role="ecs_service", action="amazon.aws.elb_application_lb"),
        {"changed": True, "msg": "Would have created ALB if not in check mode.", **args(name="wanzami-local-alb")},
        "+ create   ecs_service wanzami-local-alb"),
    "a dry-run debug whose list of messages says would be created is a create": (
        Task("Buckets | Dry run - report what a run would change", role="s3_envfile", action="ansible.builtin.debug"),
        {"changed": True, "_ansible_item_label": "wanzami-local-media", "item": {},
         "msg": ["bucket wanzami-local-media would be created in eu-north-1"]},
        "+ create   s3_envfile wanzami-local-media"),
    "a result that says created is a create": (
        Task("Topic | Create the alarm topic", role="observability", action="community.aws.sns_topic"),
        {"changed": True, "created": True, **args(name="wanzami-local-alarms")},
        "+ create   observability wanzami-local-alarms"),
    "a creation time after the run started is a create": (
        Task("Roles | Create or update the IAM roles", role="ecs_cluster", action="amazon.aws.iam_role"),
        {"changed": True, "item": "wanzami-local-task", "iam_role": {"role_name": "wanzami-local-task",
                                                                     "create_date": "2027-01-15T08:00:05+00:00"}},
        "+ create   ecs_cluster wanzami-local-task"),
    "rds_instance's instance_create_time, and its identifier for a name": (
        Task("Instance | Create or update the PostgreSQL instance", role="rds", action="amazon.aws.rds_instance"),
        {"changed": True, **args(db_instance_identifier="wanzami-local-db"),
         "instance_create_time": "2027-01-15T08:03:00.000000+00:00"},
        "+ create   rds wanzami-local-db"),
    "a creation time from before the run is a change": (
        Task("Roles | Create or update the IAM roles", role="ecs_cluster", action="amazon.aws.iam_role"),
        {"changed": True, "item": "wanzami-local-task", "iam_role": {"role_name": "wanzami-local-task",
                                                                     "create_date": "2026-01-15T08:00:05+00:00"}},
        "~ change   ecs_cluster wanzami-local-task"),
    "a diff of two mappings is a change of the keys that differ": (
        Task("Service | Create or update the services", role="ecs_service", action="wanzami.infra.ecs_service"),
        {"changed": True, "_ansible_item_label": "backend", "item": {"name": "backend"},
         "diff": {"before": {"desiredCount": 1, "taskDefinition": "a:1", "tags": {}},
                  "after": {"desiredCount": 2, "taskDefinition": "a:1", "tags": {}, "healthCheckGracePeriodSeconds": 60}}},
        "~ change   ecs_service backend (desiredCount, healthCheckGracePeriodSeconds)"),
    "a change without a diff has no attributes": (
        Task("Subnets | Create or update subnets", action="amazon.aws.ec2_vpc_subnet"),
        {"changed": True, "_ansible_item_label": "wanzami-local-public-a 10.0.0.0/24",
         "subnet": {"id": "subnet-1", "map_public_ip_on_launch": True}},
        "~ change   vpc wanzami-local-public-a 10.0.0.0/24"),
    "a task named delete is a remove, its name the detail": (
        Task("Teardown | Delete the subnets", action="amazon.aws.ec2_vpc_subnet"),
        {"changed": True, "_ansible_item_label": "wanzami-local-public-a 10.0.0.0/24"},
        "!! REMOVE  vpc wanzami-local-public-a 10.0.0.0/24  Delete the subnets"),
    "a task named detach is a remove": (
        Task("Roles | Detach managed policies our roles are not given here", role="ecs_cluster", action="amazon.aws.iam_role"),
        {"changed": True, "item": "wanzami-local-task"},
        "!! REMOVE  ecs_cluster wanzami-local-task  Detach managed policies our roles are not given here"),
    "state=absent is a remove, whatever the task is called": (
        Task("Teardown | The repositories", role="ecr", action="wanzami.infra.ecr_repository"),
        {"changed": True, "item": "wanzami-backend", **args(name="wanzami-backend", state="absent"),
         "diff": {"before": {"name": "wanzami-backend", "state": "present"},
                  "after": {"name": "wanzami-backend", "state": "absent"}}},
        "!! REMOVE  ecr wanzami-backend  state=absent"),
    "state=absent in the task's arguments when the result has no invocation": (
        Task("Secrets | The secrets secrets.yml stored", role=None, action="community.aws.ssm_parameter",
             args={"state": "absent"}),
        {"changed": True, "item": "SECRET_KEY_BASE"},
        "!! REMOVE  ssm_parameter SECRET_KEY_BASE  state=absent"),
    "a purge that took something away is a remove": (
        Task("Groups | Create or update the security groups", role="security_groups", action="amazon.aws.ec2_security_group"),
        {"changed": True, "_ansible_item_label": "wanzami-local-db", **args(name="wanzami-local-db", purge_rules=True),
         "diff": [{"before": {"ip_permissions": [{"from_port": 5432}, {"from_port": 22}], "tags": {}},
                   "after": {"ip_permissions": [{"from_port": 5432}], "tags": {}}}]},
        "!! REMOVE  security_groups wanzami-local-db  purges ip_permissions"),
    "a purge that took nothing away is a change": (
        Task("Groups | Create or update the security groups", role="security_groups", action="amazon.aws.ec2_security_group"),
        {"changed": True, "_ansible_item_label": "wanzami-local-db", **args(name="wanzami-local-db", purge_rules=True),
         "diff": [{"before": {"ip_permissions": [{"from_port": 5432}]},
                   "after": {"ip_permissions": [{"from_port": 5432}, {"from_port": 6379}]}}]},
        "~ change   security_groups wanzami-local-db (ip_permissions)"),
    "an explicit entry is taken as it is": (
        Task("Pre-flight | Say what is adopted", action="ansible.builtin.debug"),
        {"changed": False, "wanzami_plan": [{"action": "adopt", "resource": "s3_envfile wanzami-local-media",
                                             "detail": "not ours: only our tags are merged"}]},
        "= adopt    s3_envfile wanzami-local-media  not ours: only our tags are merged"),
    "an explicit entry set as a fact": (
        Task("Pre-flight | Record what is adopted", action="ansible.builtin.set_fact"),
        {"changed": False, "ansible_facts": {"wanzami_plan": [{"action": "adopt", "resource": "ecs_cluster ecsTaskExecutionRole",
                                                               "detail": "shared role"}]}},
        "= adopt    ecs_cluster ecsTaskExecutionRole  shared role"),
    "an explicit change names its attributes (text_diff: the env file's changed keys)": (
        Task("Env file | Compare it with what S3 holds", role="s3_envfile", action="wanzami.infra.text_diff"),
        {"changed": True, "wanzami_plan": [{"action": "change", "resource": "s3_envfile s3://b/wanzami_assets/.env",
                                            "attributes": ["DEVICE_LIMIT", "PORT"]}]},
        "~ change   s3_envfile s3://b/wanzami_assets/.env (DEVICE_LIMIT, PORT)"),
    "an explicit entry wins over the guess (a delete said to be refused)": (
        Task("Teardown | Delete the VPC", action="amazon.aws.ec2_vpc_net"),
        {"changed": True, "wanzami_plan": [{"action": "refused", "resource": "vpc vpc-123", "detail": "not ours"}]},
        "x refused  vpc vpc-123  not ours"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_result_makes_one_row(monkeypatch, case):
    task, result, row = CASES[case]
    cb = callback(monkeypatch)
    if "item" in result or "_ansible_item_label" in result:
        cb.v2_runner_item_on_ok(Result(task, result))
    else:
        cb.v2_runner_on_ok(Result(task, result))
    assert rows(cb) == [row]


def test_a_refused_entry_on_a_failed_result_is_kept(monkeypatch):
    cb = callback(monkeypatch, check=True)
    task = Task("Pre-flight | Refuse what is not ours", action="ansible.builtin.assert")
    cb.v2_runner_on_failed(Result(task, {"failed": True, "msg": "refused", "wanzami_plan": [
        {"action": "refused", "resource": "ecr wanzami-backend", "detail": "its lifecycle policy would expire v1, in use"}]}))
    cb.v2_runner_item_on_failed(Result(task, {"failed": True, "item": "x", "wanzami_plan": [
        {"action": "refused", "resource": "s3_envfile wanzami-local-media", "detail": "not ours"}]}))
    lines = table(cb)
    assert lines[1] == "0 to create, 0 to change, 0 to adopt, 0 to remove, 2 refused"
    assert lines[2:] == ["x refused  ecr wanzami-backend  its lifecycle policy would expire v1, in use",
                         "x refused  s3_envfile wanzami-local-media  not ours"]


@pytest.mark.parametrize("result", [
    {"changed": False, "diff": {"before": {}, "after": {"name": "x"}}},
    {"changed": True, "skipped": True},
    {"changed": True, "failed": True, "msg": "AccessDenied"},
], ids=["unchanged (changed_when false)", "skipped", "failed without entries"])
def test_results_that_changed_nothing_make_no_row(monkeypatch, result):
    cb = callback(monkeypatch)
    task = Task("VPC | Delete the VPC")
    (cb.v2_runner_on_failed if result.get("failed") else cb.v2_runner_on_ok)(Result(task, result))
    assert table(cb) == ["No changes."]


def test_a_loop_result_is_counted_by_its_items_only(monkeypatch):
    cb = callback(monkeypatch)
    task = Task("Subnets | Create or update subnets", action="amazon.aws.ec2_vpc_subnet")
    items = [{"changed": True, "_ansible_item_label": f"subnet-{n}", "diff": {"before": {}, "after": {"n": n}}} for n in "ab"]
    for item in items:
        cb.v2_runner_item_on_ok(Result(task, item))
    cb.v2_runner_on_ok(Result(task, {"changed": True, "results": items}))
    assert rows(cb) == ["+ create   vpc subnet-a", "+ create   vpc subnet-b"]


@pytest.mark.parametrize(("action", "result", "row"), [
    ("amazon.aws.rds_instance", {"changed": True, **args(db_instance_identifier="wanzami-local-db")},
     "+ create   rds wanzami-local-db"),
    ("amazon.aws.rds_instance", {"changed": True, **args(db_instance_identifier="wanzami-local-db"),
                                 "db_instance_identifier": "wanzami-local-db", "allocated_storage": 20},
     "~ change   rds wanzami-local-db"),
    ("amazon.aws.cloudwatch_metric_alarm", {"changed": True, **args(name="db-cpu-high"), "name": None, "alarm_arn": None,
                                            "dimensions": None}, "+ create   rds db-cpu-high"),
    ("amazon.aws.ec2_vpc_subnet", {"changed": True, "item": "public-a", "subnet": {}}, "+ create   rds public-a"),
    # Only the modules known to answer nothing for what does not exist yet.
    ("amazon.aws.ec2_vpc_igw", {"changed": True, **args(vpc_id="vpc-1", tags={"Name": "igw"})}, "~ change   rds igw"),
], ids=["rds_instance new", "rds_instance changed", "alarm new", "subnet new", "igw unknown"])
def test_a_check_mode_result_with_nothing_to_describe_yet(monkeypatch, action, result, row):
    cb = callback(monkeypatch, check=True)
    cb.v2_runner_on_ok(Result(Task("Instance | Create or update", role="rds", action=action), result))
    assert rows(cb) == [row]


def test_a_task_forced_into_check_mode_changes_nothing_in_a_real_run(monkeypatch):
    cb = callback(monkeypatch)
    task = Task("Read the database's secret", role=None, action="wanzami.infra.rds_master_user_secret", check_mode=True)
    cb.v2_runner_on_ok(Result(task, {"changed": True}))
    assert table(cb) == ["No changes."]


def test_one_resource_is_one_row_with_its_strongest_action_and_merged_attributes(monkeypatch):
    cb = callback(monkeypatch)
    service = Task("Service | Create or update the services", role="ecs_service", action="wanzami.infra.ecs_service")
    tags = Task("Service | Tag the services", role="ecs_service", action="wanzami.infra.ecs_service")
    cb.v2_runner_item_on_ok(Result(service, {"changed": True, "_ansible_item_label": "backend",
                                             "diff": {"before": {"desiredCount": 1}, "after": {"desiredCount": 2}}}))
    cb.v2_runner_item_on_ok(Result(tags, {"changed": True, "_ansible_item_label": "backend",
                                          "diff": {"before": {"tags": {}}, "after": {"tags": {"a": "b"}}}}))
    # A repository created, then a task named replace on it: the remove wins, with its detail.
    repo = Task("Repositories | Create or update the repositories", role="ecr", action="wanzami.infra.ecr_repository")
    policy = Task("Repositories | Replace the lifecycle policy", role="ecr", action="wanzami.infra.ecr_repository")
    cb.v2_runner_item_on_ok(Result(repo, {"changed": True, "item": "backend", "diff": {"before": {}, "after": {"n": 1}}}))
    cb.v2_runner_item_on_ok(Result(policy, {"changed": True, "item": "backend"}))
    # Refused beats everything, create beats change.
    cb.v2_runner_on_ok(Result(Task("Pre-flight | Say", action="ansible.builtin.debug"), {"wanzami_plan": [
        {"action": "refused", "resource": "ecr backend", "detail": "in use"}]}))
    subnet = Task("Subnets | Create or update subnets", action="amazon.aws.ec2_vpc_subnet")
    cb.v2_runner_item_on_ok(Result(subnet, {"changed": True, "item": "public-a", "subnet": {}}))
    cb.v2_runner_item_on_ok(Result(subnet, {"changed": True, "item": "public-a", "diff": {"before": {}, "after": {"a": 1}}}))
    lines = table(cb)
    assert lines[1] == "1 to create, 1 to change, 0 to adopt, 0 to remove, 1 refused"
    assert lines[2:] == ["+ create   vpc public-a",
                         "~ change   ecs_service backend (desiredCount, tags)",
                         "x refused  ecr backend  in use"]


def test_create_and_change_rows_are_capped_per_role_but_every_remove_is_kept(monkeypatch):
    cb = callback(monkeypatch, rows_per_role=3)
    create = Task("Alarms | Create or update the alarms", role="observability", action="amazon.aws.cloudwatch_metric_alarm")
    delete = Task("Alarms | Delete alarms of ours that are not asked for any more", role="observability")
    other = Task("Service | Create or update the services", role="ecs_service", action="wanzami.infra.ecs_service")
    for n in range(8):
        cb.v2_runner_item_on_ok(Result(create, {"changed": True, "item": f"alarm-{n}", "created": True}))
        cb.v2_runner_item_on_ok(Result(delete, {"changed": True, "item": f"old-alarm-{n}"}))
    cb.v2_runner_item_on_ok(Result(other, {"changed": True, "item": "backend", "diff": {"before": {}, "after": {"a": 1}}}))
    lines = table(cb)
    assert lines[1] == "9 to create, 0 to change, 0 to adopt, 8 to remove, 0 refused"
    creates = [line for line in lines if line.startswith("+ create")]
    assert creates == ["+ create   observability alarm-0", "+ create   observability alarm-1", "+ create   observability alarm-2",
                       "+ create   ecs_service backend"]
    assert "           ... and 5 more creates in role observability" in lines
    assert len([line for line in lines if line.startswith("!! REMOVE")]) == 8


@pytest.mark.parametrize(("check", "header"), [(True, "PLAN (dry run: nothing was changed)"), (False, "APPLIED")])
def test_the_header_says_whether_anything_was_changed(monkeypatch, check, header):
    cb = callback(monkeypatch, check=check)
    task = Task("Teardown | Delete the VPC", action="amazon.aws.ec2_vpc_net")
    cb.v2_runner_item_on_ok(Result(task, {"changed": True, "item": "vpc-123"}))
    lines = table(cb)
    assert lines[0].startswith(header + " ***")
    assert lines[1:] == ["0 to create, 0 to change, 0 to adopt, 1 to remove, 0 refused", "!! REMOVE  vpc vpc-123  Delete the VPC"]


def test_remove_rows_are_in_the_error_colour(monkeypatch):
    cb = callback(monkeypatch)
    cb.v2_runner_item_on_ok(Result(Task("Teardown | Delete the VPC"), {"changed": True, "item": "vpc-123"}))
    cb.v2_runner_item_on_ok(Result(Task("VPC | Create the VPC"), {"changed": True, "item": "vpc-9", "created": True}))
    cb.v2_playbook_on_stats(None)
    colours = dict(cb._display.lines)
    assert colours["!! REMOVE  vpc vpc-123  Delete the VPC"] == C.COLOR_ERROR
    assert colours["+ create   vpc vpc-9"] == C.COLOR_OK


def test_nothing_to_report_is_one_line(monkeypatch):
    cb = callback(monkeypatch, check=True)
    cb.v2_runner_on_ok(Result(Task("VPC | Read the zones", action="amazon.aws.aws_az_info"), {"changed": False}))
    assert table(cb) == ["No changes."]


def test_entries_that_are_not_the_contract_are_named_not_shown(monkeypatch):
    cb = callback(monkeypatch)
    cb.v2_runner_on_ok(Result(Task("Pre-flight | Say", action="ansible.builtin.debug"),
                              {"wanzami_plan": [{"action": "delete", "resource": "vpc x"}, "vpc y"]}))
    cb.v2_runner_on_ok(Result(Task("Pre-flight | Say", action="ansible.builtin.debug"),
                              {"wanzami_plan": "VARIABLE IS NOT DEFINED!"}))
    lines = table(cb)
    assert lines[0] == ("wanzami_plan entries left out (not {action: create|change|adopt|remove|refused, resource, detail}): "
                        "{'action': 'delete', 'resource': 'vpc x'}; 'vpc y'; 'VARIABLE IS NOT DEFINED!'")
    assert lines[1:] == ["No changes."]


def test_a_single_entry_may_be_a_mapping(monkeypatch):
    cb = callback(monkeypatch)
    cb.v2_runner_on_ok(Result(Task("Pre-flight | Say", action="ansible.builtin.debug"),
                              {"wanzami_plan": {"action": "create", "resource": "rds wanzami-local-db"}}))
    assert rows(cb) == ["+ create   rds wanzami-local-db"]
