#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: check_variables
short_description: Refuse inventory variables that look like ours but that nothing reads (typos)
version_added: 1.0.0
description:
  - Looks at every variable the play sees (inventory, group_vars, extra vars) whose name starts with a role's
    prefix (C(vpc_), C(ecs_service_), C(release_image_)...) or C(wanzami_).
  - Such a variable is known when a role's C(meta/argument_specs.yml) declares it, or when a role, a playbook or
    the shared C(group_vars/all) names it. Any other is a typo or a leftover; it would change nothing, silently.
  - With O(mode=fail) the task fails naming each one and the closest known name ("did you mean
    ecs_service_services?"); O(mode=warn) warns and goes on.
  - An action plugin, run on the controller; it makes no API call and is never changed, and check mode runs it too.
author:
  - Contributors to the wanzami.infra collection
options:
  mode:
    description: What an unknown variable does.
    type: str
    choices: [fail, warn, ignore]
    default: fail
notes:
  - The playbooks pass O(mode) from C(wanzami_unknown_variables).
"""

EXAMPLES = r"""
- name: Refuse variables nothing reads
  wanzami.infra.check_variables:
    mode: "{{ wanzami_unknown_variables }}"
"""

RETURN = r"""
unknown:
  description: Each unknown variable and the closest known name (null when none is close).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "ecs_service_servics", "closest": "ecs_service_services"}]
"""
