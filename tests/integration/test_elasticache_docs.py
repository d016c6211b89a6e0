"""The ElastiCache modules document themselves: ansible-doc renders them, and
every option of their argument spec is documented with the same type,
default, choices, aliases and suboptions (what ansible-test's validate-modules
checks, without needing ansible-test's environment)."""

import json
import subprocess

import pytest
import yaml

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.modules import elasticache_replication_group
from ansible_collections.wanzami.infra.plugins.modules import elasticache_serverless
from tests.conftest import BIN
from tests.conftest import REPO

# Documented by amazon.aws.common.modules, amazon.aws.region.modules and amazon.aws.boto3.
FRAGMENT_OPTIONS = {"access_key", "aws_ca_bundle", "aws_config", "debug_botocore_endpoint_logs", "endpoint_url", "profile",
                    "region", "secret_key", "session_token", "validate_certs"}
MODULES = {"elasticache_serverless": elasticache_serverless, "elasticache_replication_group": elasticache_replication_group}


def documented(name):
    out = subprocess.run([str(BIN / "ansible-doc"), "--json", f"wanzami.infra.{name}"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[f"wanzami.infra.{name}"]


class Captured(Exception):
    pass


def argument_spec(module, monkeypatch):
    def capture(self, **kwargs):
        raise Captured(kwargs)

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


@pytest.mark.parametrize("name", sorted(MODULES))
def test_ansible_doc_renders_the_module(name):
    out = subprocess.run([str(BIN / "ansible-doc"), f"wanzami.infra.{name}"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "EXAMPLES" in out and "RETURN VALUES" in out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_option_is_documented_as_it_is_declared(name, monkeypatch):
    # The module's own options; AnsibleAWSModule adds the connection ones, which
    # amazon.aws's documentation fragments describe.
    spec = argument_spec(MODULES[name], monkeypatch)
    options = documented(name)["doc"]["options"]

    assert_same(spec, options, "")
    assert set(options) - FRAGMENT_OPTIONS == set(spec), "documented options that the module does not declare"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_module_is_in_the_aws_action_group(name):
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert name in runtime["action_groups"]["aws"]
