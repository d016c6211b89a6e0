"""The ecs_cluster role and the cloudwatchlogs_log_group module accept the same
retention values (the module also takes 0, "never expire"). The checks every
module shares are in test_module_docs.py."""

import yaml

from tests.conftest import REPO
from tests.integration.test_module_docs import documented


def test_the_role_and_the_module_agree_on_retention_values():
    spec = yaml.safe_load((REPO / "roles/ecs_cluster/meta/argument_specs.yml").read_text())["argument_specs"]["main"]
    role_values = spec["options"]["ecs_cluster_log_retention_days"]["choices"]
    module_values = documented("cloudwatchlogs_log_group")["doc"]["options"]["retention"]["choices"]
    assert [0, *role_values] == module_values
