#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: dlm_lifecycle_policy
short_description: Manage an Amazon Data Lifecycle Manager policy that snapshots EBS volumes on a schedule
version_added: 0.1.0
description:
  - Creates, updates or deletes one Amazon Data Lifecycle Manager (DLM) lifecycle policy of type
    C(EBS_SNAPSHOT_MANAGEMENT); it snapshots the volumes (or instances) carrying O(target_tags) on each of its
    O(schedules) and keeps the newest O(schedules[].retain_count) snapshots of each.
  - DLM policies have no name. The policy is found by its O(description), which must therefore be unique in the
    account and region; two policies with the same description fail the run.
  - Reads with C(GetLifecyclePolicies) and C(GetLifecyclePolicy), and calls C(CreateLifecyclePolicy),
    C(UpdateLifecyclePolicy), C(TagResource), C(UntagResource) or C(DeleteLifecyclePolicy) only for what differs,
    so a second run reports no change.
  - No module of amazon.aws or community.aws manages DLM.
  - Supports check mode and C(--diff).
author:
  - Wanzami infrastructure team
options:
  description:
    description:
      - The policy's description, which identifies it; up to 500 letters, digits, spaces, C(_) and C(-).
    type: str
    required: true
  state:
    description:
      - C(present) creates the policy or brings it to the options.
      - C(absent) deletes it; nothing is called when there is none.
    type: str
    choices: [present, absent]
    default: present
  execution_role_arn:
    description:
      - ARN of the IAM role DLM assumes to snapshot (trusting C(dlm.amazonaws.com), for example with the managed
        policy C(service-role/AWSDataLifecycleManagerServiceRole)). Required when O(state=present).
    type: str
  enabled:
    description: Whether the policy runs (C(ENABLED)) or is kept but paused (C(DISABLED)).
    type: bool
    default: true
  resource_types:
    description:
      - What the policy snapshots; C(VOLUME) each tagged volume, C(INSTANCE) every volume of each tagged instance.
    type: list
    elements: str
    choices: [VOLUME, INSTANCE]
    default: [VOLUME]
  target_tags:
    description:
      - The tags (key and value) a volume or instance must carry, any one of them, to be snapshotted.
      - Required when O(state=present).
    type: dict
  schedules:
    description:
      - One to four schedules. Required when O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the schedule, unique in the policy.
        type: str
        required: true
      interval:
        description: Hours between snapshots; one of 1, 2, 3, 4, 6, 8, 12 or 24. Ignored with O(schedules[].cron_expression).
        type: int
        default: 24
      interval_unit:
        description: Unit of O(schedules[].interval).
        type: str
        choices: [HOURS]
        default: HOURS
      times:
        description:
          - Time of day, C(HH:MM) in UTC, at which the first snapshot of the day starts (DLM takes one time).
          - Left out, DLM picks one.
        type: list
        elements: str
      cron_expression:
        description: A cron expression (C(cron(0 5 ? * * *))) instead of O(schedules[].interval) and O(schedules[].times).
        type: str
      retain_count:
        description: How many of the newest snapshots the schedule keeps, 1 to 1000.
        type: int
        required: true
      copy_tags:
        description: Copy the volume's tags to its snapshots.
        type: bool
        default: true
      tags_to_add:
        description: Tags put on each snapshot the schedule takes.
        type: dict
  tags:
    description:
      - Tags on the policy itself. Left out, the tags are left alone.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove the policy's tags that O(tags) does not list.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Check mode makes no mutating call (only C(GetLifecyclePolicies) and C(GetLifecyclePolicy)); it reports what
    would change, and C(--diff) shows it.
  - DLM fills in defaults the module does not manage (C(ResourceLocations) C(CLOUD), C(PolicyLanguage)); they are
    left out of the comparison, so they never count as a change.
  - Snapshots already taken stay when the policy is deleted; their retention no longer applies.
"""

EXAMPLES = r"""
- name: Snapshot the API's root volume daily at 05:00 UTC and keep a week of them
  wanzami.infra.dlm_lifecycle_policy:
    description: wanzami-api root volume daily snapshots
    execution_role_arn: arn:aws:iam::123456789012:role/wanzami-api-dlm
    target_tags:
      snapshot-schedule: wanzami-api-root
    schedules:
      - name: daily-0500
        interval: 24
        times: ["05:00"]
        retain_count: 7
    tags:
      project: wanzami

- name: The database volume on its own schedule, two weeks kept
  wanzami.infra.dlm_lifecycle_policy:
    description: wanzami-api data volume daily snapshots
    execution_role_arn: arn:aws:iam::123456789012:role/wanzami-api-dlm
    target_tags:
      snapshot-schedule: wanzami-api-data
    schedules:
      - name: daily-0300
        times: ["03:00"]
        retain_count: 14
        tags_to_add:
          snapshot-of: database

