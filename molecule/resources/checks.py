"""The verify steps' checkers (molecule/*/check_*.py): each fact is checked against what the
emulator holds; report() prints `ok` or `NOT` per fact and returns the exit status."""

import json


class Checks:
    def __init__(self):
        self.checked, self.failures = [], []

    def __call__(self, what, ok, got=None):
        self.checked.append(what)
        if not ok:
            self.failures.append(f"{what}: got {json.dumps(got, default=str)}")

    def report(self):
        for line in self.checked:
            print(f"ok  {line}")
        for line in self.failures:
            print(f"NOT {line}")
        return 1 if self.failures else 0
