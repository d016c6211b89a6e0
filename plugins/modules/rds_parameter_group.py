#!/usr/bin/python

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: rds_parameter_group
version_added: 0.1.0
short_description: Create or update an RDS DB parameter group or DB cluster parameter group
description:
  - Creates an RDS parameter group (O(scope=instance), C(CreateDBParameterGroup)) or an Aurora
    cluster parameter group (O(scope=cluster), C(CreateDBClusterParameterGroup)) when it is
    missing, then sets the parameters given in O(parameters) and the tags.
  - Only the parameters given are compared, by name, with the value the group holds; a parameter
    whose value differs (or that still has its engine default) is set. With
    O(purge_parameters=true), parameters set earlier but no longer listed go back to the engine's
    default.
  - The apply method is chosen per parameter from the engine's catalog - C(immediate) for dynamic
    parameters, C(pending-reboot) for static ones - so static parameters never fail the call.
  - A name that the engine's catalog does not list, or a parameter that cannot be modified, fails
    the module with the parameter's name rather than being ignored.
  - The family of an existing group cannot change (AWS has no call for it); the module fails and
    says so. Give the new family a new group name instead.
  - With O(state=absent), deletes the group (an environment's teardown). M(amazon.aws.rds_instance_param_group)
    with C(state=absent) reports a missing group as present on emulators that answer an empty list rather than
    C(DBParameterGroupNotFound), and fails deleting it.
author:
  - Wanzami infrastructure team
options:
  name:
    description: Name of the parameter group (letters, digits and hyphens, starting with a letter).
    type: str
    required: true
  state:
    description:
      - C(present) creates the group when it is missing and sets its parameters and tags.
      - C(absent) deletes it; a group still used by a database that is being deleted is retried for a while.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description:
      - C(instance) manages a DB parameter group (RDS instances, and the instances of an Aurora
        cluster); C(cluster) manages a DB cluster parameter group (Aurora clusters).
    type: str
    choices: [instance, cluster]
    default: instance
  family:
    description:
      - Parameter group family, for example C(postgres16) or C(aurora-postgresql16). Required when O(state=present).
    type: str
  description:
    description: Description used when the group is created; AWS cannot change it afterwards.
    type: str
  parameters:
    description:
      - Parameter names and the values they should have. Booleans become C(1) and C(0), numbers
        and strings are compared as text.
      - Parameters not listed are left as they are, unless O(purge_parameters=true).
    type: dict
  purge_parameters:
    description:
      - Reset to the engine's default every parameter that was set on the group but is not in
        O(parameters).
    type: bool
    default: false
  only_if_tagged:
    description:
      - With O(state=absent), delete the group only when it carries every one of these tags (the ownership tags); one
        without them is someone else's and is kept, with RV(kept=true) and a message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
notes:
  - In check mode the module only describes; it reports what it would change, with the
    differences in C(diff) when C(--diff) is given.
  - Some emulators list only the parameters that were set on a group (AWS lists the engine's whole
    catalog); names are then not checked against the catalog, and the apply method is
    C(pending-reboot), which AWS accepts for every parameter.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: PostgreSQL 16 parameters of seed 003
  wanzami.infra.rds_parameter_group:
    name: fckdoomscroll-db-postgres16
    family: postgres16
    description: fckdoomscroll-db parameters
    parameters:
      max_connections: 100
      log_statement: ddl
      log_min_duration_statement: 1000
    purge_parameters: true
    tags:
      project: fckdoomscroll

- name: An Aurora PostgreSQL cluster parameter group
  wanzami.infra.rds_parameter_group:
    name: revendiste-db-cluster-aurora-postgresql16
    scope: cluster
    family: aurora-postgresql16
    parameters:
      rds.force_ssl: true

- name: Delete a parameter group once no database uses it
  wanzami.infra.rds_parameter_group:
    name: wanzami-staging-db-postgres16
    state: absent
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the group exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the group was kept.
  returned: when RV(kept=true)
  type: str
parameter_group:
  description:
    - The group as it is after the run (as it would be, in check mode).
    - With O(state=absent), only its C(name) and C(scope).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the group.
      type: str
      sample: wanzami-db-postgres16
    scope:
      description: C(instance) or C(cluster).
      type: str
      sample: instance
    arn:
      description: ARN of the group; empty in check mode when it would be created.
      type: str
      sample: arn:aws:rds:us-east-2:123456789012:pg:wanzami-db-postgres16
    family:
      description: Parameter group family.
      type: str
      sample: postgres16
    description:
      description: Description of the group.
      type: str
    parameters:
      description: The managed parameters and their values (C(null) for an engine default).
      type: dict
      sample: {"log_statement": "ddl", "max_connections": "100"}
    tags:
      description: Tags of the group.
      type: dict
      sample: {"project": "wanzami"}
"""

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE
from ansible.module_utils.parsing.convert_bool import BOOLEANS_TRUE

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message
from ansible_collections.wanzami.infra.plugins.module_utils.rds import SCOPES
from ansible_collections.wanzami.infra.plugins.module_utils.rds import AnsibleRDSError
from ansible_collections.wanzami.infra.plugins.module_utils.rds import add_tags
from ansible_collections.wanzami.infra.plugins.module_utils.rds import create_parameter_group
from ansible_collections.wanzami.infra.plugins.module_utils.rds import delete_parameter_group
from ansible_collections.wanzami.infra.plugins.module_utils.rds import describe_parameter_group
from ansible_collections.wanzami.infra.plugins.module_utils.rds import describe_parameters
from ansible_collections.wanzami.infra.plugins.module_utils.rds import list_tags
from ansible_collections.wanzami.infra.plugins.module_utils.rds import modify_parameters
from ansible_collections.wanzami.infra.plugins.module_utils.rds import remove_tags
from ansible_collections.wanzami.infra.plugins.module_utils.rds import reset_parameters

# Sources AWS gives parameters it lists without anybody having set them: their
# presence means the listing is the engine's whole catalog.
CATALOG_SOURCES = ("engine-default", "system")


def as_text(value, data_type=None):
    """The value as RDS stores it: booleans as 1/0, everything else as text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if data_type == "boolean" and isinstance(value, str):
        if value.lower() in BOOLEANS_TRUE:
            return "1"
        if value.lower() in BOOLEANS_FALSE:
            return "0"
    return str(value)


def apply_method(meta):
    # Static parameters only take pending-reboot; unknown ones get it too, as AWS accepts it for all.
    return "immediate" if (meta or {}).get("ApplyType") == "dynamic" else "pending-reboot"


def plan_parameters(current, wanted, purge, family):
    """Compare the listing with the wanted values.

    current: DescribeDB(Cluster)Parameters' list; wanted: {name: value}.
    Returns (to_set, to_reset, problems): AWS request items and messages.
    """
    catalog = {p["ParameterName"]: p for p in current}
    complete = any(p.get("Source") in CATALOG_SOURCES for p in current)
    to_set, problems = [], []
    for name, value in sorted(wanted.items()):
        meta = catalog.get(name)
        if meta is None and complete:
            problems.append(f"{name} is not a parameter of the {family} family")
            continue
        text = as_text(value, (meta or {}).get("DataType"))
        if meta is not None and meta.get("ParameterValue") == text:
            continue
        if meta is not None and meta.get("IsModifiable") is False:
            problems.append(f"{name} cannot be modified")
            continue
        to_set.append({"ParameterName": name, "ParameterValue": text, "ApplyMethod": apply_method(meta)})
    to_reset = []
    if purge:
        for name, meta in sorted(catalog.items()):
            if name in wanted or meta.get("ParameterValue") is None:
                continue
            if meta.get("Source", "user") == "user":
                to_reset.append({"ParameterName": name, "ApplyMethod": apply_method(meta)})
    return to_set, to_reset, problems


def managed_values(current, wanted, to_reset):
    """{name: value} of every parameter the run looks at (wanted ones and purged ones)."""
    values = {p["ParameterName"]: p.get("ParameterValue") for p in current}
    names = set(wanted) | {p["ParameterName"] for p in to_reset}
    return {name: values.get(name) for name in sorted(names)}


def ensure_tags(module, client, arn, current, wanted, purge):
    return apply_tags(module, current, wanted, purge,
                      tag=lambda tags: add_tags(client, arn, tags),
                      untag=lambda keys: remove_tags(client, arn, keys))


def tags_after(current, params):
    if params["tags"] is None:
        return dict(sorted(current.items()))
    tags = dict(params["tags"]) if params["purge_tags"] else {**current, **params["tags"]}
    return dict(sorted(tags.items()))


def ensure_present(module, client):
    """Returns (changed, parameter_group, diff)."""
    params = module.params
    scope, name, family = params["scope"], params["name"], params["family"]
    wanted = params["parameters"] or {}
    description = params["description"] or f"Parameters of {name}"
    group = describe_parameter_group(client, scope, name)

    if group is None:
        after = {"family": family, "description": description, "parameters": {}, "tags": tags_after({}, params)}
        if module.check_mode:
            after["parameters"] = {k: as_text(v) for k, v in sorted(wanted.items())}
            result = dict(after, name=name, scope=scope, arn="")
            return True, result, {"before": {}, "after": after}
        group = create_parameter_group(client, scope, name, family, description, params["tags"])
        changed, before = True, {}
        current_tags = params["tags"] or {}
    else:
        if group["DBParameterGroupFamily"] != family:
            module.fail_json(
                msg=(
                    f"Parameter group {name} has the family {group['DBParameterGroupFamily']}, not {family}, and AWS "
                    "cannot change a group's family: give the new family a new group name"
                )
            )
        changed = False
        current_tags = list_tags(client, group[SCOPES[scope]["arn_key"]])
        before = None

    current = describe_parameters(client, scope, name)
    to_set, to_reset, problems = plan_parameters(current, wanted, params["purge_parameters"], family)
    if problems:
        module.fail_json(msg=f"Parameter group {name}: " + "; ".join(problems))

    values = managed_values(current, wanted, to_reset)
    if before is None:
        before = {
            "family": group["DBParameterGroupFamily"],
            "description": group.get("Description", ""),
            "parameters": values,
            "tags": dict(sorted(current_tags.items())),
        }
    after_values = dict(values)
    after_values.update({p["ParameterName"]: p["ParameterValue"] for p in to_set})
    after_values.update({p["ParameterName"]: None for p in to_reset})

    if (to_set or to_reset) and not module.check_mode:
        if to_reset:
            reset_parameters(client, scope, name, to_reset)
        if to_set:
            modify_parameters(client, scope, name, to_set)
    changed |= bool(to_set or to_reset)
    arn = group[SCOPES[scope]["arn_key"]]
    changed |= ensure_tags(module, client, arn, current_tags, params["tags"], params["purge_tags"])

    after = {
        "family": group["DBParameterGroupFamily"],
        "description": group.get("Description", description),
        "parameters": after_values,
        "tags": tags_after(current_tags, params),
    }
    result = dict(after, name=name, scope=scope, arn=arn)
    return changed, result, {"before": before, "after": after}


def ensure_absent(module, client):
    """Returns (changed, parameter_group, diff); parameter_group has why it was kept, when it is not ours."""
    scope, name = module.params["scope"], module.params["name"]
    group = describe_parameter_group(client, scope, name)
    result = {"name": name, "scope": scope}
    if group is None:
        return False, result, {"before": {}, "after": {}}
    required = module.params.get("only_if_tagged") or {}
    if required:
        tags = list_tags(client, group[SCOPES[scope]["arn_key"]])
        if not carries_tags(tags, required):
            kind = "DB cluster parameter group" if scope == "cluster" else "DB parameter group"
            return False, dict(result, kept=kept_message(kind, name, tags, required)), {"before": {}, "after": {}}
    before = {"family": group["DBParameterGroupFamily"], "description": group.get("Description", "")}
    if not module.check_mode:
        delete_parameter_group(client, scope, name)
    return True, result, {"before": before, "after": {}}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        scope=dict(type="str", choices=["instance", "cluster"], default="instance"),
        family=dict(type="str"),
        description=dict(type="str"),
        parameters=dict(type="dict"),
        purge_parameters=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("family",))],
    )
    client = module.client("rds")
    try:
        if module.params["state"] == "absent":
            changed, group, diff = ensure_absent(module, client)
        else:
            changed, group, diff = ensure_present(module, client)
    except AnsibleRDSError as e:
        module.fail_json_aws_error(e)
    result = dict(changed=changed, parameter_group=group)
    if module.params["state"] == "absent":
        kept = group.pop("kept", None)
        result.update(kept=bool(kept), **({"msg": kept} if kept else {}))
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
