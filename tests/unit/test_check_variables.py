"""wanzami.infra.check_variables' judgement (module_utils/variables.py) and the names it knows in this
repository: a typo of a role's variable is caught with the closest name; nothing the inventories set is."""

import subprocess

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils import variables
from tests.conftest import BIN
from tests.conftest import REPO

PREFIXES = variables.prefixes_of(["vpc", "ecs_service", "release", "release_image"])


def test_prefixes_are_each_role_and_wanzami_longest_first():
    assert PREFIXES[0] == "release_image_" and set(PREFIXES) == {"vpc_", "ecs_service_", "release_", "release_image_",
                                                                 "wanzami_"}


def test_spec_options_are_every_entry_points_top_level_options():
    spec = {"argument_specs": {"main": {"options": {"vpc_cidr": {}, "vpc_subnets": {"options": {"cidr": {}}}}},
                               "teardown": {"options": {"vpc_teardown_wait": {}}}, "empty": None}}
    assert variables.spec_options(spec) == {"vpc_cidr", "vpc_subnets", "vpc_teardown_wait"}
    assert variables.spec_options(None) == set()


def test_identifiers_keep_only_ours():
    text = "{{ ecs_service_services | map(attribute='name') }} vpc_id: x\n other_thing: wanzami_env"
    assert variables.identifiers(text, PREFIXES) == {"ecs_service_services", "vpc_id", "wanzami_env"}


def test_scan_reads_yaml_and_templates_and_does_not_loop_on_links(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "main.yml").write_text("- debug: {msg: '{{ vpc_name }}'}\n")
    (tmp_path / "t.j2").write_text("{{ release_image_tag }}")
    (tmp_path / "notes.txt").write_text("vpc_not_read")
    (tmp_path / "tasks" / "loop").symlink_to(tmp_path)
    assert variables.scan([tmp_path], PREFIXES) == {"vpc_name", "release_image_tag"}


def test_unknown_names_ours_only_with_the_closest_known():
    known = {"ecs_service_services", "ecs_service_region", "wanzami_region", "vpc_cidr"}
    given = ["ecs_service_servics", "wanzami_region", "ansible_check_mode", "vpc_cdir", "vpc_zzzzzzzzzzz", "hostvars"]
    assert variables.unknown(given, known, PREFIXES) == [
        ("ecs_service_servics", "ecs_service_services"), ("vpc_cdir", "vpc_cidr"), ("vpc_zzzzzzzzzzz", None)]


def test_the_message_names_each_and_says_how_to_go_on():
    text = variables.message([("ecs_service_servics", "ecs_service_services"), ("vpc_x", None)])
    assert text.startswith("Stopped before any change: 2 ")
    assert "ecs_service_servics is set but no role or playbook reads it (did you mean ecs_service_services?)" in text
    assert "vpc_x is set but no role or playbook reads it;" not in text and text.endswith("vpc_x is set but no role "
                                                                                          "or playbook reads it")
    assert "wanzami_unknown_variables: warn" in text
    assert not variables.message([("vpc_x", None)], "warn").startswith("Stopped")


INVENTORIES = sorted(str(p.parent.relative_to(REPO)) for p in REPO.glob("inventories/**/hosts.yml"))


def check(inventory, *extra):
    return subprocess.run([str(BIN / "ansible"), "-i", inventory, "localhost", "-m", "wanzami.infra.check_variables",
                           *extra], cwd=REPO, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_inventory_sets_only_what_something_reads(inventory):
    result = check(inventory)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_typo_in_group_vars_is_refused_naming_the_closest(tmp_path):
    # inventories/local as a person would leave it with one key misspelt in its group_vars.
    (tmp_path / "group_vars" / "local").mkdir(parents=True)
    (tmp_path / "group_vars" / "all").symlink_to(REPO / "group_vars" / "all")
    (tmp_path / "hosts.yml").write_text((REPO / "inventories/local/hosts.yml").read_text())
    local = (REPO / "group_vars/local/main.yml").read_text()
    assert "\nvpc_nat_mode: single\n" in local
    (tmp_path / "group_vars" / "local" / "main.yml").write_text(local.replace("\nvpc_nat_mode:", "\nvpc_nat_mdoe:"))
    result = check(str(tmp_path))
    assert result.returncode != 0
    said = " ".join(result.stdout.split())
    assert "vpc_nat_mdoe is set but no role or playbook reads it (did you mean vpc_nat_mode?)" in said, said
    warned = check(str(tmp_path), "-a", "mode=warn")
    assert warned.returncode == 0 and "vpc_nat_mdoe" in warned.stderr + warned.stdout
