"""docs/iam/operator-policy.json names exactly the actions of the services the roles use, split into managed
policies AWS accepts.

That it allows every call the operator's journeys make is checked where those journeys run, on their own
emulator's recording of every request (tests/conftest.py's assert_the_operator_policy_allows_everything_recorded,
the last test of test_site and test_teardown): no journey runs twice for it. The
examples' journeys (tests/system/test_examples.py) went into the policy when it was generated
(docs/iam/README.md); their services are the allowlist's rest."""

import json

import pytest

from tests.conftest import POLICY
from tests.system.test_site import SERVICES_OF_THE_LOCAL_JOURNEYS

pytestmark = pytest.mark.system

# Every service the roles call: the local journeys' (tests/system/test_site.py checks its recording uses exactly
# these), then those only the examples use (seed 002's Auto Scaling group, its DLM snapshot policies and Route 53
# health check).
SERVICES_OF_THE_EXAMPLES_ONLY = {"autoscaling", "dlm", "route53"}


def test_the_policy_names_no_service_the_roles_do_not_use():
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    actions = [action for statement in policy["Statement"] for action in statement["Action"]]
    assert {action.split(":")[0] for action in actions} <= SERVICES_OF_THE_LOCAL_JOURNEYS | SERVICES_OF_THE_EXAMPLES_ONLY
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert not [action for action in actions if "*" in action], "exact actions only"
    # The same statements, shared out over managed policies AWS's size limit allows (scripts/iam-policy --split).
    parts = sorted(POLICY.parent.glob("operator-policy-*.json"))
    assert len(parts) >= 2
    statements = [s for part in parts for s in json.loads(part.read_text())["Statement"]]
    assert sorted(statements, key=lambda s: s["Sid"]) == sorted(policy["Statement"], key=lambda s: s["Sid"])
