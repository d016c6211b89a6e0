"""scripts/emulator_site/sitecustomize.py: with WANZAMI_MODULE_CODE_CACHE, code compiled from a source in a zip
(how Ansible ships every module and module_util) is kept and reused by later processes, and what runs is always
what the zip's source says."""

import json
import marshal
import os
import subprocess
import sys
import zipfile

from tests.emulator import SLEEP_SITE

# Imports the module `probe` from the zip given as argv[1], the way an AnsiballZ payload is imported, and prints
# what it returns and the file name its code carries.
IMPORT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import probe
print(json.dumps({"value": probe.value(), "file": probe.value.__code__.co_filename}))
"""


def payload(tmp_path, name, source):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("probe.py", source)
    return path


def run(zipped, cache):
    env = {k: v for k, v in os.environ.items() if k not in ("WANZAMI_MODULE_CODE_CACHE", "WANZAMI_EMULATOR_SLEEP_SCALE")}
    env["PYTHONPATH"] = str(SLEEP_SITE)
    if cache is not None:
        env["WANZAMI_MODULE_CODE_CACHE"] = str(cache)
    done = subprocess.run([sys.executable, "-c", IMPORT, str(zipped)], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def kept_code_of(source):
    return marshal.dumps(compile(source, "elsewhere.py", "exec", dont_inherit=True))


def test_the_second_process_loads_the_kept_code_under_its_own_file_name(tmp_path):
    cache = tmp_path / "cache"
    source = "def value():\n    return 'first'\n"
    first = run(payload(tmp_path, "one.zip", source), cache)
    kept = sorted(cache.iterdir())
    assert first == {"value": "first", "file": str(tmp_path / "one.zip" / "probe.py")}
    assert len(kept) == 1
    # Another payload with the same source (Ansible writes a new zip for every task) uses the kept code: replaced
    # by code that answers otherwise, the kept file is what runs. Its file name is the new zip's.
    kept[0].write_bytes(kept_code_of("def value():\n    return 'from the cache'\n"))
    again = run(payload(tmp_path, "two.zip", source), cache)
    assert again == {"value": "from the cache", "file": str(tmp_path / "two.zip" / "probe.py")}
    assert sorted(cache.iterdir()) == kept


def test_a_changed_source_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    assert run(payload(tmp_path, "one.zip", "def value():\n    return 1\n"), cache)["value"] == 1
    assert run(payload(tmp_path, "two.zip", "def value():\n    return 2\n"), cache)["value"] == 2
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_kept_file_is_compiled_again_and_replaced(tmp_path):
    cache = tmp_path / "cache"
    source = "def value():\n    return 'whole'\n"
    run(payload(tmp_path, "one.zip", source), cache)
    (kept,) = cache.iterdir()
    kept.write_bytes(b"\xe3\x00half")
    assert run(payload(tmp_path, "two.zip", source), cache)["value"] == "whole"
    assert run(payload(tmp_path, "three.zip", source), cache)["value"] == "whole"
    assert kept.read_bytes() != b"\xe3\x00half"


def test_without_the_variable_nothing_is_kept(tmp_path):
    assert run(payload(tmp_path, "one.zip", "def value():\n    return 0\n"), None)["value"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.zip"]
