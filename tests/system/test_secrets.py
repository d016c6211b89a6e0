"""Secrets travel from ansible-vault to SSM Parameter Store through
playbooks/secrets.yml alone, and never appear in its output, even at -vvv."""

import subprocess

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import run_playbook

pytestmark = pytest.mark.system


def vault_values():
    plain = subprocess.run(
        [str(BIN / "ansible-vault"), "view", "--vault-password-file", "vault/local.password", "vault/local.yml"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    return yaml.safe_load(plain)["wanzami_secret_values"]


def test_secrets_reach_parameter_store_without_being_printed(emulator):
    values = vault_values()
    args = ("--vault-password-file", "vault/local.password", "-vvv")
    first = run_playbook("playbooks/secrets.yml", *args, env=emulator.env())
    second = run_playbook("playbooks/secrets.yml", *args, env=emulator.env())
    assert second.changed == 0
    for value in values.values():
        assert value not in first.output + second.output

    ssm = emulator.client("ssm")
    stored = {p["Name"]: p for p in ssm.get_parameters_by_path(Path="/wanzami/local", WithDecryption=True)["Parameters"]}
    assert {name: p["Value"] for name, p in stored.items()} == {f"/wanzami/local/{k}": v for k, v in values.items()}
    assert {p["Type"] for p in stored.values()} == {"SecureString"}


def test_a_missing_secret_is_named(emulator, tmp_path):
    incomplete = tmp_path / "vault.yml"
    incomplete.write_text(yaml.safe_dump({"wanzami_secret_values": {"JWT_ACCESS_SECRET": "x"}}))
    run = run_playbook("playbooks/secrets.yml", "-e", f"wanzami_vault_file={incomplete}", env=emulator.env(), check=False)
    assert run.rc != 0
    assert "The vault file has no value for DATABASE_PASSWORD, JWT_REFRESH_SECRET" in " ".join(run.output.split())
