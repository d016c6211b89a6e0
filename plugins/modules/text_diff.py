#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: text_diff
short_description: Say whether a text would change, with its diff, without a file or a module run
version_added: 1.0.0
description:
  - Compares O(before) (what is there now, such as an object read from S3) with O(after) (what it should be,
    such as a template rendered with C(lookup('ansible.builtin.template', ...))).
  - Changed when they differ; with C(--diff) the result carries the diff, shown as the template module shows
    one. For C(NAME=value) lines (an env file), RV(changed_keys) names every line added, removed or changed.
  - With O(resource), a change is also a row of the plan table (callback C(wanzami.infra.plan)) naming the
    changed keys.
  - An action plugin, run on the controller; it makes no API call, writes nothing, and check mode runs it as a
    real run does. Whatever writes the new text (C(amazon.aws.s3_object) with C(content)) runs when it is changed.
author:
  - Contributors to the wanzami.infra collection
options:
  before:
    description: The text as it is now; empty or null when there is none yet.
    type: str
    default: ""
  after:
    description: The text as it should be.
    type: str
    required: true
  before_header:
    description: The name the diff shows for O(before).
    type: str
    default: before
  after_header:
    description: The name the diff shows for O(after).
    type: str
    default: after
  resource:
    description: The plan table's name for what the text is (C(s3_envfile s3://bucket/key)); no row without it.
    type: str
"""

EXAMPLES = r"""
- name: Env file | Compare the env file with what S3 holds
  wanzami.infra.text_diff:
    before: "{{ current.contents | default('') }}"
    after: "{{ lookup('ansible.builtin.template', 'env.j2') }}"
    before_header: s3://wanzami-ecs-config-us-east-2/wanzami_assets/.env
    after_header: s3_envfile_variables
    resource: s3_envfile s3://wanzami-ecs-config-us-east-2/wanzami_assets/.env
  register: compared
"""

RETURN = r"""
changed_keys:
  description: The NAME of each NAME=value line added, removed or changed (comment lines are left out).
  returned: always
  type: list
  elements: str
  sample: ["DEVICE_LIMIT", "REDIS_URL"]
"""
