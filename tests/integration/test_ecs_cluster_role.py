"""The ecs_cluster role's inputs: every environment's group_vars pass its offline
validation, production is seed 000 (wanzami-cluster, /ecs/wanzami-backend with the
prefix backend, /ecs/wanzami-backend-workers with worker, ecsTaskExecutionRole), and
bad values are refused before any API call with the variable named."""

import json
import os
import subprocess

import pytest

from tests.conftest import BIN
from tests.conftest import REPO
from tests.integration.test_inventories import ENVS
from tests.integration.test_inventories import resolved

VALIDATE = """\
- name: Validate the ecs_cluster inputs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate
      ansible.builtin.include_role:
        name: wanzami.infra.ecs_cluster
        tasks_from: validate
"""

TAGS = {"project": "wanzami", "environment": "production", "managed-by": "ansible"}
# What the containers reference; DATABASE_PASSWORD only serves the rds role.
APP_SECRETS = ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "SMTP_PASS", "S3_ACCESS_KEY", "S3_SECRET_KEY", "GOOGLE_CLIENT_SECRET",
               "DATABASE_URL"]


def validate(tmp_path, env, playbook_text=VALIDATE, **extra):
    """Run a role's validate entry point offline (no AWS_* in the environment) with extra vars."""
    playbook = tmp_path / "validate.yml"
    playbook.write_text(playbook_text)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", f"inventories/{env}", str(playbook), "-e", json.dumps(extra)],
        cwd=REPO, env=full_env, capture_output=True, text=True, check=False,
    )


def test_production_names_are_seed_000_s():
    names = ("ecs_cluster_name", "ecs_cluster_region", "ecs_cluster_log_groups", "ecs_cluster_capacity_providers",
             "ecs_cluster_ecr_repositories", "ecs_cluster_env_file_bucket", "ecs_cluster_env_file_key",
             "ecs_cluster_secrets_path", "ecs_cluster_secret_names", "ecs_cluster_media_bucket", "ecs_cluster_task_role_name",
             "ecs_cluster_tags")
    assert resolved("production", *names) == {
        "ecs_cluster_name": "wanzami-cluster",
        "ecs_cluster_region": "us-east-2",
        "ecs_cluster_log_groups": {"api": {"name": "/ecs/wanzami-backend", "stream_prefix": "backend"},
                                   "workers": {"name": "/ecs/wanzami-backend-workers", "stream_prefix": "worker"}},
        # Fargate only (docs/architecture.md, Compute); Spot attached, used only if a strategy asks (seed 004).
        "ecs_cluster_capacity_providers": ["FARGATE", "FARGATE_SPOT"],
        "ecs_cluster_ecr_repositories": ["wanzami-backend"],
        # The env file the s3_envfile role keeps in the cluster's region (docs/architecture.md, Data stores).
        "ecs_cluster_env_file_bucket": "wanzami-ecs-config-us-east-2",
        "ecs_cluster_env_file_key": "wanzami_assets/.env",
        "ecs_cluster_secrets_path": "/wanzami/production",
        "ecs_cluster_secret_names": APP_SECRETS,
        "ecs_cluster_media_bucket": "wanzami-bucket",
        "ecs_cluster_task_role_name": "wanzami-ecs-task",
        "ecs_cluster_tags": TAGS,
    }


def test_production_runs_on_demand_under_seed_000_s_execution_role_with_30_days_of_logs():
    # Needs group_vars/production/main.yml's ecs_cluster_* lines.
    assert resolved("production", "ecs_cluster_execution_role_name", "ecs_cluster_log_retention_days",
                    "ecs_cluster_capacity_provider_strategy", "ecs_cluster_container_insights") == {
        "ecs_cluster_execution_role_name": "ecsTaskExecutionRole",
        "ecs_cluster_log_retention_days": 30,
        "ecs_cluster_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}],
        "ecs_cluster_container_insights": "enabled",
    }


@pytest.mark.parametrize("env", ["local", "staging"])
def test_other_environments_keep_a_week_of_logs_under_their_own_names(env):
    got = resolved(env, "ecs_cluster_name", "ecs_cluster_execution_role_name", "ecs_cluster_log_retention_days",
                   "ecs_cluster_log_groups")
    assert got["ecs_cluster_name"] == f"wanzami-{env}-cluster"
    assert got["ecs_cluster_execution_role_name"] == f"wanzami-{env}-ecs-execution"
    assert got["ecs_cluster_log_retention_days"] == 7
    assert got["ecs_cluster_log_groups"]["api"]["name"] == f"/ecs/wanzami-{env}-backend"


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_passes_validation(tmp_path, env):
    run = validate(tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr


def test_bad_values_are_all_named_at_once(tmp_path):
    run = validate(
        tmp_path, "production",
        ecs_cluster_name="wanzami cluster",
        ecs_cluster_capacity_providers=["FARGATE"],
        ecs_cluster_capacity_provider_strategy=[{"capacity_provider": "FARGATE_SPOT", "weight": 0, "base": 2}],
        ecs_cluster_log_groups={"api": {"name": "/ecs/wanzami backend", "stream_prefix": "back:end", "retention_days": 10},
                                "workers": {"name": "/ecs/wanzami-backend-workers", "stream_prefix": "worker"}},
        ecs_cluster_execution_role_name="wanzami-ecs-task",
        ecs_cluster_env_file_bucket="Wanzami_Config",
        ecs_cluster_secrets_path="wanzami/production/",
        ecs_cluster_secretsmanager_arns=["arn:aws:secretsmanager:us-east-2:123456789012:secret:*"],
        ecs_cluster_secrets_kms_key_arn="alias/secrets",
    )
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    for message in (
        "ecs_cluster_name 'wanzami cluster' must be 1 to 255 letters",
        "ecs_cluster_capacity_provider_strategy uses FARGATE_SPOT, which ecs_cluster_capacity_providers does not list (FARGATE)",
        "needs a weight above 0 on at least one provider",
        "ecs_cluster_log_groups names must be 1 to 512 letters",
        "not valid: /ecs/wanzami backend",
        "ecs_cluster_log_groups entries need a stream_prefix",
        "ecs_cluster_log_groups retention_days must be one of",
        "ecs_cluster_execution_role_name and ecs_cluster_task_role_name must differ",
        "ecs_cluster_env_file_bucket 'Wanzami_Config' is not a valid bucket name",
        "ecs_cluster_secrets_path 'wanzami/production/' must be an SSM path",
        "ecs_cluster_secretsmanager_arns must hold Secrets Manager secret ARNs",
        "ecs_cluster_secrets_kms_key_arn must be a KMS key ARN",
    ):
        assert message in out, message


def test_the_argument_spec_refuses_ec2_capacity_and_an_unknown_retention(tmp_path):
    run = validate(tmp_path, "production", ecs_cluster_capacity_providers=["FARGATE", "my-asg-provider"],
                   ecs_cluster_log_retention_days=10)
    assert run.returncode != 0
    assert "ecs_cluster_capacity_providers" in run.stdout and "FARGATE, FARGATE_SPOT" in run.stdout
    assert "ecs_cluster_log_retention_days" in run.stdout
