#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_service
short_description: Create or update an ECS service with its deployment settings, network and load balancers
version_added: 0.1.0
description:
  - Creates one ECS service, or updates the settings given here in place with one C(UpdateService) call.
  - Manages the task definition, desired count, capacity provider strategy, network configuration, load
    balancers, health check grace period, rolling deployment percentages and the deployment circuit breaker.
  - After a create, reads the service back and applies with C(UpdateService) whatever the new service
    does not show yet, so that the first run leaves it as asked and a second run reports no change.
  - M(community.aws.ecs_service) 10.0.0 compares C(deploymentConfiguration) as ECS echoes it and has no diff;
    this module compares each managed field as ECS normalises it (subnets and groups as sets, omitted zeros).
  - Never waits for a deployment; C(deploy.yml) waits.
  - With O(state=absent), scales the service to zero, deletes it with force and waits until ECS reports it
    C(INACTIVE); a service that is C(DRAINING) already is only waited for.
  - Supports check mode (no mutating call) and C(--diff).
author:
  - Wanzami infrastructure team
options:
  name:
    description: Service name, for example C(wanzami-backend-service).
    type: str
    required: true
  cluster:
    description: Cluster name or ARN.
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the service.
      - C(absent) scales it to zero, deletes it (with force, so that ECS stops what is left) and waits up to
        O(wait_timeout) seconds until it is C(INACTIVE). A missing service, or a missing cluster, is absent already.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - With O(state=absent), seconds to wait until the service is C(INACTIVE) (its tasks have stopped); C(0) does
        not wait. The module fails when the time is up.
    type: int
    default: 600
  only_if_tagged:
    description:
      - With O(state=absent), delete the service only when it carries every one of these tags (the ownership tags);
        one without them is someone else's and is kept, untouched (not scaled either), with RV(kept=true) and a
        message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
  task_definition:
    description: C(family:revision) or a task definition ARN. Required when O(state=present).
    type: str
  desired_count:
    description:
      - Tasks to keep running. Required when O(state=present).
      - With O(keep_desired_count), only the count a new service starts with.
    type: int
  keep_desired_count:
    description:
      - Set the desired count only when creating the service, and leave it alone afterwards.
      - For services under Application Auto Scaling (M(wanzami.infra.ecs_service_scaling)) or scaled by hand, whose
        count a re-run must not reset.
    type: bool
    default: false
  first_image:
    description:
      - The image a service runs before its first release, C(<repository>:<tag>) in this account's ECR (the
        module's region). While it is not there, a service being created starts with desired count C(0) instead of
        O(desired_count), and a service at C(0) stays there (RV(awaiting_image=true)), as its tasks would only fail
        to pull. The first release (M(wanzami.infra.ecs_release)'s O(wanzami.infra.ecs_release#module:desired_counts))
        raises the count.
      - A service that runs tasks (desired count above C(0)) is handled as without this option; its count is never
        lowered because the image is missing.
      - Leave out when the task definition names an image given in full, or one a release pinned.
    type: dict
    suboptions:
      repository:
        description: ECR repository name, for example C(wanzami-backend).
        type: str
        required: true
      tag:
        description: The tag, for example C(latest).
        type: str
        required: true
  launch_type:
    description: C(FARGATE); leave out to use O(capacity_provider_strategy) (or the cluster's default).
    type: str
    choices: [FARGATE, EC2]
  capacity_provider_strategy:
    description: Capacity providers, in snake_case (C(capacity_provider), C(weight), C(base)). Not with O(launch_type).
    type: list
    elements: dict
  network_configuration:
    description: The awsvpc network.
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
        description: Give each task a public IP (public subnets without NAT).
        type: bool
        default: false
  load_balancers:
    description: Target groups the service registers its tasks in.
    type: list
    elements: dict
    suboptions:
      target_group_arn:
        description: Target group ARN.
        type: str
        required: true
      container_name:
        description: Container to register.
        type: str
        required: true
      container_port:
        description: Its port.
        type: int
        required: true
  health_check_grace_period_seconds:
    description: Seconds load balancer health checks are ignored after a task starts; only with O(load_balancers).
    type: int
  deployment_configuration:
    description: Rolling update settings.
    type: dict
    suboptions:
      minimum_healthy_percent:
        description: Lower bound of running tasks during a deployment, in percent of the desired count.
        type: int
        default: 100
      maximum_percent:
        description: Upper bound, in percent of the desired count.
        type: int
        default: 200
      circuit_breaker:
        description: Stop a failing deployment.
        type: bool
        default: true
      rollback:
        description: Roll back to the last completed deployment when the circuit breaker trips.
        type: bool
        default: true
  propagate_tags:
    description: Copy tags to the tasks from the service or the task definition.
    type: str
    choices: [SERVICE, TASK_DEFINITION, NONE]
    default: SERVICE
  force_new_deployment:
    description: Start a new deployment even when nothing else changes (restarts the tasks).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - ECS cannot change the load balancers, launch type or propagation of a service on every platform in place;
    UpdateService is used, and ECS's error is reported when it refuses.
  - Changing the capacity provider strategy forces a new deployment, as ECS requires.
  - With O(first_image), ecr:DescribeImages is called for a service that does not exist yet or is at desired count 0.
"""

EXAMPLES = r"""
- name: Seed 000's API behind its target group, rolling 100/200 with circuit breaker and rollback
  wanzami.infra.ecs_service:
    name: wanzami-backend-service
    cluster: wanzami-cluster
    task_definition: wanzami-backend-task:4
    desired_count: 2
    capacity_provider_strategy:
      - {capacity_provider: FARGATE, weight: 1, base: 0}
    network_configuration:
      subnets: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
      security_groups: [sg-0123456789abcdef0]
    load_balancers:
      - target_group_arn: arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/wanzami-backend-tg/0123456789abcdef
        container_name: api
        container_port: 4000
    health_check_grace_period_seconds: 60
    deployment_configuration:
      minimum_healthy_percent: 100
      maximum_percent: 200

- name: Delete a service (scaled to zero first) and wait until its tasks have stopped
  wanzami.infra.ecs_service:
    name: wanzami-staging-worker-cron-svc
    cluster: wanzami-staging-cluster
    state: absent
    wait_timeout: 600
"""

RETURN = r"""
awaiting_image:
  description:
    - With O(first_image), true when the image is not in ECR and the service is (or, in check mode, would be) at
      desired count C(0) for that reason, waiting for its first release.
  returned: when O(state=present)
  type: bool
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the service exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the service was kept.
  returned: when RV(kept=true)
  type: str
service:
  description:
    - The service after the run (in check mode, as it is, with the wanted settings in C(diff)).
    - With O(state=absent), only C(service_name) and C(status) (C(INACTIVE), or the status it would leave in check mode).
  returned: always
  type: dict
  contains:
    service_arn:
      description: ARN; absent in check mode when the service would be created.
      type: str
      sample: arn:aws:ecs:us-east-2:123456789012:service/wanzami-cluster/wanzami-backend-service
    service_name:
      description: Name.
      type: str
      sample: wanzami-backend-service
    task_definition:
      description: ARN of the task definition it runs.
      type: str
    desired_count:
      description: Desired count.
      type: int
      sample: 2
"""

import time

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.ecs import ecs_tag_dict
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import AnsibleECSServiceError
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import create_service
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import delete_service
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_service
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_service_in_any_status
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import tag_resource
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import untag_resource
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import update_service
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message
from ansible_collections.wanzami.infra.plugins.module_utils.release import describe_image

# Seconds between two reads while waiting for a deleted service to become INACTIVE.
POLL_INTERVAL = 5

# The settings UpdateService can change, and the name it takes each by.
UPDATABLE = ("taskDefinition", "desiredCount", "capacityProviderStrategy", "networkConfiguration", "loadBalancers",
             "healthCheckGracePeriodSeconds", "deploymentConfiguration", "propagateTags")


def task_definition_ref(value):
    """family:revision, whether given as such or as an ARN."""
    return value.split("/")[-1] if value else value


def normalised(service):
    """The managed settings of a service (API spelling) in a comparable form."""
    if not service:
        return {}
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    deployment = service.get("deploymentConfiguration") or {}
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    result = {
        "taskDefinition": task_definition_ref(service.get("taskDefinition")),
        "desiredCount": service.get("desiredCount"),
        "capacityProviderStrategy": sorted(
            ({"capacityProvider": s["capacityProvider"], "weight": s.get("weight", 0), "base": s.get("base", 0)}
             for s in service.get("capacityProviderStrategy") or []),
            key=lambda s: s["capacityProvider"]),
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": sorted(network.get("subnets") or []),
            "securityGroups": sorted(network.get("securityGroups") or []),
            "assignPublicIp": network.get("assignPublicIp") or "DISABLED",
        }} if network else {},
        "loadBalancers": sorted(
            ({"targetGroupArn": lb.get("targetGroupArn"), "containerName": lb.get("containerName"),
              "containerPort": lb.get("containerPort")} for lb in service.get("loadBalancers") or []),
            key=lambda lb: (lb["targetGroupArn"] or "", lb["containerName"] or "")),
        "healthCheckGracePeriodSeconds": service.get("healthCheckGracePeriodSeconds") or 0,
        "deploymentConfiguration": {
            "minimumHealthyPercent": deployment.get("minimumHealthyPercent"),
            "maximumPercent": deployment.get("maximumPercent"),
            "deploymentCircuitBreaker": {"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))},
        } if deployment else {},
        "propagateTags": service.get("propagateTags") or "NONE",
        "launchType": service.get("launchType"),
    }
    return result


def wanted_service(params):
    """The managed settings as the API takes them."""
    wanted = {"taskDefinition": params["task_definition"], "desiredCount": params["desired_count"],
              "propagateTags": params["propagate_tags"]}
    if params["capacity_provider_strategy"] is not None:
        wanted["capacityProviderStrategy"] = [
            {"capacityProvider": s["capacity_provider"], "weight": int(s.get("weight") or 0), "base": int(s.get("base") or 0)}
            for s in params["capacity_provider_strategy"]]
    if params["launch_type"]:
        wanted["launchType"] = params["launch_type"]
    network = params["network_configuration"]
    if network:
        wanted["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": list(network["subnets"]), "securityGroups": list(network["security_groups"] or []),
            "assignPublicIp": "ENABLED" if network["assign_public_ip"] else "DISABLED"}}
    if params["load_balancers"] is not None:
        wanted["loadBalancers"] = [
            {"targetGroupArn": lb["target_group_arn"], "containerName": lb["container_name"],
             "containerPort": lb["container_port"]}
            for lb in params["load_balancers"]]
    if params["health_check_grace_period_seconds"] is not None:
        wanted["healthCheckGracePeriodSeconds"] = params["health_check_grace_period_seconds"]
    deployment = params["deployment_configuration"]
    if deployment:
        wanted["deploymentConfiguration"] = {
            "minimumHealthyPercent": deployment["minimum_healthy_percent"],
            "maximumPercent": deployment["maximum_percent"],
            "deploymentCircuitBreaker": {"enable": deployment["circuit_breaker"], "rollback": deployment["rollback"]},
        }
    return wanted


def differences(current, wanted):
    """The settings of `wanted` (API spelling) whose normalised value differs from the current service's."""
    now, want = normalised(current), normalised(wanted)
    fields = [k for k in UPDATABLE if k in wanted]
    return [k for k in fields if now.get(k) != want.get(k)]


def diff_view(service, fields):
    view = normalised(service)
    return {k: view.get(k) for k in fields}


def update_params(params, wanted, fields):
    update = {"cluster": params["cluster"], "service": params["name"]}
    update.update({k: wanted[k] for k in fields})
    if "capacityProviderStrategy" in fields or params["force_new_deployment"]:
        # ECS requires a new deployment to move tasks to another strategy.
        update["forceNewDeployment"] = True
    return update


def ensure_tags(module, client, service):
    if module.params["tags"] is None:
        return False
    wanted = {k: str(v) for k, v in module.params["tags"].items()}
    return apply_tags(module, ecs_tag_dict(service.get("tags")), wanted, module.params["purge_tags"],
                      tag=lambda tags: tag_resource(client, service["serviceArn"], tags),
                      untag=lambda keys: untag_resource(client, service["serviceArn"], keys))


def result_of(service, name):
    if not service:
        return {"service_name": name}
    service = {k: v for k, v in service.items() if k not in ("events", "deployments")}
    result = camel_dict_to_snake_dict(service, ignore_list=["tags"])
    result["tags"] = {t["key"]: t.get("value", "") for t in service.get("tags") or []}
    return result


def ensure_present(module, client):
    params = module.params
    wanted = wanted_service(params)
    fields = [k for k in UPDATABLE if k in wanted]
    service = describe_service(client, params["cluster"], params["name"])
    if service is not None and params["keep_desired_count"]:
        # The autoscaler (or a person) owns the count of a running service.
        wanted.pop("desiredCount")
    awaiting = awaiting_image(module, service)
    if awaiting and "desiredCount" in wanted:
        # No image to run yet: tasks would only fail to pull. The first release raises the count.
        wanted["desiredCount"] = 0
    if service is None:
        diff = {"before": {}, "after": diff_view(wanted, fields)}
        if module.check_mode:
            return True, result_of(None, params["name"]), diff, awaiting
        create = {"cluster": params["cluster"], "serviceName": params["name"], **wanted, "enableECSManagedTags": True}
        if params["tags"]:
            create["tags"] = [{"key": k, "value": str(v)} for k, v in sorted(params["tags"].items())]
        create_service(client, **create)
        # Read back: whatever the new service does not show as asked is applied now, not on the next run.
        service = describe_service(client, params["cluster"], params["name"])
        missing = differences(service, wanted) if service else []
        if missing:
            update_service(client, **update_params({**params, "force_new_deployment": False}, wanted, missing))
            service = describe_service(client, params["cluster"], params["name"])
        return True, result_of(service, params["name"]), diff, awaiting

    changed_fields = differences(service, wanted)
    diff = {"before": diff_view(service, changed_fields), "after": diff_view(wanted, changed_fields)}
    changed = bool(changed_fields) or params["force_new_deployment"]
    if changed and not module.check_mode:
        service = update_service(client, **update_params(params, wanted, changed_fields))
        service = describe_service(client, params["cluster"], params["name"]) or service
    changed |= ensure_tags(module, client, service)
    return changed, result_of(service, params["name"]), diff, awaiting


def awaiting_image(module, service):
    """True when first_image is given and not in ECR, for a service to create or one at desired count 0."""
    first = module.params.get("first_image")
    if not first or (service is not None and service.get("desiredCount")):
        return False
    return describe_image(module.client("ecr"), first["repository"], {"imageTag": first["tag"]}) is None


def wait_inactive(module, client):
    """Until the service is INACTIVE (or gone); fails after wait_timeout seconds."""
    params = module.params
    deadline = time.monotonic() + params["wait_timeout"]
    while True:
        service = describe_service_in_any_status(client, params["cluster"], params["name"])
        if service is None or service.get("status") == "INACTIVE":
            return
        if time.monotonic() >= deadline:
            module.fail_json(msg=(f"Service {params['name']} is still {service.get('status')} after {params['wait_timeout']} s"
                                  f" ({service.get('runningCount', 0)} tasks running); its tasks may take longer to stop:"
                                  " run again to keep waiting, or raise wait_timeout."))
        time.sleep(POLL_INTERVAL)


def ensure_absent(module, client):
    """Scale to zero, delete with force, wait until INACTIVE. A DRAINING service is only waited for; an ACTIVE one
    without the tags of only_if_tagged is kept. Returns changed, service, diff and why it was kept (None when not)."""
    params = module.params
    service = describe_service_in_any_status(client, params["cluster"], params["name"])
    status = (service or {}).get("status", "INACTIVE")
    gone = {"service_name": params["name"], "status": "INACTIVE"}
    if status == "INACTIVE":
        return False, gone, {"before": {}, "after": {}}, None
    tags = ecs_tag_dict(service.get("tags"))
    required = params.get("only_if_tagged") or {}
    if status == "ACTIVE" and not carries_tags(tags, required):
        return False, {"service_name": params["name"], "status": status}, {"before": {}, "after": {}}, kept_message(
            "ECS service", params["name"], tags, required)
    before = {"status": status, "desiredCount": service.get("desiredCount")}
    changed = status == "ACTIVE"
    if module.check_mode:
        return changed, {"service_name": params["name"], "status": status if not changed else "INACTIVE"}, {
            "before": before, "after": {}}, None
    if changed:
        if service.get("desiredCount"):
            # No new task starts, and the load balancer drains the old ones, before the service goes.
            update_service(client, cluster=params["cluster"], service=params["name"], desiredCount=0)
        delete_service(client, params["cluster"], params["name"])
    if params["wait_timeout"] > 0:
        wait_inactive(module, client)
    return changed, gone, {"before": before, "after": {}}, None


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        cluster=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait_timeout=dict(type="int", default=600),
        task_definition=dict(type="str"),
        desired_count=dict(type="int"),
        keep_desired_count=dict(type="bool", default=False),
        first_image=dict(
            type="dict",
            options=dict(
                repository=dict(type="str", required=True),
                tag=dict(type="str", required=True),
            ),
        ),
        launch_type=dict(type="str", choices=["FARGATE", "EC2"]),
        capacity_provider_strategy=dict(type="list", elements="dict"),
        network_configuration=dict(
            type="dict",
            options=dict(
                subnets=dict(type="list", elements="str", required=True),
                security_groups=dict(type="list", elements="str", default=[]),
                assign_public_ip=dict(type="bool", default=False),
            ),
        ),
        load_balancers=dict(
            type="list",
            elements="dict",
            options=dict(
                target_group_arn=dict(type="str", required=True),
                container_name=dict(type="str", required=True),
                container_port=dict(type="int", required=True),
            ),
        ),
        health_check_grace_period_seconds=dict(type="int"),
        deployment_configuration=dict(
            type="dict",
            options=dict(
                minimum_healthy_percent=dict(type="int", default=100),
                maximum_percent=dict(type="int", default=200),
                circuit_breaker=dict(type="bool", default=True),
                rollback=dict(type="bool", default=True),
            ),
        ),
        propagate_tags=dict(type="str", choices=["SERVICE", "TASK_DEFINITION", "NONE"], default="SERVICE"),
        force_new_deployment=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("launch_type", "capacity_provider_strategy")],
        required_if=[("state", "present", ("task_definition", "desired_count"))],
    )
    client = module.client("ecs")
    try:
        if module.params["state"] == "absent":
            changed, service, diff, kept = ensure_absent(module, client)
            module.exit_json(changed=changed, service=service, diff=diff, kept=bool(kept), **({"msg": kept} if kept else {}))
        else:
            changed, service, diff, awaiting = ensure_present(module, client)
    except (AnsibleECSServiceError, AnsibleAWSError) as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, service=service, diff=diff, awaiting_image=awaiting)


if __name__ == "__main__":
    main()
