"""Shorter fixed waits against the emulator (docs/emulator.md, "Emulator notes").

Python imports this file at start-up in every process that has this directory on PYTHONPATH:
tests/emulator.py's Emulator.env() and the molecule scenarios put it there, for ansible-playbook
and the module processes it starts. It does nothing unless WANZAMI_EMULATOR_SLEEP_SCALE is set.

AWS is eventually consistent, so amazon.aws and community.aws modules sleep a fixed time after
some creates whatever the answer (ec2_security_group 3 s per new group, ec2_vpc_route_table 5 s
per changed table, autoscaling_group 10 s...), and botocore waiters sleep their whole delay
between two polls (ElastiCache 15 s). The emulator is consistent at once, so against it those
seconds are dead time: a third of a first site.yml. With a scale, a sleep called from one of
those modules or from botocore's waiter lasts that fraction (never under 10 ms). Every poll
still happens and every timeout still counts its attempts; nothing else sleeps less (botocore's
retry backoff, Ansible's until/delay, our own modules' polling), and production never sets it.
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


def _install():
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


_install()
