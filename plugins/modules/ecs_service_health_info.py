#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_service_health_info
short_description: What an on-call person needs to know about ECS services, in one read-only call
version_added: 0.1.0
description:
  - For each service of a cluster, its counts and deployments, its latest events, its recently stopped tasks with
    their stop reasons and container exit codes, the containers of the task definition it runs (image, command,
    entry point, env files, CloudWatch log group), and the last lines each container logged.
  - Says whether Node failed to find the script its command names (C(MODULE_NOT_FOUND) or C(Cannot find module) in
    a stop reason or a log line), the workers' usual failure (seed 000 runbooks).
  - M(community.aws.ecs_service_info) has no stopped tasks and no logs, and no module reads log events.
  - Read-only; runs the same in check mode. A missing cluster or service is an answer, not a failure.
author:
  - Wanzami infrastructure team
options:
  cluster:
    description: Cluster name or ARN.
    type: str
    required: true
  services:
    description: Service names.
    type: list
    elements: str
    required: true
  events:
    description: How many of each service's latest events to return.
    type: int
    default: 10
  stopped_tasks:
    description: How many of each service's stopped tasks to describe (ECS keeps them for about an hour).
    type: int
    default: 5
  log_lines:
    description: How many of each container's last log lines to return; C(0) reads no log.
    type: int
    default: 50
  log_since_minutes:
    description: How far back to look for log lines.
    type: int
    default: 60
  log_scan_limit:
    description: At most this many log events are read per container before the last O(log_lines) are kept.
    type: int
    default: 5000
  check_images:
    description: Look each container's ECR image up in its registry (C(ecr:DescribeImages)).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - IAM permissions needed are ecs:DescribeServices, ecs:DescribeTaskDefinition, ecs:ListTasks, ecs:DescribeTasks
    and logs:FilterLogEvents on the containers' log groups; ecr:DescribeImages with O(check_images).
"""

EXAMPLES = r"""
- name: What the workers are doing
  wanzami.infra.ecs_service_health_info:
    cluster: wanzami-cluster
    services: [wanzami-worker-transcode-svc, wanzami-worker-cron-svc]
    log_lines: 20
  register: health

- name: Name a worker whose script cannot be found
  ansible.builtin.debug:
    msg: "{{ health.services | dict2items | selectattr('value.module_not_found') | map(attribute='key') | list }}"
"""

RETURN = r"""
cluster_exists:
  description: Whether the cluster exists.
  returned: always
  type: bool
missing:
  description: The services asked for that are not ACTIVE in the cluster.
  returned: always
  type: list
  elements: str
services:
  description: For each ACTIVE service, by name.
  returned: always
  type: dict
  contains:
    status:
      description: The service's status.
      type: str
    task_definition:
      description: The C(family:revision) the service runs.
      type: str
    desired_count:
      description: Tasks the service wants.
      type: int
    running_count:
      description: Tasks running.
      type: int
    pending_count:
      description: Tasks starting.
      type: int
    deployments:
      description: C(status), C(task_definition), C(rollout_state), C(rollout_state_reason), C(running_count),
        C(desired_count) of each deployment.
      type: list
      elements: dict
    events:
      description: The latest event messages, newest first.
      type: list
      elements: str
    containers:
      description:
        - C(name), C(image), C(command), C(entry_point), C(environment_files) (S3 ARNs), C(log_group) and
          C(log_stream_prefix) of each container of the task definition.
        - With O(check_images), C(ecr) too, for an ECR image (null otherwise) C(registry_id), C(region),
          C(repository), C(reference) (tag or digest), C(repository_exists), C(image_exists) and C(digest).
      type: list
      elements: dict
    stopped_tasks:
      description: C(task_arn), C(task_definition), C(stopped_reason), C(stop_code), C(stopped_at) and
        C(containers) (C(name), C(exit_code), C(reason)) of the latest stopped tasks, newest first.
      type: list
      elements: dict
    log_lines:
      description: For each container logging to CloudWatch, its last lines, oldest first.
      type: dict
    module_not_found:
      description: Whether a stop reason or a log line says Node could not find a module.
      type: bool
  sample:
    wanzami-worker-transcode-svc:
      status: ACTIVE
      task_definition: wanzami-worker-transcode:7
      desired_count: 1
      running_count: 0
      module_not_found: true
      stopped_tasks:
        - stopped_reason: "Essential container in task exited"
          containers: [{name: worker, exit_code: 1, reason: ""}]
      log_lines: {worker: ["Error: Cannot find module '/app/dist/worker/transcode.js'"]}
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.diagnosis import Diagnosis
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        services=dict(type="list", elements="str", required=True),
        events=dict(type="int", default=10),
        stopped_tasks=dict(type="int", default=5),
        log_lines=dict(type="int", default=50),
        log_since_minutes=dict(type="int", default=60),
        log_scan_limit=dict(type="int", default=5000),
        check_images=dict(type="bool", default=True),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    negative = [k for k in ("events", "stopped_tasks", "log_lines", "log_since_minutes", "log_scan_limit")
                if module.params[k] < 0]
    if negative:
        module.fail_json(msg=f"{', '.join(negative)} must be 0 or more")
    if module.params["stopped_tasks"] > 100:
        module.fail_json(msg="stopped_tasks must be at most 100 (what DescribeTasks takes at once)")
    try:
        ecr_clients = {}

        def ecr(region):
            if region not in ecr_clients:
                ecr_clients[region] = module.client("ecr", region=region)
            return ecr_clients[region]

        ecr_of = ecr if module.params["check_images"] else None
        result = Diagnosis(module, module.client("ecs"), module.client("logs"), ecr_of).run()
    # The ECS, logs and ECR wrappers come from three module_utils, each with its own error class.
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
