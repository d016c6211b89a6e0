# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for wanzami.infra.ecr_authorization: runs the module and hides its whole
successful result from the callbacks, as no_log: true on the task would, because it holds a
registry password. The registered variable keeps every value. A failure is shown.

A module cannot do this itself: ansible-core strips _ansible_* keys from a module's result,
and a value added to module.no_log_values is replaced by a placeholder in the result."""

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused
        result.update(self._execute_module(module_name="wanzami.infra.ecr_authorization",
                                           module_args=self._task.args, task_vars=task_vars))
        # A failure holds no password (the module failed before it had one) and its message is needed.
        if not result.get("failed"):
            result["_ansible_no_log"] = True
        return result
