"""Every molecule scenario (one per role): create (start its own emulator),
converge, idempotence, check mode, verify against what the emulator holds,
destroy. Each scenario has its own emulator port, so they never share state."""

import os
import subprocess

import pytest

from tests.conftest import BIN
from tests.conftest import REPO

SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def run_scenario(scenario):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", PY_COLORS="0", ANSIBLE_FORCE_COLOR="0",
               NO_COLOR="1")
    result = subprocess.run([str(BIN / "molecule"), "test", "-s", scenario], cwd=REPO, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-12000:]


def scenario_class(scenario):
    @pytest.mark.molecule
    def test_scenario(self):
        run_scenario(scenario)

    return type(f"TestScenario_{scenario}", (), {"test_scenario": test_scenario})


# One class per scenario: `make test` spreads tests over two workers by scope
# (pytest-xdist --dist loadscope), a class being a scope, so scenarios run side
# by side while each system journey module stays in order on one worker.
for _scenario in SCENARIOS:
    globals()[f"TestScenario_{_scenario}"] = scenario_class(_scenario)


def test_every_role_has_a_scenario():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    assert [r for r in roles if r not in SCENARIOS] == []
