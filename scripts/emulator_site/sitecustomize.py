"""Runs against the emulator: shorter fixed waits, and module code compiled once.

Python imports this file at start-up in every process that has this directory on PYTHONPATH:
tests/emulator.py's Emulator.env(), the molecule scenarios and make demo put it there, for
ansible-playbook and the module processes it starts. Each part does nothing unless its variable is set.

Shorter fixed waits (WANZAMI_EMULATOR_SLEEP_SCALE; docs/emulator.md, "Emulator notes").

AWS is eventually consistent, so amazon.aws and community.aws modules sleep a fixed time after
some creates whatever the answer (ec2_security_group 3 s per new group, ec2_vpc_route_table 5 s
per changed table, autoscaling_group 10 s...), and botocore waiters sleep their whole delay
between two polls (ElastiCache 15 s). The emulator is consistent at once, so against it those
seconds are dead time: a third of a first site.yml. With a scale, a sleep called from one of
those modules or from botocore's waiter lasts that fraction (never under 10 ms). Every poll
still happens and every timeout still counts its attempts; nothing else sleeps less (botocore's
retry backoff, Ansible's until/delay, our own modules' polling), and production never sets it.

Module code compiled once (WANZAMI_MODULE_CODE_CACHE=DIRECTORY; docs/tests.md, "Speed").
Ansible runs every module from a zip it writes anew for each task, and Python's zipimport keeps no
compiled code: each module process compiles the module and every module_util it imports from
source, twice (zipimport's find_spec compiles to learn a file name). That is a quarter of a module
run (0.1 s of 0.4, measured with py-spy on a converged site.yml). With the variable set, the code
compiled from a source is kept in DIRECTORY under a hash of the source and the interpreter's magic
number, and later processes load it, as Python does for every other import with __pycache__. What
runs is what the source says: same bytes, same code; the file names in tracebacks are this run's.
"""

import os
import sys
import time

_SCALED_CALLERS = (
    "/ansible_collections/amazon/aws/plugins/modules/",
    "/ansible_collections/community/aws/plugins/modules/",
    f"{os.sep}botocore{os.sep}waiter.py",
)


def _scaled(real_sleep, scale):
    def sleep(seconds):
        caller = sys._getframe(1).f_code.co_filename
        if any(part in caller for part in _SCALED_CALLERS):
            seconds = max(0.01, seconds * scale)
        real_sleep(seconds)

    return sleep


def _cached_compile(compile_source, cache):
    import _imp
    import hashlib
    import importlib.util
    import marshal

    magic = importlib.util.MAGIC_NUMBER

    def compile_zipped_source(pathname, source):
        path = os.path.join(cache, hashlib.blake2b(magic + source, digest_size=20).hexdigest())
        try:
            with open(path, "rb") as kept:
                code = marshal.loads(kept.read())  # noqa: S302 - our own scratch directory, trusted as __pycache__ is
        except (OSError, EOFError, ValueError, TypeError):
            code = compile_source(pathname, source)
            try:
                os.makedirs(cache, exist_ok=True)
                partial = f"{path}.{os.getpid()}"
                with open(partial, "wb") as kept:
                    kept.write(marshal.dumps(code))
                os.replace(partial, path)  # whole or absent: processes in parallel read and write here
            except OSError:
                pass
            return code
        _imp._fix_co_filename(code, pathname)
        return code

    return compile_zipped_source


def _install_code_cache():
    cache = os.environ.get("WANZAMI_MODULE_CODE_CACHE", "")
    if not cache:
        return
    import zipimport

    # CPython's zipimport compiles every source through this one function (3.8 to 3.13); elsewhere, no cache.
    if callable(getattr(zipimport, "_compile_source", None)):
        zipimport._compile_source = _cached_compile(zipimport._compile_source, cache)


def _install_sleep_scale():
    value = os.environ.get("WANZAMI_EMULATOR_SLEEP_SCALE", "")
    if not value:
        return
    try:
        scale = float(value)
    except ValueError:
        sys.stderr.write(f"WANZAMI_EMULATOR_SLEEP_SCALE={value!r} is not a number; waits are not scaled\n")
        return
    if 0 <= scale < 1:
        time.sleep = _scaled(time.sleep, scale)


_install_sleep_scale()
_install_code_cache()
