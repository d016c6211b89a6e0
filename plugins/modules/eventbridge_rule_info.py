#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: eventbridge_rule_info
short_description: Whether EventBridge rules exist, with their targets and tags
version_added: 0.1.0
description:
  - For each name, whether the rule exists on the default event bus, its state, its schedule, the ARNs of its
    targets and its tags.
  - What a teardown needs to tell its own rules from someone else's (M(amazon.aws.cloudwatchevent_rule) 10.1.2
    deletes by name alone, has no check mode and cannot tag, and amazon.aws has no info module for rules).
  - Read-only; runs the same in check mode. A missing rule is an answer, not a failure.
author:
  - Wanzami infrastructure team
options:
  names:
    description: Rule names, for example C(wanzami-staging-ecs-deployment-failed).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - IAM permissions needed are events:DescribeRule, events:ListTargetsByRule and events:ListTagsForResource.
"""

EXAMPLES = r"""
- name: Read the rule that sends failed deployments to the alarm topic
  wanzami.infra.eventbridge_rule_info:
    names: [wanzami-staging-ecs-deployment-failed]
  register: rules
"""

RETURN = r"""
rules:
  description: One entry per name, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name.
      type: str
      sample: wanzami-staging-ecs-deployment-failed
    exists:
      description: Whether the rule exists.
      type: bool
    arn:
      description: Its ARN; empty when it does not exist.
      type: str
    state:
      description: C(ENABLED) or C(DISABLED); empty when it does not exist.
      type: str
    schedule:
      description: Its schedule expression (C(cron(...)) or C(rate(...))); empty for an event pattern rule or when it
        does not exist.
      type: str
      sample: cron(0 3 * * ? *)
    target_arns:
      description: The ARNs of its targets, sorted.
      type: list
      elements: str
      sample: [arn:aws:sns:us-east-2:123456789012:wanzami-staging-alarms]
    tags:
      description: Its tags; empty when it does not exist.
      type: dict
"""

from ansible_collections.wanzami.infra.plugins.module_utils.events import AnsibleEventsError
from ansible_collections.wanzami.infra.plugins.module_utils.events import describe_rule
from ansible_collections.wanzami.infra.plugins.module_utils.events import list_tags
from ansible_collections.wanzami.infra.plugins.module_utils.events import list_targets_by_rule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule


def read(client, name):
    rule = describe_rule(client, name)
    if rule is None:
        return {"name": name, "exists": False, "arn": "", "state": "", "schedule": "", "target_arns": [], "tags": {}}
    targets = list_targets_by_rule(client, name) or []
    tags = list_tags(client, rule["Arn"]) or {}
    return {"name": name, "exists": True, "arn": rule["Arn"], "state": rule.get("State", ""),
            "schedule": rule.get("ScheduleExpression", ""),
            "target_arns": sorted(t["Arn"] for t in targets), "tags": dict(sorted(tags.items()))}


def main():
    module = WanzamiInfraAWSModule(argument_spec=dict(names=dict(type="list", elements="str", required=True)),
                                   supports_check_mode=True)
    client = module.client("events")
    try:
        rules = [read(client, name) for name in module.params["names"]]
    except AnsibleEventsError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, rules=rules)


if __name__ == "__main__":
    main()