- name: Stop the snapshots (those taken stay)
  wanzami.infra.dlm_lifecycle_policy:
    description: wanzami-api data volume daily snapshots
    state: absent
"""

RETURN = r"""
policy:
  description: The policy after the run (in check mode, as it is); C({}) when there is none.
  returned: always
  type: dict
  contains:
    policy_id:
      description: DLM's id of the policy.
      type: str
      sample: policy-0123456789abcdef0
    policy_arn:
      description: ARN.
      type: str
      sample: arn:aws:dlm:us-east-2:123456789012:policy/policy-0123456789abcdef0
    description:
      description: The description that identifies it.
      type: str
    state:
      description: C(ENABLED) or C(DISABLED).
      type: str
      sample: ENABLED
    execution_role_arn:
      description: The role DLM assumes.
      type: str
    policy_details:
      description: Policy type, resource types, target tags and schedules, as DLM returns them (snake_case).
      type: dict
      sample:
        policy_type: EBS_SNAPSHOT_MANAGEMENT
        resource_types: [VOLUME]
        target_tags: [{key: snapshot-schedule, value: wanzami-api-root}]
        schedules:
          - name: daily-0500
            copy_tags: true
            create_rule: {interval: 24, interval_unit: HOURS, times: ["05:00"]}
            retain_rule: {count: 7}
    tags:
      description: Tags of the policy.
      type: dict
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.transformation import camel_dict_to_snake_dict

from ansible_collections.wanzami.infra.plugins.module_utils.dlm import AnsibleDLMError
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import create_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import delete_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import get_lifecycle_policies
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import get_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import tag_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import untag_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.dlm import update_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags

POLICY_TYPE = "EBS_SNAPSHOT_MANAGEMENT"
INTERVALS = (1, 2, 3, 4, 6, 8, 12, 24)
DESCRIPTION = re.compile(r"^[0-9A-Za-z _-]{1,500}$")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def problems_of(params):
    """What is wrong with the options of state=present, each naming the option."""
    problems = []
    schedules = params["schedules"] or []
    if not 1 <= len(schedules) <= 4:
        problems.append(f"schedules must list 1 to 4 schedules, not {len(schedules)}")
    if not params["target_tags"]:
        problems.append("target_tags must name at least one tag the volumes to snapshot carry")
    names = [s["name"] for s in schedules]
    if len(set(names)) != len(names):
        problems.append(f"schedules[].name must be unique, not {', '.join(sorted(names))}")
    for s in schedules:
        where = f"schedules[{s['name']}]"
        if not 1 <= s["retain_count"] <= 1000:
            problems.append(f"{where}.retain_count must be 1 to 1000, not {s['retain_count']}")
        if not s["cron_expression"]:
            if s["interval"] not in INTERVALS:
                problems.append(f"{where}.interval must be one of {', '.join(map(str, INTERVALS))} hours, not {s['interval']}")
            times = s["times"] or []
            if len(times) > 1 or any(not TIME.match(t) for t in times):
                problems.append(f"{where}.times must be one time of day as HH:MM (UTC), not {times}")
    return problems


def check_params(module):
    if not DESCRIPTION.match(module.params["description"]):
        module.fail_json(msg=f"DLM policy: description must be 1 to 500 letters, digits, spaces, '_' and '-', "
                             f"not {module.params['description']!r}.")
    if module.params["state"] == "present":
        problems = problems_of(module.params)
        if problems:
            module.fail_json(msg=f"DLM policy {module.params['description']}: " + "; ".join(problems) + ".")


def tag_list(tags):
    return [{"Key": k, "Value": str(v)} for k, v in sorted((tags or {}).items())]


def wanted_details(params):
    """PolicyDetails as CreateLifecyclePolicy and UpdateLifecyclePolicy take them."""
    schedules = []
    for s in params["schedules"]:
        if s["cron_expression"]:
            create_rule = {"CronExpression": s["cron_expression"]}
        else:
            create_rule = {"Interval": s["interval"], "IntervalUnit": s["interval_unit"]}
            if s["times"]:
                create_rule["Times"] = list(s["times"])
        schedule = {"Name": s["name"], "CopyTags": s["copy_tags"], "CreateRule": create_rule,
                    "RetainRule": {"Count": s["retain_count"]}}
        if s["tags_to_add"]:
            schedule["TagsToAdd"] = tag_list(s["tags_to_add"])
        schedules.append(schedule)
    return {"PolicyType": POLICY_TYPE, "ResourceTypes": list(params["resource_types"]),
            "TargetTags": tag_list(params["target_tags"]), "Schedules": schedules}


