"""scripts/emulator_site/sitecustomize.py: against the emulator, only the fixed waits of amazon.aws and
community.aws modules and of botocore's waiters are shortened; every other sleep lasts what it asks."""

import json
import os
import subprocess
import sys

import pytest

from tests.emulator import SLEEP_SCALE
from tests.emulator import SLEEP_SITE

# Runs a 0.2 s sleep as if called from each file in CALLERS (module payloads are unpacked under a temporary
# directory); prints how long each took.
PROBE = """
import json, time
took = {}
for caller in CALLERS:
    source = "import time\\nstarted = time.monotonic()\\ntime.sleep(0.2)\\nelapsed = time.monotonic() - started"
    code = compile(source, caller, "exec")
    scope = {}
    exec(code, scope)
    took[caller] = scope["elapsed"]
print(json.dumps(took))
"""

MODULE = "ansible_x_payload.zip/ansible_collections/amazon/aws/plugins/modules/ec2_security_group.py"
COMMUNITY = "ansible_y_payload.zip/ansible_collections/community/aws/plugins/modules/elasticache.py"
WAITER = os.path.join(os.sep, "venv", "site-packages", "botocore", "waiter.py")
UNSCALED = [
    "ansible_z_payload.zip/ansible_collections/amazon/aws/plugins/module_utils/retries.py",  # throttling backoff
    os.path.join(os.sep, "venv", "site-packages", "botocore", "retryhandler.py"),
    "ansible_w_payload.zip/ansible_collections/wanzami/infra/plugins/modules/ecs_release.py",
    "/venv/site-packages/ansible/executor/task_executor.py",  # until/retries/delay
]


def probe(scale):
    env = {k: v for k, v in os.environ.items() if k != "WANZAMI_EMULATOR_SLEEP_SCALE"}
    env["PYTHONPATH"] = str(SLEEP_SITE)
    if scale is not None:
        env["WANZAMI_EMULATOR_SLEEP_SCALE"] = scale
    callers = [MODULE, COMMUNITY, WAITER, *UNSCALED]
    out = subprocess.run([sys.executable, "-c", f"CALLERS = {callers!r}\n{PROBE}"], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout), out.stderr


def test_with_the_scale_only_the_aws_modules_and_waiters_sleep_less():
    took, _ = probe(SLEEP_SCALE)
    for caller in (MODULE, COMMUNITY, WAITER):
        assert took[caller] < 0.1, (caller, took[caller])
    for caller in UNSCALED:
        assert took[caller] >= 0.2, (caller, took[caller])


@pytest.mark.parametrize("scale", [None, "", "1", "not-a-number"])
def test_without_a_scale_below_one_every_sleep_lasts_what_it_asks(scale):
    took, stderr = probe(scale)
    assert all(seconds >= 0.2 for seconds in took.values()), took
    assert ("is not a number" in stderr) == (scale == "not-a-number")
