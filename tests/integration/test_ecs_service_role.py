"""The ecs_service role's inputs: every environment's group_vars pass its offline
validation, and so does seed 004's shape (frontend + backend with host routing,
autoscaling, scheduled tasks); bad values are all refused at once, before any API
call, each named with its variable and entry."""

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.test_ecs_cluster_role import validate as validate_cluster
from tests.integration.test_inventories import ENVS

VALIDATE = """\
- name: Validate the ecs_service inputs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate
      ansible.builtin.include_role:
        name: wanzami.infra.ecs_service
        tasks_from: validate
"""
# Seed 004's services and cron jobs, as its example inventory has them.
SEED_004 = yaml.safe_load(
    (REPO / "inventories/examples/public_aurora_cron/group_vars/public_aurora_cron/main.yml").read_text())


def validate(tmp_path, env, **extra):
    return validate_cluster(tmp_path, env, playbook_text=VALIDATE, **extra)


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_passes_validation(tmp_path, env):
    run = validate(tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr


def test_seed_004_s_shape_passes_validation(tmp_path):
    run = validate(tmp_path, "local", ecs_service_services=SEED_004["ecs_service_services"],
                   ecs_service_scheduled_tasks=SEED_004["ecs_service_scheduled_tasks"],
                   ecs_service_log_groups=SEED_004["ecs_cluster_log_groups"], revendiste_domain="revendiste.example",
                   ecs_service_certificate_arn=SEED_004["ecs_service_certificate_arn"])
    assert run.returncode == 0, run.stdout + run.stderr


def test_bad_values_are_all_named_at_once(tmp_path):
    api = {"name": "api svc", "family": "shared", "repository": "r", "cpu": 256, "memory": 4096, "log_group": "nope",
           "security_group": "", "desired_count": -1, "port": 70000, "command": "node x",
           "target_group_health": {"path": "health"}, "autoscaling": {"min_capacity": 5, "max_capacity": 2}}
    worker = {"name": "worker", "family": "shared", "image": "x", "cpu": 512, "memory": 1024, "container_memory": 2048,
              "log_group": "workers", "security_group": "w", "desired_count": 1,
              "autoscaling": {"min_capacity": 1, "max_capacity": 2}}
    web = {"name": "web", "family": "web", "cpu": 512, "memory": 1024, "log_group": "api", "security_group": "w",
           "desired_count": 1, "load_balancer": True, "autoscaling": {"min_capacity": 1, "max_capacity": 2, "cpu_target": 170}}
    job = {"name": "job:1", "family": "job", "image": "x", "cpu": 256, "memory": 512, "log_group": "workers",
           "security_group": "w", "schedule": "every 5 minutes", "task_count": 20}
    run = validate(tmp_path, "production", ecs_service_services=[api, worker, web], ecs_service_scheduled_tasks=[job],
                   ecs_service_events_role_name="", ecs_service_certificate_arn="my-cert")
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    for message in (
        "ecs_service_services[api svc] name must be 1 to 255 letters",
        "ecs_service_services[api svc] cpu/memory 256/4096 is not a Fargate size: 256 takes 512, 1024, 2048",
        "ecs_service_services[api svc] log_group must be a key of ecs_service_log_groups (api, workers)",
        "ecs_service_services[api svc] needs a security_group",
        "ecs_service_services[api svc] command must be a list",
        "ecs_service_services[api svc] needs a desired_count of 0 or more",
        "ecs_service_services[api svc] port must be 1-65535",
        "ecs_service_services[api svc] target_group_health path must start with '/'",
        "ecs_service_services[api svc] autoscaling needs min_capacity and max_capacity with 0 <= min_capacity <= max_capacity",
        "ecs_service_services[worker] container_memory must be a number of MiB above 0 and at most the task memory",
        "ecs_service_services[worker] autoscaling needs cpu_target or memory_target",
        "ecs_service_services[web] needs a repository (ECR repository name) or an image",
        "ecs_service_services[web] has load_balancer: true and needs a port",
        "ecs_service_services[web] autoscaling cpu_target must be a percentage above 0 and at most 100",
        "ecs_service_scheduled_tasks[job:1] name (the EventBridge rule) must be 1 to 64 letters",
        "ecs_service_scheduled_tasks[job:1] schedule must be cron(...) or rate(...)",
        "ecs_service_scheduled_tasks[job:1] task_count must be 1 to 10",
        "give a family to two entries (shared)",
        "ecs_service_events_role_name must name the role EventBridge assumes",
        "ecs_service_certificate_arn must be an ACM certificate ARN",
    ):
        assert message in out, message


def test_a_scheduled_task_gets_the_events_role_by_default(tmp_path):
    # group_vars: the cluster makes EventBridge's role only when there is something to schedule.
    job = [dict(SEED_004["ecs_service_scheduled_tasks"][0], log_group="workers")]
    run = validate(tmp_path, "production", ecs_service_scheduled_tasks=job)
    assert run.returncode == 0, run.stdout + run.stderr