def details_view(details):
    """What this module manages of PolicyDetails, as it is compared and as --diff shows it; DLM's own
    defaults (ResourceLocations, CreateRule.Location, PolicyLanguage) are left out."""
    schedules = []
    for s in details.get("Schedules") or []:
        create, retain = s.get("CreateRule") or {}, s.get("RetainRule") or {}
        schedules.append({
            "name": s.get("Name"),
            "interval": None if create.get("CronExpression") else create.get("Interval"),
            "interval_unit": None if create.get("CronExpression") else create.get("IntervalUnit"),
            "times": list(create.get("Times") or []),
            "cron_expression": create.get("CronExpression"),
            "retain_count": retain.get("Count"),
            "copy_tags": bool(s.get("CopyTags")),
            "tags_to_add": {t["Key"]: t["Value"] for t in s.get("TagsToAdd") or []},
        })
    return {
        "policy_type": details.get("PolicyType"),
        "resource_types": sorted(details.get("ResourceTypes") or []),
        "target_tags": {t["Key"]: t["Value"] for t in details.get("TargetTags") or []},
        "schedules": sorted(schedules, key=lambda s: s["name"] or ""),
    }


def settings_of(policy, tags):
    """A policy as --diff shows it; {} for none."""
    if not policy:
        return {}
    return {"description": policy["Description"], "state": policy["State"],
            "execution_role_arn": policy["ExecutionRoleArn"], **details_view(policy.get("PolicyDetails") or {}),
            "tags": dict(sorted((tags or {}).items()))}


def wanted_tags(current, params):
    if params["tags"] is None:
        return dict(current)
    tags = {k: str(v) for k, v in params["tags"].items()}
    return tags if params["purge_tags"] else {**current, **tags}


def result_of(policy):
    return camel_dict_to_snake_dict(policy, ignore_list=["Tags"]) if policy else {}


def find_policy(module, client):
    """The whole policy described by the description option, or None."""
    description = module.params["description"]
    found = [p for p in get_lifecycle_policies(client) if p.get("Description") == description]
    if len(found) > 1:
        module.fail_json(msg=f"DLM policy: {len(found)} policies are described as {description!r} "
                             f"({', '.join(sorted(p['PolicyId'] for p in found))}); the description must be unique.")
    if not found:
        return None
    return get_lifecycle_policy(client, found[0]["PolicyId"])


def ensure_present(module, client):
    params = module.params
    policy = find_policy(module, client)
    details = wanted_details(params)
    state = "ENABLED" if params["enabled"] else "DISABLED"
    current_tags = dict((policy or {}).get("Tags") or {})
    tags = wanted_tags(current_tags, params)
    wanted = {"Description": params["description"], "State": state, "ExecutionRoleArn": params["execution_role_arn"],
              "PolicyDetails": details}
    before, after = settings_of(policy, current_tags), settings_of(wanted, tags)

    if policy is None:
        if not module.check_mode:
            policy_id = create_lifecycle_policy(client, params["description"], params["execution_role_arn"], state,
                                                details, tags)
            policy = get_lifecycle_policy(client, policy_id)
        return True, result_of(policy), {"before": before, "after": after}

    untagged = {k: v for k, v in after.items() if k != "tags"}
    changed = False
    if {k: v for k, v in before.items() if k != "tags"} != untagged:
        changed = True
        if not module.check_mode:
            update_lifecycle_policy(client, policy["PolicyId"], params["execution_role_arn"], state, details)
    changed |= apply_tags(module, current_tags, None if params["tags"] is None else tags, params["purge_tags"],
                          tag=lambda to_set: tag_lifecycle_policy(client, policy["PolicyArn"], to_set),
                          untag=lambda keys: untag_lifecycle_policy(client, policy["PolicyArn"], keys))
    if changed and not module.check_mode:
        policy = get_lifecycle_policy(client, policy["PolicyId"])
    return changed, result_of(policy), {"before": before, "after": after}


def ensure_absent(module, client):
    policy = find_policy(module, client)
    if policy is None:
        return False, {}, {"before": {}, "after": {}}
    if not module.check_mode:
        delete_lifecycle_policy(client, policy["PolicyId"])
    return True, {}, {"before": settings_of(policy, policy.get("Tags")), "after": {}}


def main():
    argument_spec = dict(
        description=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        execution_role_arn=dict(type="str"),
        enabled=dict(type="bool", default=True),
        resource_types=dict(type="list", elements="str", choices=["VOLUME", "INSTANCE"], default=["VOLUME"]),
        target_tags=dict(type="dict"),
        schedules=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                interval=dict(type="int", default=24),
                interval_unit=dict(type="str", choices=["HOURS"], default="HOURS"),
                times=dict(type="list", elements="str"),
                cron_expression=dict(type="str"),
                retain_count=dict(type="int", required=True),
                copy_tags=dict(type="bool", default=True),
                tags_to_add=dict(type="dict"),
            ),
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["execution_role_arn", "target_tags", "schedules"])],
    )
    check_params(module)
    client = module.client("dlm")
    try:
        if module.params["state"] == "absent":
            changed, policy, diff = ensure_absent(module, client)
        else:
            changed, policy, diff = ensure_present(module, client)
    except AnsibleDLMError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, policy=policy, diff=diff)


if __name__ == "__main__":
    main()
