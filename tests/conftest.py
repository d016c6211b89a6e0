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


def run_playbook(playbook, *args, inventory="inventories/local", env=None, check=True):
    """ansible-playbook from the repo root with this venv; returns a PlaybookRun."""
    full_env = dict(os.environ)
    full_env.update({"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
    full_env.update(env or {})
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", inventory, str(playbook), *args],
        cwd=REPO, env=full_env, capture_output=True, text=True, check=False,
    )
    run = PlaybookRun(completed)
    if check:
        assert run.rc == 0, run
    return run


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A fresh emulator for one test module, on a free port, stopped afterwards."""
    emu = Emulator(tmp_path_factory.mktemp("emulator")).start()
    yield emu
    emu.stop()
