#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_scheduled_task
short_description: Run an ECS task on a schedule with an EventBridge rule whose one target is ECS RunTask
version_added: 0.1.0
description:
  - Creates, updates or removes one scheduled ECS task, an EventBridge rule with a cron or rate schedule
    expression whose one target runs an ECS task (RunTask through EventBridge) with its launch type or capacity
    provider strategy, platform version, awsvpc network configuration and container overrides.
  - M(amazon.aws.cloudwatchevent_rule) cannot express the launch type, the capacity provider strategy or the
    network configuration of an ECS target; this module manages exactly that.
  - The target's Id is the rule's O(name). The rule belongs to this module; any other target on it is removed.
  - Compares the rule (schedule expression, state, description) and the target as EventBridge normalises them
    (subnets and security groups as sets, the strategy in any order, C(Input) as parsed JSON), and calls
    C(PutRule) only when the rule differs and C(PutTargets) only when the target differs.
  - A C(PutTargets) or C(RemoveTargets) answer with failed entries is a failure, with the entries' messages.
  - Supports check mode and C(--diff) (the rule, the target and the tags before and after).
author:
  - Wanzami infrastructure team
options:
  name:
    description:
      - Rule name, also the target's Id, for example C(wanzami-cron-sync-payments).
      - 1 to 64 letters, digits, C(.), C(-) or C(_).
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the rule and its target.
      - C(absent) removes every target of the rule, then the rule.
    type: str
    choices: [present, absent]
    default: present
  schedule_expression:
    description:
      - EventBridge schedule, in UTC, either cron(minutes hours day-of-month month day-of-week year) with C(?) in
        one of the two day fields, for example cron(0/15 * * * ? *) or cron(0 3 * * ? *);
        or rate(value unit), for example rate(15 minutes) or rate(1 day).
      - Required when O(state=present).
    type: str
  enabled:
    description: Whether the rule runs (C(ENABLED)) or not (C(DISABLED)).
    type: bool
    default: true
  description:
    description: Rule description. Left as it is when not given.
    type: str
  cluster_arn:
    description:
      - ARN of the cluster the task runs in (EventBridge does not take a cluster name).
      - Required when O(state=present).
    type: str
  task_definition_arn:
    description:
      - Task definition ARN with its revision (C(...:task-definition/family:4)), or the family's ARN without
        a revision (C(...:task-definition/family)) to run the latest ACTIVE revision at each run.
      - Required when O(state=present).
    type: str
  task_count:
    description: Tasks started at each run.
    type: int
    default: 1
  role_arn:
    description:
      - Role EventBridge assumes to start the task. It needs C(ecs:RunTask) on the task definition and
        C(iam:PassRole) on the task's execution and task roles, and must trust C(events.amazonaws.com).
      - Required when O(state=present).
    type: str
  launch_type:
    description:
      - C(FARGATE) or C(EC2). Not with O(capacity_provider_strategy).
      - With neither, the cluster's default capacity provider strategy applies.
    type: str
    choices: [FARGATE, EC2]
  capacity_provider_strategy:
    description: Capacity providers to run the task on, for example C(FARGATE_SPOT). Not with O(launch_type).
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: Capacity provider name.
        type: str
        required: true
      weight:
        description: Relative share of the tasks (0 to 1000).
        type: int
        default: 1
      base:
        description: Tasks placed on this provider first (0 to 100000).
        type: int
        default: 0
  platform_version:
    description:
      - Fargate platform version. Sent only with O(launch_type=FARGATE) or a strategy that names C(FARGATE) or
        C(FARGATE_SPOT); ignored otherwise.
    type: str
    default: LATEST
  network_configuration:
    description:
      - The awsvpc network of the task. Required with O(launch_type=FARGATE) or a Fargate strategy (without it
        every run would fail, and EventBridge reports that only in its C(FailedInvocations) metric).
    type: dict
    suboptions:
      subnets:
        description: Subnet ids.
        type: list
        elements: str
        required: true
      security_groups:
        description: Security group ids.
        type: list
        elements: str
        default: []
      assign_public_ip:
        description: Give the task a public IP (public subnets without NAT, to pull images and reach the internet).
        type: bool
        default: false
  container_overrides:
    description:
      - 'Container overrides of the task, sent as the target''s C(Input): C({"containerOverrides": [...]}).'
      - Each item is written as ECS's RunTask takes it, in camelCase, for example C(name), C(command),
        C(environment) (a list of C(name)/C(value)), C(cpu), C(memory).
      - Compared as parsed JSON. Not given or empty, the target has no C(Input).
    type: list
    elements: dict
  propagate_tags:
    description: C(TASK_DEFINITION) copies the task definition's tags to the task; C(NONE) copies none.
    type: str
    choices: [TASK_DEFINITION, NONE]
    default: TASK_DEFINITION
  enable_ecs_managed_tags:
    description: Tag the task with ECS's managed tags (cluster name).
    type: bool
    default: true
  only_if_tagged:
    description:
      - With O(state=absent), delete the rule (and its targets) only when the rule carries every one of these tags (the
        ownership tags); one without them is someone else's and is kept, with RV(kept=true) and a message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - The rule is on the default event bus.
  - In check mode no mutating call is made (only C(DescribeRule), C(ListTargetsByRule) and C(ListTagsForResource)).
  - The target is replaced as a whole by C(PutTargets); settings this module does not manage (dead-letter queue,
    retry policy, placement) are not kept when it changes.
  - EventBridge does not check the cluster, the role or the task definition when the target is put; a run that
    cannot start shows only in the rule's C(FailedInvocations) metric.
  - O(tags) are the rule's tags (not the task's; see O(propagate_tags)).
