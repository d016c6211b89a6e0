#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_task_definition
short_description: Register an ECS task definition revision only when it differs from the family's latest
version_added: 0.1.0
description:
  - Compares the wanted task definition with the latest C(ACTIVE) revision of its family and registers a
    new revision only when they differ. Old revisions are never deregistered with O(state=present), so a
    rollback can always go back to one.
  - The comparison ignores what ECS fills in by itself (C(cpu=0) on a container, empty lists, C(essential=true),
    a port mapping's C(protocol=tcp) and C(hostPort) equal to its C(containerPort), a health check's default
    interval, timeout and retries), so a second run with the same input registers nothing.
  - M(community.aws.ecs_taskdefinition) 10.0.0 compares revisions in ways that re-register or fail on what
    M(community.aws.ecs_taskdefinition_info) returns, which is why this collection's roles use this module.
  - With O(state=absent), deregisters every C(ACTIVE) revision of the family (an environment's teardown);
    ECS keeps deregistered revisions C(INACTIVE), where running tasks and services can no longer start from them.
  - Supports check mode (no mutating call) and C(--diff) (the latest revision and the wanted one).
author:
  - Wanzami infrastructure team
options:
  family:
    description: Task definition family, for example C(wanzami-backend-task).
    type: str
    required: true
  state:
    description:
      - C(present) registers a new revision when the wanted one differs from the latest.
      - C(absent) deregisters every C(ACTIVE) revision of the family; nothing is called when it has none.
    type: str
    choices: [present, absent]
    default: present
  only_if_tagged:
    description:
      - With O(state=absent), deregister only the revisions that carry every one of these tags (the ownership tags;
        O(tags) puts them on each revision this module registers, and C(deploy.yml) copies them to the revisions it
        registers). Revisions without them are someone else's and are kept, with RV(kept=true) and a message naming
        them. Each C(ACTIVE) revision is read once for its tags.
      - Empty - deregister every C(ACTIVE) revision of the family.
    type: dict
    default: {}
  container_definitions:
    description:
      - The containers, in the ECS API's own spelling (camelCase keys, as in C(register-task-definition) JSON).
      - Required when O(state=present).
    type: list
    elements: dict
  cpu:
    description: Task CPU units, for example C(512). Fargate accepts only some cpu and memory pairs.
    type: str
  memory:
    description: Task memory in MiB, for example C(1024).
    type: str
  network_mode:
    description: Network mode; Fargate needs C(awsvpc).
    type: str
    choices: [awsvpc, bridge, host, none]
    default: awsvpc
  requires_compatibilities:
    description: Launch types the definition is validated for.
    type: list
    elements: str
    default: [FARGATE]
  execution_role_arn:
    description: The task execution role (pulls images, writes logs, reads the env file and secrets).
    type: str
  task_role_arn:
    description: The task role, the application's own identity.
    type: str
  runtime_platform:
    description: C(cpuArchitecture) and C(operatingSystemFamily), in the API's spelling; ECS's default when not given.
    type: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - Tags are given to each new revision; changing only the tags tags the latest revision in place.
"""

EXAMPLES = r"""
- name: Seed 000's cron worker
  wanzami.infra.ecs_task_definition:
    family: wanzami-worker-cron
    cpu: "512"
    memory: "1024"
    execution_role_arn: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
    container_definitions:
      - name: worker-cron
        image: 123456789012.dkr.ecr.us-east-2.amazonaws.com/wanzami-backend:latest
        memory: 1024
        command: [node, dist/worker/cron.js]
        environmentFiles:
          - {value: "arn:aws:s3:::wanzami-ecs-config-us-east-2/wanzami_assets/.env", type: s3}
        logConfiguration:
          logDriver: awslogs
          options:
            awslogs-group: /ecs/wanzami-backend-workers
            awslogs-region: us-east-2
            awslogs-stream-prefix: worker
  register: cron_task

- name: Deregister every ACTIVE revision of a family (teardown)
  wanzami.infra.ecs_task_definition:
    family: wanzami-staging-worker-cron
    state: absent
"""

RETURN = r"""
task_definition:
  description:
    - The latest revision after the run, in snake_case (container definitions keep the API's spelling).
    - In check mode, when a revision would be registered, the current one (or only the family) with
      C(would_register=true).
  returned: when O(state=present)
  type: dict
  contains:
    task_definition_arn:
      description: ARN of the revision.
      type: str
      sample: arn:aws:ecs:us-east-2:123456789012:task-definition/wanzami-worker-cron:3
    family:
      description: Family.
      type: str
      sample: wanzami-worker-cron
    revision:
      description: Revision number.
      type: int
      sample: 3
    family_revision:
      description: C(family:revision), what a service or a rollback refers to.
      type: str
      sample: wanzami-worker-cron:3
    container_definitions:
      description: The containers as ECS holds them.
      type: list
      elements: dict
deregistered:
  description: C(family:revision) of every revision deregistered (in check mode, that would be), newest first.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [wanzami-worker-cron:4, wanzami-worker-cron:3]
kept:
  description: With O(state=absent) and O(only_if_tagged), true when some C(ACTIVE) revisions are not ours, so were kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Which revisions were kept, and why.
  returned: when RV(kept=true)
  type: str
"""

import copy

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.wanzami.infra.plugins.module_utils.ecs import ecs_tag_dict
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import ecs_tag_list
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import AnsibleECSServiceError
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import deregister_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import list_active_task_definitions
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import register_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import tag_resource
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import untag_resource
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags

HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


def _pruned(value):
    """Drop None, empty lists and empty dicts, recursively: ECS adds empty ones the input never had."""
    if isinstance(value, dict):
        pruned = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def normalised_container(container):
    """A container definition with ECS's implicit defaults made explicit and empties dropped."""
    c = copy.deepcopy(container)
    c.setdefault("essential", True)
    if not c.get("cpu"):
        c.pop("cpu", None)
    mappings = []
    for mapping in c.get("portMappings") or []:
        m = dict(mapping)
        m.setdefault("protocol", "tcp")
        # awsvpc: the host port is the container port.
        m.setdefault("hostPort", m.get("containerPort"))
        mappings.append(m)
    c["portMappings"] = sorted(mappings, key=lambda m: (m.get("containerPort") or 0, m["protocol"]))
    if c.get("healthCheck"):
        c["healthCheck"] = {**HEALTH_CHECK_DEFAULTS, **c["healthCheck"]}
    for key in ("secrets", "environment"):
        c[key] = sorted(c.get(key) or [], key=lambda e: e.get("name", ""))
    return _pruned(c)


def comparable(definition):
    """The fields this module manages, as compared and shown in the diff."""
    if not definition:
        return {}
    return _pruned({
        "family": definition.get("family"),
        "cpu": str(definition["cpu"]) if definition.get("cpu") else None,
        "memory": str(definition["memory"]) if definition.get("memory") else None,
        "networkMode": definition.get("networkMode"),
        "requiresCompatibilities": sorted(definition.get("requiresCompatibilities") or []),
        "executionRoleArn": definition.get("executionRoleArn"),
        "taskRoleArn": definition.get("taskRoleArn"),
        "runtimePlatform": definition.get("runtimePlatform"),
        "containerDefinitions": sorted(
            (normalised_container(c) for c in definition.get("containerDefinitions") or []), key=lambda c: c["name"]
        ),
    })


def wanted_definition(params):
    return {
        "family": params["family"],
        "cpu": params["cpu"],
        "memory": params["memory"],
        "networkMode": params["network_mode"],
        "requiresCompatibilities": params["requires_compatibilities"],
        "executionRoleArn": params["execution_role_arn"],
        "taskRoleArn": params["task_role_arn"],
        "runtimePlatform": params["runtime_platform"],
        "containerDefinitions": params["container_definitions"],
    }


def result_of(definition, family, would_register=False):
    if not definition:
        return {"family": family, "would_register": would_register}
    result = camel_dict_to_snake_dict(definition, ignore_list=["containerDefinitions", "tags"])
    result["container_definitions"] = definition.get("containerDefinitions") or []
    result["tags"] = {t["key"]: t.get("value", "") for t in definition.get("tags") or []}
    result["family_revision"] = f"{definition['family']}:{definition['revision']}"
    result["would_register"] = would_register
    return result


def ensure_tags(module, client, definition):
    if module.params["tags"] is None:
        return False
    arn = definition["taskDefinitionArn"]
    current = ecs_tag_dict(definition.get("tags"))
    wanted = {k: str(v) for k, v in module.params["tags"].items()}
    changed = apply_tags(module, current, wanted, module.params["purge_tags"],
                         tag=lambda tags: tag_resource(client, arn, tags),
                         untag=lambda keys: untag_resource(client, arn, keys))
    if changed and not module.check_mode:
        # The result shows the tags as they are now.
        definition["tags"] = ecs_tag_list(wanted if module.params["purge_tags"] else {**current, **wanted})
    return changed


def ensure_present(module, client):
    params = module.params
    latest = describe_task_definition(client, params["family"])
    wanted = wanted_definition(params)
    before, after = comparable(latest), comparable(wanted)
    diff = {"before": before, "after": after}
    if latest and before == after:
        changed = ensure_tags(module, client, latest)
        return changed, result_of(latest, params["family"]), diff
    if module.check_mode:
        return True, result_of(latest, params["family"], would_register=True), diff
    register = _pruned(wanted)
    if params["tags"]:
        register["tags"] = [{"key": k, "value": str(v)} for k, v in sorted(params["tags"].items())]
    registered = register_task_definition(client, **register)
    return True, result_of(registered, params["family"]), diff


def not_ours(client, arns, required):
    """The ARNs of revisions that lack the required tags, and the tags they lack (every revision when none is ours)."""
    if not required:
        return [], {}
    foreign, lacking = [], {}
    for arn in arns:
        tags = ecs_tag_dict((describe_task_definition(client, arn) or {}).get("tags"))
        if not carries_tags(tags, required):
            foreign.append(arn)
            lacking.update({k: v for k, v in required.items() if str(tags.get(k)) != str(v)})
    return foreign, lacking


def ensure_absent(module, client):
    """Deregister every ACTIVE revision of the family that is ours; returns (changed, deregistered family:revision
    list, diff, why some were kept or None)."""
    family = module.params["family"]
    active = list_active_task_definitions(client, family)
    required = module.params.get("only_if_tagged") or {}
    foreign, lacking = not_ours(client, active, required)
    arns = [arn for arn in active if arn not in foreign]
    revisions = [arn.rsplit("/", 1)[-1] for arn in arns]
    kept = None
    if foreign:
        missing = ", ".join(sorted(f"{k}={v}" for k, v in lacking.items()))
        kept = (f"Task definition family {family}: revisions {', '.join(a.rsplit(':', 1)[-1] for a in foreign)} are not "
                f"ours (they lack the ownership tags {missing}): kept, not deregistered. Deregister them yourself if they "
                "really are this environment's.")
    if not module.check_mode:
        for arn in arns:
            deregister_task_definition(client, arn)
    after = [arn.rsplit("/", 1)[-1] for arn in foreign]
    return bool(arns), revisions, {"before": {"family": family, "active_revisions": revisions + after},
                                   "after": {"family": family, "active_revisions": after}}, kept


def main():
    argument_spec = dict(
        family=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        container_definitions=dict(type="list", elements="dict"),
        cpu=dict(type="str"),
        memory=dict(type="str"),
        network_mode=dict(type="str", choices=["awsvpc", "bridge", "host", "none"], default="awsvpc"),
        requires_compatibilities=dict(type="list", elements="str", default=["FARGATE"]),
        execution_role_arn=dict(type="str"),
        task_role_arn=dict(type="str"),
        runtime_platform=dict(type="dict"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("container_definitions",))],
    )
    client = module.client("ecs")
    if module.params["state"] == "absent":
        try:
            changed, deregistered, diff, kept = ensure_absent(module, client)
        except AnsibleECSServiceError as e:
            module.fail_json_aws_error(e)
        module.exit_json(changed=changed, deregistered=deregistered, diff=diff, kept=bool(kept),
                         **({"msg": kept} if kept else {}))
    missing = [c.get("name", "?") for c in module.params["container_definitions"] if not c.get("name") or not c.get("image")]
    if missing:
        module.fail_json(msg=f"Every container definition needs a name and an image: {', '.join(missing)}")
    try:
        changed, definition, diff = ensure_present(module, client)
    except AnsibleECSServiceError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, task_definition=definition, diff=diff)


if __name__ == "__main__":
    main()
