"""The valkey role's inputs: every environment's group_vars pass its offline
validation, production is seed 000 (Valkey Serverless over TLS on 6379), and
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
- name: Validate the valkey inputs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate
      ansible.builtin.include_role:
        name: wanzami.infra.valkey
        tasks_from: validate
"""


def validate(tmp_path, env, **extra):
    playbook = tmp_path / "validate.yml"
    playbook.write_text(VALIDATE)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", f"inventories/{env}", str(playbook), "-e", json.dumps(extra)],
        cwd=REPO, env=full_env, capture_output=True, text=True, check=False,
    )


def test_production_runs_seed_000_s_cache():
    names = ("valkey_name", "valkey_mode", "valkey_engine", "valkey_port", "valkey_vpc_name", "valkey_subnet_tier",
             "valkey_security_group_name", "valkey_tags")
    prod = resolved("production", *names)
    assert prod == {
        "valkey_name": "wanzami-cache",
        "valkey_mode": "serverless",
        "valkey_engine": "valkey",
        "valkey_port": 6379,
        "valkey_vpc_name": "wanzami-vpc",
        # Seed 000's cache lives in the default VPC's subnets, which production adopts (a serverless
        # cache's subnets cannot change in place).
        "valkey_subnet_tier": "public",
        # The group the security_groups role opens to the API and workers only.
        "valkey_security_group_name": "wanzami-valkey",
        "valkey_tags": {"project": "wanzami", "environment": "production", "managed-by": "ansible"},
    }


def test_staging_is_serverless_and_local_a_node_on_the_emulator():
    staging = resolved("staging", "valkey_mode", "valkey_name")
    assert staging == {"valkey_mode": "serverless", "valkey_name": "wanzami-staging-cache"}
    assert resolved("local", "valkey_mode", "valkey_node_type") == {"valkey_mode": "replication_group",
                                                                    "valkey_node_type": "cache.t4g.micro"}


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_passes_validation(tmp_path, env):
    run = validate(tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr


def test_bad_values_are_all_named_at_once(tmp_path):
    run = validate(tmp_path, "production", valkey_name="Bad--Name", valkey_port=6380, valkey_multi_az=True,
                   valkey_snapshot_time="3am", valkey_max_ecpu_per_second=10, valkey_engine_version="eight",
                   valkey_maintenance_window="sunday", valkey_kms_key_id="alias/cache")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    for message in (
        "valkey_name 'Bad--Name' must be 2 to 40 lowercase letters",
        "valkey_engine_version 'eight' must look like 8.0",
        "valkey_port is 6380, but serverless caches always listen on 6379",
        "valkey_max_ecpu_per_second 10 must be between 1000 and 15000000",
        "valkey_multi_az needs a replica in another zone",
        "valkey_snapshot_time '3am' must be a UTC time of day",
        "valkey_maintenance_window 'sunday' must look like sun:05:00-sun:06:00",
        "valkey_kms_key_id 'alias/cache' must be a KMS key ARN",
    ):
        assert message in " ".join(out.split()), message


def test_the_argument_spec_refuses_an_unknown_mode(tmp_path):
    run = validate(tmp_path, "production", valkey_mode="cluster")
    assert run.returncode != 0
    assert "valkey_mode" in run.stdout and "serverless, replication_group" in run.stdout
