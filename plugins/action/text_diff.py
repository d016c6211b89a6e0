# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for wanzami.infra.text_diff: compares two texts on the controller, with no module run and
no scratch file (the template, copy and file modules that did this cost four module runs a provisioning)."""

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


def changed_keys(before, after):
    """The NAME of each NAME=value line that was added, removed or changed, in order of appearance."""
    def pairs(text):
        found = {}
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                found[key.strip()] = value
        return found

    old, new = pairs(before), pairs(after)
    return [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("before", "after", "before_header", "after_header", "resource"))
    # Reads nothing and changes nothing, so a dry run runs it as a real run does.
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused
        args = self._task.args
        if "after" not in args:
            raise AnsibleActionFail("text_diff: after (the text as it should be) is required")
        texts = {}
        for name in ("before", "after"):
            value = args.get(name, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise AnsibleActionFail(f"text_diff: {name} must be a text, not {type(value).__name__}")
            texts[name] = value
        changed = texts["before"] != texts["after"]
        result["changed"] = changed
        result["changed_keys"] = changed_keys(texts["before"], texts["after"]) if changed else []
        if changed and args.get("resource"):
            entry = {"action": "change" if texts["before"] else "create", "resource": args["resource"]}
            if texts["before"]:
                entry["attributes"] = result["changed_keys"]
            result["wanzami_plan"] = [entry]
        if self._task.diff and changed:
            result["diff"] = {"before": texts["before"], "after": texts["after"],
                              "before_header": args.get("before_header") or "before",
                              "after_header": args.get("after_header") or "after"}
        return result
