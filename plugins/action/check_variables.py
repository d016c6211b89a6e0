# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for wanzami.infra.check_variables: runs on the controller, where the variables and the
collection's files are (a module on the target would see neither). Read-only; never changed."""

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.wanzami.infra.plugins.module_utils import variables

# plugins/action/check_variables.py -> the collection's root (roles/, playbooks/ beside plugins/).
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def known_names(task_vars, prefixes):
    roles = os.path.join(COLLECTION, "roles")
    known = set()
    for role in sorted(os.listdir(roles)):
        spec = os.path.join(roles, role, "meta", "argument_specs.yml")
        if os.path.isfile(spec):
            with open(spec, encoding="utf-8") as handle:
                known |= variables.spec_options(yaml.safe_load(handle))
    # What roles and playbooks read besides their specs, and the shared defaults (group_vars/all, which the
    # inventory links), are named in their text.
    paths = [roles, os.path.join(COLLECTION, "playbooks"), task_vars.get("playbook_dir", "")]
    for inventory_dir in {task_vars.get("inventory_dir") or ""}:
        paths.append(os.path.join(inventory_dir, "group_vars", "all"))
    return known | variables.scan([p for p in paths if p and os.path.exists(p)], prefixes)


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("mode",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused
        task_vars = task_vars or {}
        mode = self._task.args.get("mode", "fail")
        if mode not in ("fail", "warn", "ignore"):
            raise AnsibleActionFail(f"wanzami_unknown_variables must be fail, warn or ignore, not {mode!r}")
        result.update(changed=False, unknown=[])
        if mode == "ignore":
            return result
        roles = [name for name in os.listdir(os.path.join(COLLECTION, "roles"))
                 if os.path.isdir(os.path.join(COLLECTION, "roles", name))]
        prefixes = variables.prefixes_of(roles)
        found = variables.unknown(task_vars.keys(), known_names(task_vars, prefixes), prefixes)
        result["unknown"] = [{"name": name, "closest": suggestion} for name, suggestion in found]
        if found:
            text = variables.message(found, mode)
            if mode == "fail":
                result.update(failed=True, msg=text)
            else:
                self._display.warning(text)
                result["msg"] = text
        return result