"""

EXAMPLES = r"""
# Seed 004: cron jobs run through EventBridge + ECS RunTask, in public subnets with public IPs (no NAT gateway).
- name: Light job (0.25 vCPU / 0.5 GB task definition) every 15 minutes
  wanzami.infra.ecs_scheduled_task:
    name: wanzami-cron-sync-payments
    description: sync-payments every 15 minutes
    schedule_expression: cron(0/15 * * * ? *)
    cluster_arn: arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster
    # No revision: each run starts the latest ACTIVE revision of the family.
    task_definition_arn: arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-cron-light
    role_arn: arn:aws:iam::123456789012:role/wanzami-events-run-task
    launch_type: FARGATE
    network_configuration:
      subnets: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
      security_groups: [sg-0123456789abcdef0]
      assign_public_ip: true
    container_overrides:
      - name: cron
        command: [node, dist/scripts/run-job.js, sync-payments]
    tags:
      project: wanzami
      environment: staging

- name: Heavy scraping job (1 vCPU / 2 GB, Playwright) daily at 03:00 UTC, on Fargate Spot
  wanzami.infra.ecs_scheduled_task:
    name: wanzami-cron-scrape-events
    schedule_expression: cron(0 3 * * ? *)
    cluster_arn: arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster
    task_definition_arn: arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-cron-scraping:3
    role_arn: arn:aws:iam::123456789012:role/wanzami-events-run-task
    capacity_provider_strategy:
      - capacity_provider: FARGATE_SPOT
        weight: 1
    network_configuration:
      subnets: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
      security_groups: [sg-0123456789abcdef0]
      assign_public_ip: true
    container_overrides:
      - name: cron
        command: [node, dist/scripts/run-job.js, scrape-events]
        environment:
          - {name: CRAWLEE_MAX_CONCURRENCY, value: "2"}

- name: Pause a job without removing it
  wanzami.infra.ecs_scheduled_task:
    name: wanzami-cron-scrape-events
    enabled: false
    schedule_expression: cron(0 3 * * ? *)
    cluster_arn: arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster
    task_definition_arn: arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-cron-scraping:3
    role_arn: arn:aws:iam::123456789012:role/wanzami-events-run-task
    capacity_provider_strategy:
      - capacity_provider: FARGATE_SPOT
    network_configuration:
      subnets: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
      assign_public_ip: true

- name: Remove a job (its target, then its rule)
  wanzami.infra.ecs_scheduled_task:
    name: wanzami-cron-sync-payments
    state: absent
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the rule exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the rule was kept.
  returned: when RV(kept=true)
  type: str
