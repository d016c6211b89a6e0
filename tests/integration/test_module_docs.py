"""Every module in plugins/modules documents itself: ansible-doc renders it, every
option of its argument spec is documented with the same type, default, choices,
aliases, elements and suboptions (what ansible-test's validate-modules checks,
without its environment), and it is in the aws action group, without which
module_defaults (region, endpoint, credentials) never reach it."""

import importlib
import json
import re
import subprocess

import pytest
import yaml

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from tests.conftest import BIN
from tests.conftest import REPO

# Documented by amazon.aws.common.modules, amazon.aws.region.modules and amazon.aws.boto3.
FRAGMENT_OPTIONS = {"access_key", "aws_ca_bundle", "aws_config", "debug_botocore_endpoint_logs", "endpoint_url", "profile",
                    "region", "secret_key", "session_token", "validate_certs"}
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
# Documentation-only module files of action plugins that run on the controller and call no AWS API
# (check_variables): their options are the action plugin's, and no AWS connection settings reach them.
CONTROLLER_ONLY = sorted(name for name in MODULES
                         if "def main(" not in (REPO / "plugins" / "modules" / f"{name}.py").read_text())
AWS_MODULES = [name for name in MODULES if name not in CONTROLLER_ONLY]


def documented(name):
    out = subprocess.run([str(BIN / "ansible-doc"), "--json", f"wanzami.infra.{name}"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[f"wanzami.infra.{name}"]


class Captured(Exception):
    pass


def argument_spec(name, monkeypatch):
    """The module's own options, captured where main() builds the module."""

    def capture(self, **kwargs):
        raise Captured(kwargs)

    module = importlib.import_module(f"ansible_collections.wanzami.infra.plugins.modules.{name}")
    monkeypatch.setattr(WanzamiInfraAWSModule, "__init__", capture)
    with pytest.raises(Captured) as captured:
        module.main()
    return captured.value.args[0]["argument_spec"]


def assert_same(spec, docs, path):
    for name, option in spec.items():
        where = f"{path}{name}"
        assert name in docs, f"{where} is not documented"
        doc = docs[name]
        assert doc.get("type", "str") == option.get("type", "str"), where
        assert doc.get("default") == option.get("default"), where
        assert doc.get("choices") == option.get("choices"), where
        assert sorted(doc.get("aliases", [])) == sorted(option.get("aliases", [])), where
        assert doc.get("elements") == option.get("elements"), where
        assert bool(doc.get("required")) == bool(option.get("required")), where
        if option.get("options"):
            assert_same(option["options"], doc.get("suboptions", {}), f"{where}.")


def test_the_aws_action_group_names_exactly_our_modules():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert sorted(e for e in runtime["action_groups"]["aws"] if isinstance(e, str)) == AWS_MODULES


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_the_module(name):
    out = subprocess.run([str(BIN / "ansible-doc"), f"wanzami.infra.{name}"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "EXAMPLES" in out and "RETURN VALUES" in out


@pytest.mark.parametrize("name", AWS_MODULES)
def test_every_option_is_documented_as_it_is_declared(name, monkeypatch):
    spec = argument_spec(name, monkeypatch)
    options = documented(name)["doc"]["options"]
    assert_same(spec, options, "")
    assert set(options) - FRAGMENT_OPTIONS == set(spec), "documented options that the module does not declare"


@pytest.mark.parametrize("name", AWS_MODULES)
def test_the_module_is_in_the_aws_action_group(name):
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert name in runtime["action_groups"]["aws"]


@pytest.mark.parametrize("name", CONTROLLER_ONLY)
def test_a_controller_only_module_documents_exactly_its_action_plugins_arguments(name):
    text = (REPO / "plugins" / "action" / f"{name}.py").read_text()
    valid = set(re.findall(r'"([a-z_]+)"', text.split("_VALID_ARGS", 1)[1].split(")", 1)[0]))
    assert set(documented(name)["doc"]["options"]) == valid
