"""The day-2 verbs on one provisioned, released emulator: status.yml's table (each service's counts, revision,
rollout state and the released digest, the release record) and logs.yml (a service's lines in order, a filter,
the last N, one worker's streams apart from the other's, an unknown service refused), both read-only; summary.yml;
the alarm topic changing hands; and every call of them allowed by the operator's IAM policy."""

import json
import re
import time

import pytest

from tests.conftest import assert_the_operator_policy_allows_everything_recorded
from tests.conftest import run_playbook

pytestmark = pytest.mark.system

PREFIX = "wanzami-local"
REPOSITORY = "wanzami-backend"
DESIRED = {f"{PREFIX}-backend-service": 2, f"{PREFIX}-worker-transcode-svc": 1, f"{PREFIX}-worker-cron-svc": 1}
API_GROUP = f"/ecs/{PREFIX}-backend"
WORKERS_GROUP = f"/ecs/{PREFIX}-backend-workers"
RELEASED = {}


def put_events(emulator, group, stream, messages):
    logs = emulator.client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now - (len(messages) - i) * 60_000, "message": m} for i, m in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def logs(emulator, *extra, check=True):
    args = [a for pair in extra for a in ("-e", pair)]
    return run_playbook("playbooks/logs.yml", *args, env=emulator.env(), check=check)


def printed(run, *messages):
    """The positions of the lines holding each message in the playbook's output (-1: absent)."""
    return [run.output.find(m) for m in messages]


def test_provision_release_and_log(emulator):
    run_playbook("playbooks/secrets.yml", "--vault-password-file", "vault/local.password", env=emulator.env())
    run_playbook("playbooks/site.yml", env=emulator.env())
    RELEASED["digest"] = emulator.push_image(REPOSITORY, "v7")
    run_playbook("playbooks/deploy.yml", "-e", "release_image_tag=v7", env=emulator.env())
    put_events(emulator, API_GROUP, "backend/api/task-one", ["api first", "api ERROR second", "api third"])
    put_events(emulator, WORKERS_GROUP, "worker/worker-cron/task-two", ["cron line"])
    put_events(emulator, WORKERS_GROUP, "worker/worker-transcode/task-three", ["transcode line"])


def test_status_shows_each_service_and_the_release_and_only_reads(emulator):
    emulator.clear_recording()
    run = run_playbook("playbooks/status.yml", env=emulator.env())
    assert emulator.mutating_calls() == []
    digest = RELEASED["digest"]
    for service, desired in DESIRED.items():
        row = rf"{service}\s+{desired}\s+{desired}\s+0\s+\S+:\d+\s+COMPLETED\s+{re.escape(digest[:19])}\s"
        assert re.search(row, run.output), (row, run)
    assert re.search(rf"{PREFIX}-backend-service\s.*\s0/0/0 \({PREFIX}-backend-tg\)", run.output), run
    assert f"Last release: v7 {digest} at " in run.output, run


def test_status_names_each_scheduled_task_with_its_schedule_and_state(emulator):
    emulator.client("events").put_rule(Name=f"{PREFIX}-nightly", ScheduleExpression="rate(1 hour)", State="DISABLED")
    tasks = [{"name": f"{PREFIX}-nightly", "schedule": "cron(0 3 * * ? *)"},
             {"name": f"{PREFIX}-weekly", "schedule": "rate(7 days)"}]
    emulator.clear_recording()
    run = run_playbook("playbooks/status.yml", "-e", json.dumps({"ecs_service_scheduled_tasks": tasks}), env=emulator.env())
    assert emulator.mutating_calls() == []
    # What EventBridge holds, not what the inventory says; a rule that is not there is named so.
    assert re.search(rf"\n\s*{PREFIX}-nightly\s+DISABLED\s+rate\(1 hour\)\n", run.output), run
    assert re.search(rf"\n\s*{PREFIX}-weekly\s+MISSING\s+rate\(7 days\)", run.output), run


def test_logs_prints_a_services_lines_oldest_first_and_only_reads(emulator):
    emulator.clear_recording()
    run = logs(emulator, f"logs_service={PREFIX}-backend-service")
    assert emulator.mutating_calls() == []
    first, second, third = printed(run, "backend/api/task-one api first", "api ERROR second", "api third")
    assert -1 < first < second < third, run
    assert "cron line" not in run.output
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z backend/api/task-one api third", run.output), run


def test_logs_filter_lines_minutes_and_a_worker_apart_from_the_other(emulator):
    run = logs(emulator, f"logs_service={PREFIX}-backend-service", "logs_filter=ERROR")
    assert printed(run, "api first", "api third") == [-1, -1] and "api ERROR second" in run.output, run
    run = logs(emulator, f"logs_service={PREFIX}-backend-service", "logs_lines=2", "logs_minutes=60")
    assert printed(run, "api first")[0] == -1 and "api ERROR second" in run.output and "api third" in run.output, run
    assert "the last 60 minutes: 2 line(s)" in run.output, run
    run = logs(emulator, f"logs_service={PREFIX}-worker-cron-svc")
    assert "cron line" in run.output and "transcode line" not in run.output, run


def test_logs_refuses_an_unknown_service_before_any_request(emulator):
    emulator.clear_recording()
    run = logs(emulator, "logs_service=nope", check=False)
    assert run.rc != 0
    assert (f"logs_service must be one of {PREFIX}-backend-service, {PREFIX}-worker-transcode-svc, "
            f"{PREFIX}-worker-cron-svc (got 'nope')") in " ".join(run.output.split()), run
    assert emulator.calls() == []


def test_summary_names_each_service_and_only_reads(emulator):
    emulator.clear_recording()
    run = run_playbook("playbooks/summary.yml", env=emulator.env())
    assert emulator.mutating_calls() == []
    for service in DESIRED:
        assert service in run.output, run


def test_the_alarm_topic_mails_whom_the_inventory_names(emulator):
    """On-call changes hands: the role subscribes the new address and unsubscribes the one it had subscribed."""
    sns = emulator.client("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{PREFIX}-alarms")]
    for emails in (["a@example.com"], ["b@example.com"]):
        run_playbook("playbooks/site.yml", "--tags", "observability", "-e", json.dumps({"observability_alarm_emails": emails}),
                     env=emulator.env())
        subscribed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert sorted(s["Endpoint"] for s in subscribed if s["Protocol"] == "email") == emails


def test_the_operator_policy_allows_every_call_of_this_journey(emulator):
    """docs/iam/operator-policy.json against what this module's runs asked of the emulator: provisioning, a
    release, status, logs, the summary and the alarm topic changing hands."""
    actions = assert_the_operator_policy_allows_everything_recorded(emulator)
    assert {"sns:Subscribe", "sns:Unsubscribe", "logs:FilterLogEvents", "ecs:DescribeServices"} <= actions
