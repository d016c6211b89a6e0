#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecr_images_in_use_info
short_description: The ECR images that task definitions, services and the release record still name
version_added: 0.1.0
description:
  - Reads, without changing anything, every image of the given ECR repositories that is named (by tag or digest) by
    an ACTIVE revision of the given task definition families, by the task definition of a service (its current one
    and those of its deployments) or by the release record M(wanzami.infra.ecs_release) keeps in SSM (the release and
    the previous one, which a rollback goes back to).
  - Give its result to M(wanzami.infra.ecr_repository)'s O(wanzami.infra.ecr_repository#module:protected_images),
    which then refuses a lifecycle policy that would expire one of them.
  - A cluster, family, service or parameter that does not exist names nothing; that is not an error.
author:
  - Wanzami infrastructure team
options:
  repositories:
    description: ECR repository names whose images are looked for, for example C(wanzami-backend).
    type: list
    elements: str
    required: true
  task_definition_families:
    description: Task definition families whose ACTIVE revisions are read.
    type: list
    elements: str
    default: []
  cluster:
    description: Cluster of O(services).
    type: str
  services:
    description: Services whose current task definitions (and their deployments') are read.
    type: list
    elements: str
    default: []
  release_record_parameter:
    description:
      - SSM parameter holding M(wanzami.infra.ecs_release)'s JSON release record, for example C(/wanzami/production/release).
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - IAM permissions - ecs:ListTaskDefinitions, ecs:DescribeTaskDefinition, ecs:DescribeServices, ssm:GetParameter.
"""

EXAMPLES = r"""
- name: Images of wanzami-backend that must not expire
  wanzami.infra.ecr_images_in_use_info:
    repositories: [wanzami-backend]
    task_definition_families: [wanzami-backend-task, wanzami-worker-transcode, wanzami-worker-cron]
    cluster: wanzami-cluster
    services: [wanzami-backend-service, wanzami-worker-transcode-svc, wanzami-worker-cron-svc]
    release_record_parameter: /wanzami/production/release
  register: in_use

- name: Put the lifecycle policy unless it would expire one of them
  wanzami.infra.ecr_repository:
    name: wanzami-backend
    lifecycle_policy: "{{ policy }}"
    protected_images: "{{ in_use.images }}"
"""

RETURN = r"""
images:
  description: One entry per image named, sorted by repository, tag and digest.
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: Repository name.
      type: str
      sample: wanzami-backend
    tag:
      description: The tag that names it, when the reference has no digest.
      type: str
      sample: latest
    digest:
      description: The digest that names it.
      type: str
      sample: sha256:71041d7a18c29121d4947aa74ff555a41fa755ee035859170adcbeadef47079b
    used_by:
      description: What names it (task definition family:revision, service, release record).
      type: list
      elements: str
      sample: ["task definition wanzami-backend-task:4", "service wanzami-backend-service"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import merge_references
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import parse_record
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import parse_reference
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import record_references
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.release import describe_services
from ansible_collections.wanzami.infra.plugins.module_utils.release import get_parameter
from ansible_collections.wanzami.infra.plugins.module_utils.release import list_task_definitions


def short(arn):
    return arn.rsplit("/", 1)[-1]


def definition_references(definition, repositories, used_by):
    found = []
    for container in definition.get("containerDefinitions") or []:
        path, tag, digest = parse_reference(container.get("image") or "")
        if path in repositories:
            found.append((path, tag or (None if digest else "latest"), digest, used_by))
    return found


def images_in_use(ecs, ssm, params):
    repositories = set(params["repositories"])
    found = []
    described = {}

    def describe(arn):
        if arn not in described:
            described[arn] = describe_task_definition(ecs, arn) or {}
        return described[arn]

    for family in params["task_definition_families"]:
        for arn in list_task_definitions(ecs, family):
            if short(arn).rsplit(":", 1)[0] == family:
                found += definition_references(describe(arn), repositories, f"task definition {short(arn)}")
    if params["cluster"] and params["services"]:
        services = describe_services(ecs, params["cluster"], params["services"]) or {}
        for name, service in sorted(services.items()):
            arns = {service.get("taskDefinition")} | {d.get("taskDefinition") for d in service.get("deployments") or []}
            for arn in sorted(a for a in arns if a):
                found += definition_references(describe(arn), repositories, f"service {name} ({short(arn)})")
    if params["release_record_parameter"]:
        record = parse_record(get_parameter(ssm, params["release_record_parameter"]))
        name = params["release_record_parameter"]
        found += [(r, t, d, f"{u} {name}") for r, t, d, u in record_references(record, repositories)]
    return merge_references(found)


def main():
    argument_spec = dict(
        repositories=dict(type="list", elements="str", required=True),
        task_definition_families=dict(type="list", elements="str", default=[]),
        cluster=dict(type="str"),
        services=dict(type="list", elements="str", default=[]),
        release_record_parameter=dict(type="str"),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        images = images_in_use(module.client("ecs"), module.client("ssm"), module.params)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, images=images)


if __name__ == "__main__":
    main()