rule:
  description: The rule after the run (in check mode, as it would be).
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: Rule name.
      type: str
      sample: wanzami-cron-sync-payments
    arn:
      description: Rule ARN; null in check mode when the rule would be created.
      type: str
      sample: arn:aws:events:us-east-2:123456789012:rule/wanzami-cron-sync-payments
    schedule_expression:
      description: Schedule expression.
      type: str
      sample: cron(0/15 * * * ? *)
    state:
      description: C(ENABLED) or C(DISABLED).
      type: str
      sample: ENABLED
    description:
      description: Description, or null.
      type: str
target:
  description: The rule's target after the run, in the module's option names.
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: Target Id (the rule name).
      type: str
      sample: wanzami-cron-sync-payments
    cluster_arn:
      description: Cluster ARN (the target's C(Arn)).
      type: str
    role_arn:
      description: Role EventBridge assumes.
      type: str
    task_definition_arn:
      description: Task definition ARN, with or without a revision.
      type: str
    task_count:
      description: Tasks started at each run.
      type: int
      sample: 1
    launch_type:
      description: Launch type, or null.
      type: str
      sample: FARGATE
    capacity_provider_strategy:
      description: Strategy (C(capacity_provider), C(weight), C(base)) sorted by provider; empty with a launch type.
      type: list
      elements: dict
    platform_version:
      description: Platform version, or null when not sent.
      type: str
      sample: LATEST
    network_configuration:
      description: Subnets and security groups (sorted) and C(assign_public_ip), or null.
      type: dict
      sample: {subnets: [subnet-0a1b2c3d4e5f60718], security_groups: [sg-0123456789abcdef0], assign_public_ip: true}
    propagate_tags:
      description: C(TASK_DEFINITION) or C(NONE).
      type: str
    enable_ecs_managed_tags:
      description: Whether ECS managed tags are on.
      type: bool
    container_overrides:
      description: The target's C(Input) parsed, its C(containerOverrides) as ECS takes them, or null.
      type: list
      elements: dict
      sample: [{name: cron, command: [node, dist/scripts/run-job.js, sync-payments]}]
tags:
  description: The rule's tags after the run.
  returned: when O(state=present)
  type: dict
  sample: {project: wanzami}
"""

import json
import re

from ansible_collections.wanzami.infra.plugins.module_utils.events import AnsibleEventsError
from ansible_collections.wanzami.infra.plugins.module_utils.events import delete_rule
from ansible_collections.wanzami.infra.plugins.module_utils.events import describe_rule
from ansible_collections.wanzami.infra.plugins.module_utils.events import list_tags
from ansible_collections.wanzami.infra.plugins.module_utils.events import list_targets_by_rule
from ansible_collections.wanzami.infra.plugins.module_utils.events import put_rule
from ansible_collections.wanzami.infra.plugins.module_utils.events import put_targets
from ansible_collections.wanzami.infra.plugins.module_utils.events import remove_targets
from ansible_collections.wanzami.infra.plugins.module_utils.events import tag_resource
from ansible_collections.wanzami.infra.plugins.module_utils.events import untag_resource
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message

# A rule name and a target Id alike.
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
SCHEDULE = re.compile(r"(cron|rate)\((.*)\)")
RATE = re.compile(r"(\d+) (minute|minutes|hour|hours|day|days)")
CLUSTER_ARN = re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9_-]+")
TASK_DEFINITION_ARN = re.compile(r"arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]+(:\d+)?")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def schedule_error(expression):
    """Why EventBridge would refuse a schedule expression, or None."""
    match = SCHEDULE.fullmatch(expression or "")
    if not match:
        return (f"schedule_expression {expression!r} is neither cron(...) nor rate(...), as EventBridge writes them:"
                " for example cron(0/15 * * * ? *) or rate(15 minutes).")
    kind, body = match.groups()
    if kind == "cron":
        fields = body.split()
        if len(fields) != 6:
            return (f"schedule_expression {expression!r} has {len(fields)} fields; EventBridge's cron() takes 6:"
                    " minutes hours day-of-month month day-of-week year (crontab's '*/15 * * * *' is cron(0/15 * * * ? *)).")
        if "?" not in (fields[2], fields[4]):
            return (f"schedule_expression {expression!r} needs '?' in day-of-month or day-of-week (EventBridge does not"
                    " take both), for example cron(0 3 * * ? *).")
        return None
    rate = RATE.fullmatch(body)
    if not rate:
        return (f"schedule_expression {expression!r} is not rate(value unit) with a unit of minute(s), hour(s) or day(s),"
                " for example rate(15 minutes).")
    value, unit = int(rate.group(1)), rate.group(2)
    if value < 1:
        return f"schedule_expression {expression!r}: the rate must be at least 1."
    if (value == 1) == unit.endswith("s"):
        singular = unit.rstrip("s")
        return (f"schedule_expression {expression!r}: EventBridge takes rate(1 {singular}) and rate({max(value, 2)}"
                f" {singular}s), singular only for 1.")
    return None


def uses_fargate(params):
    strategy = params["capacity_provider_strategy"] or []
    return params["launch_type"] == "FARGATE" or any(s.get("capacity_provider") in FARGATE_PROVIDERS for s in strategy)


def validate(module):
    params = module.params
    name = params["name"]
    if not NAME.fullmatch(name or ""):
        module.fail_json(msg=f"name {name!r} is not a valid rule name and target Id: 1 to 64 letters, digits, '.', '-' or '_'.")
    if params["state"] == "absent":
        return
    for option in ("schedule_expression", "cluster_arn", "task_definition_arn", "role_arn"):
        if not params[option]:
            module.fail_json(msg=f"{option} is required with state=present.")
    error = schedule_error(params["schedule_expression"])
    if error:
        module.fail_json(msg=error)
    if params["launch_type"] and params["capacity_provider_strategy"]:
        module.fail_json(msg="launch_type and capacity_provider_strategy are mutually exclusive: give one, or neither for the"
                             " cluster's default strategy.")
    for option, pattern, shape in (
        ("cluster_arn", CLUSTER_ARN, "arn:aws:ecs:REGION:ACCOUNT:cluster/NAME"),
        ("task_definition_arn", TASK_DEFINITION_ARN, "arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY[:REVISION]"),
        ("role_arn", ROLE_ARN, "arn:aws:iam::ACCOUNT:role/NAME"),
    ):
        if not pattern.fullmatch(params[option]):
            module.fail_json(msg=f"{option} {params[option]!r} is not an ARN of the form {shape}.")
    if params["task_count"] is None or params["task_count"] < 1:
        module.fail_json(msg=f"task_count must be at least 1, not {params['task_count']}.")
    for strategy in params["capacity_provider_strategy"] or []:
        if not strategy.get("capacity_provider"):
            module.fail_json(msg="every capacity_provider_strategy item needs a capacity_provider.")
    if uses_fargate(params) and not params["network_configuration"]:
        module.fail_json(msg="network_configuration (subnets) is required to run the task on Fargate: without it every"
                             " scheduled run fails, and EventBridge reports it only in its FailedInvocations metric.")


def wanted_rule(params, current):
    """PutRule's parameters. A description not given keeps the current one."""
    rule = {"Name": params["name"], "ScheduleExpression": params["schedule_expression"],
            "State": "ENABLED" if params["enabled"] else "DISABLED"}
    description = params["description"] if params["description"] is not None else (current or {}).get("Description")
    if description is not None:
        rule["Description"] = description
    return rule


def wanted_target(params):
    """The one target as PutTargets takes it."""
    ecs = {"TaskDefinitionArn": params["task_definition_arn"], "TaskCount": params["task_count"],
           "EnableECSManagedTags": bool(params["enable_ecs_managed_tags"])}
    if params["launch_type"]:
        ecs["LaunchType"] = params["launch_type"]
    if params["capacity_provider_strategy"]:
        ecs["CapacityProviderStrategy"] = [
            {"capacityProvider": s["capacity_provider"],
             "weight": int(s["weight"] if s.get("weight") is not None else 1),
             "base": int(s.get("base") or 0)}
            for s in params["capacity_provider_strategy"]]
    if uses_fargate(params) and params["platform_version"]:
        ecs["PlatformVersion"] = params["platform_version"]
    network = params["network_configuration"]
    if network:
        vpc = {"Subnets": list(network["subnets"]),
               "AssignPublicIp": "ENABLED" if network.get("assign_public_ip") else "DISABLED"}
        if network.get("security_groups"):
            vpc["SecurityGroups"] = list(network["security_groups"])
        ecs["NetworkConfiguration"] = {"awsvpcConfiguration": vpc}
    if params["propagate_tags"] == "TASK_DEFINITION":
        ecs["PropagateTags"] = "TASK_DEFINITION"
    target = {"Id": params["name"], "Arn": params["cluster_arn"], "RoleArn": params["role_arn"], "EcsParameters": ecs}
    if params["container_overrides"]:
        target["Input"] = json.dumps({"containerOverrides": params["container_overrides"]}, sort_keys=True)
    return target


def rule_view(rule):
    """The managed settings of a rule (API spelling), readable and comparable."""
    if not rule:
        return {}
    return {"name": rule.get("Name"), "schedule_expression": rule.get("ScheduleExpression"), "state": rule.get("State"),
            "description": rule.get("Description") or None}


def parsed_input(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def target_view(target):
    """A target (API spelling) in the module's option names, normalised: what is compared and shown."""
    if not target:
        return {}
    ecs = target.get("EcsParameters") or {}
    vpc = (ecs.get("NetworkConfiguration") or {}).get("awsvpcConfiguration")
    view = {
        "id": target.get("Id"),
        "cluster_arn": target.get("Arn"),
        "role_arn": target.get("RoleArn"),
        "task_definition_arn": ecs.get("TaskDefinitionArn"),
        "task_count": ecs.get("TaskCount") or 1,
        "launch_type": ecs.get("LaunchType"),
        "capacity_provider_strategy": sorted(
            ({"capacity_provider": s["capacityProvider"], "weight": s.get("weight") or 0, "base": s.get("base") or 0}
             for s in ecs.get("CapacityProviderStrategy") or []),
            key=lambda s: s["capacity_provider"]),
        "platform_version": ecs.get("PlatformVersion"),
        "network_configuration": {
            "subnets": sorted(vpc.get("Subnets") or []),
            "security_groups": sorted(vpc.get("SecurityGroups") or []),
            "assign_public_ip": vpc.get("AssignPublicIp") == "ENABLED",
        } if vpc else None,
        "propagate_tags": ecs.get("PropagateTags") or "NONE",
        "enable_ecs_managed_tags": bool(ecs.get("EnableECSManagedTags")),
        "container_overrides": None,
    }
    document = parsed_input(target.get("Input"))
    if isinstance(document, dict) and set(document) <= {"containerOverrides"}:
        view["container_overrides"] = document.get("containerOverrides") or None
    elif document is not None:
        # An Input this module did not write: shown, and different from anything it writes.
        view["input"] = document
    return view


def tags_after(current, params):
    if params["tags"] is None:
        return dict(current)
    wanted = {k: str(v) for k, v in params["tags"].items()}
    return wanted if params["purge_tags"] else {**current, **wanted}


def state_view(rule, target, tags, others):
    view = {"rule": rule_view(rule), "target": target_view(target), "tags": dict(sorted(tags.items()))}
    if others:
        view["other_target_ids"] = others
    return view


def check_entries(module, response, action, name):
    """PutTargets and RemoveTargets answer failures per entry, without raising."""
    if (response or {}).get("FailedEntryCount"):
        entries = response.get("FailedEntries") or []
        reasons = "; ".join(f"{e.get('TargetId')}: {e.get('ErrorCode')}: {e.get('ErrorMessage')}" for e in entries)
        module.fail_json(msg=f"EventBridge could not {action} on rule {name}: {reasons}", failed_entries=entries)


def ensure_present(module, client):
    validate(module)
    params = module.params
    name = params["name"]
    current = describe_rule(client, name)
    targets = list_targets_by_rule(client, name) if current else []
    ours = next((t for t in targets if t.get("Id") == name), None)
    others = sorted(t["Id"] for t in targets if t.get("Id") != name)
    current_tags = list_tags(client, current["Arn"]) if current else {}

    rule = wanted_rule(params, current)
    target = wanted_target(params)
    rule_changed = rule_view(current) != rule_view(rule)
    target_changed = target_view(ours) != target_view(target)
    after_tags = tags_after(current_tags, params)
    diff = {"before": state_view(current, ours, current_tags, others) if current else {},
            "after": state_view(rule, target, after_tags, [])}
    if others:
        diff["after"]["other_target_ids"] = []

    arn = current["Arn"] if current else None
    if not module.check_mode:
        if rule_changed:
            arn = put_rule(client, **rule)
        if others:
            # First, so that a rule at EventBridge's five targets has room for ours.
            check_entries(module, remove_targets(client, name, others), "remove targets " + ", ".join(others), name)
        if target_changed:
            check_entries(module, put_targets(client, name, [target]), "put target " + name, name)
    tags_changed = apply_tags(module, current_tags, params["tags"], params["purge_tags"],
                              tag=lambda tags: tag_resource(client, arn, tags),
                              untag=lambda keys: untag_resource(client, arn, keys))

    changed = rule_changed or target_changed or bool(others) or tags_changed
    result_rule = dict(rule_view(rule), arn=arn)
    return changed, {"rule": result_rule, "target": target_view(target), "tags": dict(sorted(after_tags.items()))}, diff


def ensure_absent(module, client):
    validate(module)
    name = module.params["name"]
    current = describe_rule(client, name)
    if current is None:
        return False, {"before": {}, "after": {}}, None
    tags = list_tags(client, current["Arn"])
    required = module.params.get("only_if_tagged") or {}
    if not carries_tags(tags, required):
        return False, {}, kept_message("EventBridge rule (scheduled task)", name, tags, required)
    targets = list_targets_by_rule(client, name)
    ids = [t["Id"] for t in targets]
    ours = next((t for t in targets if t.get("Id") == name), None)
    others = sorted(i for i in ids if i != name)
    diff = {"before": state_view(current, ours, tags, others), "after": {}}
    if not module.check_mode:
        if ids:
            check_entries(module, remove_targets(client, name, ids), "remove targets " + ", ".join(ids), name)
        delete_rule(client, name)
    return True, diff, None


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        schedule_expression=dict(type="str"),
        enabled=dict(type="bool", default=True),
        description=dict(type="str"),
        cluster_arn=dict(type="str"),
        task_definition_arn=dict(type="str"),
        task_count=dict(type="int", default=1),
        role_arn=dict(type="str"),
        launch_type=dict(type="str", choices=["FARGATE", "EC2"]),
        capacity_provider_strategy=dict(
            type="list",
            elements="dict",
            options=dict(
                capacity_provider=dict(type="str", required=True),
                weight=dict(type="int", default=1),
                base=dict(type="int", default=0),
            ),
        ),
        platform_version=dict(type="str", default="LATEST"),
        network_configuration=dict(
            type="dict",
            options=dict(
                subnets=dict(type="list", elements="str", required=True),
                security_groups=dict(type="list", elements="str", default=[]),
                assign_public_ip=dict(type="bool", default=False),
            ),
        ),
        container_overrides=dict(type="list", elements="dict"),
        propagate_tags=dict(type="str", choices=["TASK_DEFINITION", "NONE"], default="TASK_DEFINITION"),
        enable_ecs_managed_tags=dict(type="bool", default=True),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("launch_type", "capacity_provider_strategy")],
        required_if=[("state", "present", ("schedule_expression", "cluster_arn", "task_definition_arn", "role_arn"))],
    )
    client = module.client("events")
    try:
        if module.params["state"] == "absent":
            changed, diff, kept = ensure_absent(module, client)
            module.exit_json(changed=changed, diff=diff, kept=bool(kept), **({"msg": kept} if kept else {}))
        changed, result, diff = ensure_present(module, client)
    except AnsibleEventsError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, diff=diff, **result)


if __name__ == "__main__":
    main()
