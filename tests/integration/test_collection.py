"""The repository is also the collection wanzami.infra: it resolves, documents
itself, and each role's defaults agree with its argument spec."""

import configparser
import json
import subprocess
import tarfile

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO

ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def ansible_doc(*args):
    return subprocess.run([str(BIN / "ansible-doc"), *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def test_every_role_has_a_spec_and_a_readme():
    for role in (REPO / "roles").iterdir():
        assert (role / "meta" / "argument_specs.yml").exists(), role.name
        assert (role / "README.md").exists(), role.name


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_the_role(role):
    doc = json.loads(ansible_doc("-t", "role", "--json", f"wanzami.infra.{role}"))
    entry = doc[f"wanzami.infra.{role}"]["entry_points"]["main"]
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    for name in defaults:
        assert name in entry["options"], f"{role}: {name} is in defaults/main.yml but not in the argument spec"


@pytest.mark.parametrize("role", ROLES)
def test_spec_and_defaults_agree(role):
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    for entry, body in spec.items():
        for name, option in body["options"].items():
            assert name.startswith(f"{role}_"), f"{role}: input {name} lacks the role prefix"
            if option.get("required"):
                assert name not in defaults, f"{role}: required input {name} must not have a default"
            else:
                assert name in defaults, f"{role}/{entry}: optional input {name} needs a default in defaults/main.yml"
                assert option.get("default") == defaults[name], f"{role}: default of {name} differs from the spec"


@pytest.mark.parametrize(("kind", "name"), [("filter", "vpc_layout_errors"), ("filter", "vpc_plan"),
                                           ("filter", "vpc_existing_filters"), ("filter", "vpc_adoption"), ("test", "cidr")])
def test_ansible_doc_renders_plugins(kind, name):
    assert "EXAMPLES" in ansible_doc("-t", kind, f"wanzami.infra.{name}")


def test_the_plan_callback_documents_itself_and_ansible_cfg_enables_it():
    assert "rows_per_role" in ansible_doc("-t", "callback", "wanzami.infra.plan")
    doc = json.loads(ansible_doc("-t", "callback", "--json", "wanzami.infra.plan"))["wanzami.infra.plan"]["doc"]
    assert doc["type"] == "aggregate"
    assert doc["options"]["rows_per_role"]["default"] == 10
    # Read as AWX reads it: a plain ConfigParser, where an inline comment would be part of the value.
    config = configparser.ConfigParser()
    config.read(REPO / "ansible.cfg")
    assert config["defaults"]["callbacks_enabled"] == "wanzami.infra.plan"
    assert config["defaults"]["callback_result_format"] == "yaml"
    assert "stdout_callback" not in config["defaults"], "the plan is appended to the default output, not in its place"


def test_collection_builds_without_project_files(tmp_path):
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO)],
                   capture_output=True, text=True, check=True)
    (archive,) = tmp_path.glob("wanzami-infra-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "roles/vpc/tasks/main.yml" in names
    assert "plugins/filter/network.py" in names
    assert "plugins/callback/plan.py" in names
    assert "meta/runtime.yml" in names
    assert not [n for n in names if n.startswith(("inventories", "molecule", "tests", ".venv", "group_vars"))]
