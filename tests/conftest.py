import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator import Emulator

REPO = Path(__file__).resolve().parent.parent
# Unit tests import modules as Ansible loads them: ansible_collections.wanzami.infra.*
# (collections/ holds the committed symlinks; ansible_collections is a namespace package).
if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


class PlaybookRun:
    def __init__(self, completed):
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr
        found = RECAP.findall(completed.stdout)
        self.recap = {host: dict(zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, numbers), strict=True))
                      for host, *numbers in found}

    @property
    def changed(self):
        return sum(r["changed"] for r in self.recap.values())

    @property
    def failed(self):
        return sum(r["failed"] + r["unreachable"] for r in self.recap.values())

    def __repr__(self):
        return f"<PlaybookRun rc={self.rc} recap={self.recap}>\n{self.output[-6000:]}"


def run_playbook(playbook, *args, inventory="inventories/local", env=None, check=True, cwd=REPO):
    """ansible-playbook from the repo root (or cwd, a copy of it) with this venv; returns a PlaybookRun."""
    full_env = dict(os.environ)
    full_env.update({"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
    full_env.update(env or {})
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", inventory, str(playbook), *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, check=False,
    )
    run = PlaybookRun(completed)
    if check:
        assert run.rc == 0, run
    return run


POLICY = REPO / "docs" / "iam" / "operator-policy.json"


def assert_the_operator_policy_allows_everything_recorded(emulator):
    """Every request this module's journeys made (tests/emulator.py keeps them all) is one that
    docs/iam/operator-policy.json allows (scripts/iam-policy --check); returns the IAM actions they needed."""
    recording = emulator.everything_recorded()
    assert recording.stat().st_size > 0, "the emulator recorded no request"
    script = [sys.executable, str(REPO / "scripts" / "iam-policy")]
    checked = subprocess.run([*script, "--check", str(POLICY), "--partial", str(recording)],
                             cwd=REPO, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = subprocess.run([*script, "--list", str(recording)], cwd=REPO, capture_output=True, text=True, check=True)
    return set(json.loads(listed.stdout))


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A fresh emulator for one test module, on a free port, stopped afterwards."""
    emu = Emulator(tmp_path_factory.mktemp("emulator")).start()
    yield emu
    emu.stop()


# The longest scopes (minutes each, from `make test`'s --durations), started first: pytest-xdist's
# loadscope hands scopes out in collection order, and a long one handed out last is the whole run's
# tail. Items keep their order inside a scope (journeys are ordered).
SLOW_SCOPES_FIRST = (
    "tests/system/test_examples.py::TestExample_public_aurora_cron",
    "tests/system/test_examples.py::TestExample_private_nat_https",
    "tests/system/test_teardown.py",
    "tests/system/test_production.py",
    "tests/system/test_not_ours.py",
    "tests/system/test_init.py",
    "tests/system/test_brownfield.py::TestSeed000OnMiniStack",
    "tests/system/test_brownfield.py::TestSeed000OnMoto",
    "tests/molecule/test_scenarios.py::TestScenario_ec2_asg",
    "tests/system/test_site.py",
    "tests/system/test_examples.py::TestExample_ec2_asg",
    "tests/system/test_bad_input.py",
    "tests/molecule/test_scenarios.py::TestScenario_ecs_service",
    "tests/molecule/test_scenarios.py::TestScenario_observability",
    "tests/molecule/test_scenarios.py::TestScenario_ec2_single",
    "tests/molecule/test_scenarios.py::TestScenario_release_image",
    "tests/system/test_secrets.py",
    "tests/system/test_examples.py::TestExample_ec2_phase1",
    "tests/system/test_examples.py::TestExample_public_aurora_cron_on_ministack",
    "tests/system/test_vpc_adopt.py",
    "tests/system/test_plan.py",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        scope = item.nodeid.split("[", 1)[0].rsplit("::", 1)[0]
        return next((i for i, slow in enumerate(SLOW_SCOPES_FIRST) if scope == slow), len(SLOW_SCOPES_FIRST))

    items.sort(key=rank)  # stable: the order inside each scope is kept
