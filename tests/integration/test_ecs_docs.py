"""The ecs_cluster and cloudwatchlogs_log_group modules document themselves: ansible-doc
renders them, every option of their argument spec is documented with the same type,
default, choices, aliases and suboptions, and they are in the aws action group."""

import subprocess

import pytest
import yaml

from ansible_collections.wanzami.infra.plugins.modules import cloudwatchlogs_log_group
from ansible_collections.wanzami.infra.plugins.modules import ecs_cluster
from tests.conftest import BIN
from tests.conftest import REPO
from tests.integration.test_elasticache_docs import FRAGMENT_OPTIONS
from tests.integration.test_elasticache_docs import argument_spec
from tests.integration.test_elasticache_docs import assert_same
from tests.integration.test_elasticache_docs import documented

MODULES = {"ecs_cluster": ecs_cluster, "cloudwatchlogs_log_group": cloudwatchlogs_log_group}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_ansible_doc_renders_the_module(name):
    out = subprocess.run([str(BIN / "ansible-doc"), f"wanzami.infra.{name}"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "EXAMPLES" in out and "RETURN VALUES" in out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_option_is_documented_as_it_is_declared(name, monkeypatch):
    spec = argument_spec(MODULES[name], monkeypatch)
    options = documented(name)["doc"]["options"]

    assert_same(spec, options, "")
    assert set(options) - FRAGMENT_OPTIONS == set(spec), "documented options that the module does not declare"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_module_is_in_the_aws_action_group(name):
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert name in runtime["action_groups"]["aws"]


def test_the_role_and_the_module_agree_on_retention_values():
    spec = yaml.safe_load((REPO / "roles/ecs_cluster/meta/argument_specs.yml").read_text())["argument_specs"]["main"]
    role_values = spec["options"]["ecs_cluster_log_retention_days"]["choices"]
    module_values = documented("cloudwatchlogs_log_group")["doc"]["options"]["retention"]["choices"]
    assert [0, *role_values] == module_values
