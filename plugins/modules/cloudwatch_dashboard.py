#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatch_dashboard
short_description: Manage a CloudWatch dashboard, its body and tags, with a read-only check mode
version_added: 0.1.0
description:
  - Creates, replaces or deletes one CloudWatch dashboard. Neither amazon.aws nor community.aws has a module for
    dashboards.
  - The body is compared with the dashboard's as data (parsed JSON), so key order, spacing and number formatting never
    read as a change and a second run reports no change.
  - Supports check mode (no mutating call) and C(--diff) (body and tags before and after).
  - CloudWatch's validation messages about the body (for example a widget it cannot render) are returned and shown as
    warnings; a body it refuses fails the task.
author:
  - Wanzami infrastructure team
options:
  name:
    description:
      - Dashboard name, up to 255 letters, digits, C(-) and C(_), for example C(wanzami-dashboard).
      - Dashboards are global; the region only decides which endpoint is called.
    type: str
    required: true
    aliases: [dashboard_name]
  state:
    description: Whether the dashboard should exist.
    type: str
    choices: [present, absent]
    default: present
  body:
    description:
      - The dashboard body, as data (a dict) or JSON text, with a C(widgets) list.
      - See U(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
      - Required with O(state=present).
    type: json
  only_if_tagged:
    description:
      - With O(state=absent), delete the dashboard only when it carries every one of these tags (the ownership tags); one
        without them is someone else's and is kept, with RV(kept=true) and a message saying so.
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
- name: Seed 003's dashboard, CPU and memory of the API
  wanzami.infra.cloudwatch_dashboard:
    name: wanzami-dashboard
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: ECS CPU and memory
            region: us-east-2
            period: 60
            stat: Average
            metrics:
              - [AWS/ECS, CPUUtilization, ClusterName, wanzami-cluster, ServiceName, wanzami-backend-service]
              - [AWS/ECS, MemoryUtilization, ClusterName, wanzami-cluster, ServiceName, wanzami-backend-service]
    tags:
      project: wanzami

- name: A body rendered from a template
  wanzami.infra.cloudwatch_dashboard:
    name: wanzami-dashboard
    body: "{{ lookup('ansible.builtin.template', 'dashboard.json.j2') }}"

- name: Delete a dashboard
  wanzami.infra.cloudwatch_dashboard:
    name: wanzami-old-dashboard
    state: absent
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the dashboard exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the dashboard was kept.
  returned: when RV(kept=true)
  type: str
dashboard:
  description:
    - The dashboard after the change; in check mode, what it would be.
    - No C(dashboard_arn) for one that a dry run would create.
  returned: when O(state=present)
  type: dict
  contains:
    dashboard_name:
      description: Name.
      type: str
      sample: wanzami-dashboard
    dashboard_arn:
      description: ARN (dashboards are global, so it has no region).
      type: str
      sample: arn:aws:cloudwatch::123456789012:dashboard/wanzami-dashboard
    dashboard_body:
      description: The body, as data.
      type: dict
      sample: {widgets: [{type: metric, x: 0, y: 0, width: 12, height: 6, properties: {region: us-east-2, metrics: []}}]}
    tags:
      description: Tags.
      type: dict
      sample: {project: wanzami}
validation_messages:
  description: What CloudWatch said about the body when it was put (each also shown as a warning); empty when nothing was put.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{data_path: /widgets/0/properties/metrics/0, message: Should NOT have more than 2 items}]
