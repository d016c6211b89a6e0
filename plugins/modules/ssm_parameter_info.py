#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ssm_parameter_info
short_description: Whether SSM parameters exist, with their tags, never their values
version_added: 0.1.0
description:
  - For each name, whether the parameter exists, its type and its tags; the value is never read.
  - What a teardown needs to delete only the parameters that carry the ownership tags (M(community.aws.ssm_parameter)
    deletes by name alone, and the M(amazon.aws.ssm_parameter) lookup returns values, not tags).
  - Read-only; runs the same in check mode. A missing parameter is an answer, not a failure.
author:
  - Wanzami infrastructure team
options:
  names:
    description: Full parameter names, for example C(/wanzami/production/JWT_ACCESS_SECRET).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - IAM permissions needed are ssm:DescribeParameters and ssm:ListTagsForResource.
"""

EXAMPLES = r"""
- name: Read the secrets' tags
  wanzami.infra.ssm_parameter_info:
    names: [/wanzami/staging/JWT_ACCESS_SECRET, /wanzami/staging/SMTP_PASS]
  register: found

- name: Delete those that are ours
  community.aws.ssm_parameter:
    name: "{{ item.name }}"
    state: absent
  loop: "{{ found.parameters | selectattr('exists') | selectattr('tags', 'wanzami.infra.owned', {'managed-by': 'ansible'}) }}"
"""

RETURN = r"""
parameters:
  description: One entry per name, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name.
      type: str
      sample: /wanzami/staging/JWT_ACCESS_SECRET
    exists:
      description: Whether the parameter exists.
      type: bool
    type:
      description: C(String), C(StringList) or C(SecureString); empty when it does not exist.
      type: str
    tags:
      description: Its tags; empty when it does not exist.
      type: dict
      sample: {project: wanzami, environment: staging, managed-by: ansible}
"""

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.ssm import AnsibleSSMError
from ansible_collections.wanzami.infra.plugins.module_utils.ssm import describe_parameters
from ansible_collections.wanzami.infra.plugins.module_utils.ssm import list_parameter_tags


def read(client, names):
    found = describe_parameters(client, list(dict.fromkeys(names))) if names else {}
    result = []
    for name in names:
        parameter = found.get(name)
        tags = list_parameter_tags(client, name) if parameter else None
        exists = tags is not None
        result.append({"name": name, "exists": exists, "type": parameter.get("Type", "") if exists else "",
                       "tags": dict(sorted((tags or {}).items()))})
    return result


def main():
    module = WanzamiInfraAWSModule(argument_spec=dict(names=dict(type="list", elements="str", required=True)),
                                   supports_check_mode=True)
    try:
        parameters = read(module.client("ssm"), module.params["names"])
    except AnsibleSSMError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, parameters=parameters)


if __name__ == "__main__":
    main()
