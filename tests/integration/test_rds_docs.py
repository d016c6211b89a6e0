"""The rds role's offline validation filter documents itself. The checks every
module shares are in test_module_docs.py."""

import subprocess

from tests.conftest import BIN
from tests.conftest import REPO


def test_ansible_doc_renders_the_filter():
    out = subprocess.run([str(BIN / "ansible-doc"), "-t", "filter", "wanzami.infra.rds_input_errors"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert "EXAMPLES" in out