"""

from ansible_collections.amazon.aws.plugins.module_utils.transformation import camel_dict_to_snake_dict

from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import AnsibleCloudWatchDashboardError
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import delete_dashboard
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import get_dashboard
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import list_dashboard_tags
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import parse_body
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import put_dashboard
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import tag_dashboard
from ansible_collections.wanzami.infra.plugins.module_utils.cloudwatch_dashboard import untag_dashboard
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message


def wanted_body(module):
    """The body option as data; fails on anything that is not a JSON object with a widgets list."""
    try:
        body = parse_body(module.params["body"])
    except ValueError as e:
        module.fail_json(msg=f"body is not valid JSON: {e}")
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        module.fail_json(msg="body must be a JSON object with a 'widgets' list (CloudWatch's dashboard body structure)")
    return body


def wanted_tags(current, params):
    if params["tags"] is None:
        return dict(current)
    tags = dict(params["tags"]) if params["purge_tags"] else {**current, **params["tags"]}
    return dict(sorted((k, str(v)) for k, v in tags.items()))


def settings_of(body, tags):
    """What this module manages, as --diff shows it."""
    return {"body": body, "tags": dict(sorted(tags.items()))}


def ensure_body(module, client, name, current, wanted, tags):
    """Put the body when it differs; returns (changed, validation messages)."""
    if current == wanted:
        return False, []
    if module.check_mode:
        return True, []
    messages = [camel_dict_to_snake_dict(m) for m in put_dashboard(client, name, wanted, tags)]
    for message in messages:
        module.warn(f"CloudWatch on dashboard {name} at {message.get('data_path', '/')}: {message.get('message')}")
    return True, messages


def ensure_tags(module, client, arn, current, wanted):
    return apply_tags(module, current, None if module.params["tags"] is None else wanted, True,
                      tag=lambda tags: tag_dashboard(client, arn, tags),
                      untag=lambda keys: untag_dashboard(client, arn, keys))


def result_of(name, dashboard, settings):
    result = {"dashboard_name": name, "dashboard_body": settings["body"], "tags": settings["tags"]}
    if dashboard and dashboard.get("DashboardArn"):
        result["dashboard_arn"] = dashboard["DashboardArn"]
    return result


def ensure_present(module, client):
    name = module.params["name"]
    body = wanted_body(module)
    dashboard = get_dashboard(client, name)

    if dashboard is None:
        after = settings_of(body, wanted_tags({}, module.params))
        changed, messages = ensure_body(module, client, name, None, body, after["tags"])
        if not module.check_mode:
            dashboard = get_dashboard(client, name)
        return changed, result_of(name, dashboard, after), messages, {"before": {}, "after": after}

    current_tags = list_dashboard_tags(client, dashboard["DashboardArn"])
    before = settings_of(parse_body(dashboard.get("DashboardBody")), current_tags)
    after = settings_of(body, wanted_tags(current_tags, module.params))
    # Tags given to PutDashboard on an existing dashboard are ignored: TagResource and UntagResource set them.
    changed, messages = ensure_body(module, client, name, before["body"], body, None)
    changed |= ensure_tags(module, client, dashboard["DashboardArn"], before["tags"], after["tags"])
    return changed, result_of(name, dashboard, after), messages, {"before": before, "after": after}


def ensure_absent(module, client):
    name = module.params["name"]
    gone = {"dashboard_name": name, "state": "absent"}
    dashboard = get_dashboard(client, name)
    if dashboard is None:
        return False, {"before": gone, "after": gone}, None
    required = module.params.get("only_if_tagged") or {}
    if required:
        tags = list_dashboard_tags(client, dashboard["DashboardArn"]) if dashboard.get("DashboardArn") else {}
        if not carries_tags(tags, required):
            return False, {}, kept_message("Dashboard", name, tags, required)
    if not module.check_mode:
        delete_dashboard(client, name)
    return True, {"before": {"dashboard_name": name, "state": "present"}, "after": gone}, None


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["dashboard_name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        body=dict(type="json"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[["state", "present", ["body"]]],
    )
    client = module.client("cloudwatch")
    try:
        if module.params["state"] == "absent":
            changed, diff, kept = ensure_absent(module, client)
            module.exit_json(changed=changed, diff=diff, kept=bool(kept), **({"msg": kept} if kept else {}))
        changed, dashboard, messages, diff = ensure_present(module, client)
    except AnsibleCloudWatchDashboardError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, dashboard=dashboard, validation_messages=messages, diff=diff)


if __name__ == "__main__":
    main()
