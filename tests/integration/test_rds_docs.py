"""The rds modules and filter document themselves: ansible-doc renders them, and every
option a module declares is documented with the same type, default, choices, aliases
and requirement."""

import json
import subprocess

import pytest
import yaml

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.modules import rds_master_user_secret
from ansible_collections.wanzami.infra.plugins.modules import rds_parameter_group
from tests.conftest import BIN
from tests.conftest import REPO

# Documented by amazon.aws.common.modules, amazon.aws.region.modules and amazon.aws.boto3.
FRAGMENT_OPTIONS = {"access_key", "aws_ca_bundle", "aws_config", "debug_botocore_endpoint_logs", "endpoint_url", "profile",
                    "region", "secret_key", "session_token", "validate_certs"}
MODULES = {"rds_parameter_group": rds_parameter_group, "rds_master_user_secret": rds_master_user_secret}


def ansible_doc(*args):
    return subprocess.run([str(BIN / "ansible-doc"), *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


class Captured(Exception):
    pass


def declared_options(module, monkeypatch):
    def capture(self, **kwargs):
        raise Captured(kwargs)

    monkeypatch.setattr(WanzamiInfraAWSModule, "__init__", capture)
    with pytest.raises(Captured) as captured:
        module.main()
    return captured.value.args[0]["argument_spec"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_ansible_doc_renders_the_module(name):
    out = ansible_doc(f"wanzami.infra.{name}")
    assert "EXAMPLES" in out and "RETURN VALUES" in out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_option_is_documented_as_it_is_declared(name, monkeypatch):
    spec = declared_options(MODULES[name], monkeypatch)
    docs = json.loads(ansible_doc("--json", f"wanzami.infra.{name}"))[f"wanzami.infra.{name}"]["doc"]["options"]
    for option, declared in spec.items():
        assert option in docs, f"{name}: {option} is not documented"
        doc = docs[option]
        for key, fallback in (("type", "str"), ("default", None), ("choices", None), ("elements", None)):
            assert doc.get(key, fallback) == declared.get(key, fallback), f"{name}: {option}.{key}"
        assert sorted(doc.get("aliases", [])) == sorted(declared.get("aliases", [])), f"{name}: {option}.aliases"
        assert bool(doc.get("required")) == bool(declared.get("required")), f"{name}: {option}.required"
    assert set(docs) - FRAGMENT_OPTIONS == set(spec), f"{name}: documented options that the module does not declare"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_module_is_in_the_aws_action_group(name):
    # Otherwise module_defaults (region, endpoint, credentials) never reach it.
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert name in runtime["action_groups"]["aws"]


def test_ansible_doc_renders_the_filter():
    assert "EXAMPLES" in ansible_doc("-t", "filter", "wanzami.infra.rds_input_errors")
