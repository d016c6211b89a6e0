#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatchlogs_log_group
short_description: Manage a CloudWatch Logs log group, its retention and tags, with a read-only check mode
version_added: 0.1.0
description:
  - Creates, updates or deletes one CloudWatch Logs log group.
  - Replaces M(amazon.aws.cloudwatchlogs_log_group) 10.1.2 in this collection's roles, which in check mode
    still calls C(PutRetentionPolicy) on an existing group whose retention differs, knows only 17 of the
    22 retention values CloudWatch accepts, and deletes the log group when given one of the other five.
  - Supports check mode (no mutating call) and C(--diff) (retention and tags before and after).
author:
  - Wanzami infrastructure team
options:
  name:
    description: Log group name, for example C(/ecs/wanzami-backend).
    type: str
    required: true
    aliases: [log_group_name]
  state:
    description: Whether the log group should exist. Deleting a group deletes its events.
    type: str
    choices: [present, absent]
    default: present
  retention:
    description:
      - Days CloudWatch keeps the events, one of the values C(PutRetentionPolicy) accepts.
      - C(0) removes the retention policy (events never expire). Left alone when not given.
    type: int
    choices: [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
  only_if_tagged:
    description:
      - With O(state=absent), delete the log group only when it carries every one of these tags (the ownership tags);
        one without them is someone else's and is kept, with RV(kept=true) and a message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Seed 000's API log group, kept 30 days
  wanzami.infra.cloudwatchlogs_log_group:
    name: /ecs/wanzami-backend
    retention: 30
    tags:
      project: wanzami

- name: Keep a group's events forever
  wanzami.infra.cloudwatchlogs_log_group:
    name: /audit/app
    retention: 0

- name: Delete a log group and its events
  wanzami.infra.cloudwatchlogs_log_group:
    name: /ecs/old-app
    state: absent
"""

RETURN = r"""
wanzami_plan:
  description: When a shorter retention makes an existing group's older events expire, one C(remove) row saying so.
  returned: when the retention of an existing group gets shorter
  type: list
  elements: dict
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the log group exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the log group was kept.
  returned: when RV(kept=true)
  type: str
log_group:
  description: The log group after the change; in check mode, what it would be (no C(arn) for a group that would be created).
  returned: when O(state=present)
  type: dict
  contains:
    log_group_name:
      description: Name.
      type: str
      sample: /ecs/wanzami-backend
    arn:
      description: ARN of the group, without the C(:*) suffix (what IAM policies and the tagging API take).
      type: str
      sample: arn:aws:logs:us-east-2:123456789012:log-group:/ecs/wanzami-backend
    creation_time:
      description: When the group was created, in milliseconds since the epoch.
      type: int
      sample: 1766400000000
    retention_in_days:
      description: Days events are kept; null when they never expire.
      type: int
      sample: 30
    tags:
      description: Tags.
      type: dict
      sample: {project: wanzami}
"""


from ansible_collections.wanzami.infra.plugins.module_utils.logs import RETENTION_DAYS
from ansible_collections.wanzami.infra.plugins.module_utils.logs import AnsibleLogsError
from ansible_collections.wanzami.infra.plugins.module_utils.logs import create_log_group
from ansible_collections.wanzami.infra.plugins.module_utils.logs import delete_log_group
from ansible_collections.wanzami.infra.plugins.module_utils.logs import delete_retention_policy
from ansible_collections.wanzami.infra.plugins.module_utils.logs import describe_log_group
from ansible_collections.wanzami.infra.plugins.module_utils.logs import list_log_group_tags
from ansible_collections.wanzami.infra.plugins.module_utils.logs import log_group_arn
from ansible_collections.wanzami.infra.plugins.module_utils.logs import put_retention_policy
from ansible_collections.wanzami.infra.plugins.module_utils.logs import tag_log_group
from ansible_collections.wanzami.infra.plugins.module_utils.logs import untag_log_group
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message


def settings_of(group, tags):
    """The settings this module manages, as --diff shows them."""
    if not group:
        return {}
    return {"retention_in_days": group.get("retentionInDays"), "tags": dict(sorted(tags.items()))}


def wanted_settings(current, params):
    wanted = dict(current) if current else {"retention_in_days": None, "tags": {}}
    if params["retention"] is not None:
        wanted["retention_in_days"] = params["retention"] or None
    if params["tags"] is not None:
        tags = dict(params["tags"]) if params["purge_tags"] else {**wanted["tags"], **params["tags"]}
        wanted["tags"] = dict(sorted((k, str(v)) for k, v in tags.items()))
    return wanted


def ensure_retention(module, client, name, current, wanted):
    if current == wanted:
        return False
    if not module.check_mode:
        if wanted:
            put_retention_policy(client, name, wanted)
        else:
            delete_retention_policy(client, name)
    return True


def ensure_tags(module, client, arn, current, wanted):
    return apply_tags(module, current, None if module.params["tags"] is None else wanted, True,
                      tag=lambda tags: tag_log_group(client, arn, tags),
                      untag=lambda keys: untag_log_group(client, arn, keys))


def result_of(group, name, settings):
    result = {"log_group_name": name}
    if group:
        result["arn"] = log_group_arn(group)
        result["creation_time"] = group.get("creationTime")
    result.update(settings)
    return result


def ensure_present(module, client):
    name = module.params["name"]
    group = describe_log_group(client, name)
    current_tags = list_log_group_tags(client, log_group_arn(group)) if group else {}
    before = settings_of(group, current_tags)
    after = wanted_settings(before, module.params)

    if group is None:
        if not module.check_mode:
            create_log_group(client, name, after["tags"])
            if after["retention_in_days"]:
                put_retention_policy(client, name, after["retention_in_days"])
            group = describe_log_group(client, name)
        return True, result_of(group, name, after), {"before": {}, "after": after}

    changed = ensure_retention(module, client, name, before["retention_in_days"], after["retention_in_days"])
    changed |= ensure_tags(module, client, log_group_arn(group), before["tags"], after["tags"])
    return changed, result_of(group, name, after), {"before": before, "after": after}


def expiry_plan(name, diff):
    """A plan row (wanzami.infra.plan) when a shorter retention makes an existing group's older events expire:
    never expiring to 30 days, or 90 to 30, deletes history a person may still want."""
    before, after = diff["before"].get("retention_in_days"), diff["after"].get("retention_in_days")
    if not diff["before"] or not after or (before and before <= after):
        return {}
    return {"wanzami_plan": [{"action": "remove", "resource": f"log group {name}",
                              "detail": f"retention {before or 'never expire'} -> {after} days: older events expire"}]}


def ensure_absent(module, client):
    name = module.params["name"]
    gone = {"name": name, "state": "absent"}
    group = describe_log_group(client, name)
    if group is None:
        return False, {"before": gone, "after": gone}, None
    required = module.params.get("only_if_tagged")
    if required:
        tags = list_log_group_tags(client, log_group_arn(group))
        if not carries_tags(tags, required):
            return False, {}, kept_message("Log group", name, tags, required)
    if not module.check_mode:
        delete_log_group(client, name)
    return True, {"before": {"name": name, "state": "present"}, "after": gone}, None


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["log_group_name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        retention=dict(type="int", choices=[0] + RETENTION_DAYS),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("logs")
    try:
        if module.params["state"] == "absent":
            changed, diff, kept = ensure_absent(module, client)
            module.exit_json(changed=changed, diff=diff, kept=bool(kept), **({"msg": kept} if kept else {}))
        changed, log_group, diff = ensure_present(module, client)
    except AnsibleLogsError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, log_group=log_group, diff=diff, **expiry_plan(log_group["log_group_name"], diff))


if __name__ == "__main__":
    main()
