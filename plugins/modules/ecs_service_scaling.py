#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_service_scaling
short_description: Scale an ECS service's desired count with CPU and memory target tracking
version_added: 0.1.0
description:
  - Manages the Application Auto Scaling of one ECS service; its scalable target (namespace C(ecs), resource
    C(service/<cluster>/<service>), dimension C(ecs:service:DesiredCount)) with its minimum and maximum
    capacity, and its target tracking policies on the predefined metrics C(ECSServiceAverageCPUUtilization)
    and C(ECSServiceAverageMemoryUtilization).
  - The policies are named C(<service>-cpu-target-tracking) and C(<service>-memory-target-tracking).
  - Reads the target and its policies, and calls C(RegisterScalableTarget), C(PutScalingPolicy),
    C(DeleteScalingPolicy) or C(DeregisterScalableTarget) only for what differs, so a second run
    reports no change.
  - M(community.aws.application_autoscaling_policy) 10.0.0 creates resources in check mode and has no diff.
  - Supports check mode and C(--diff).
author:
  - Wanzami infrastructure team
options:
  cluster:
    description: Cluster name or ARN (the name is what follows the last C(/)).
    type: str
    required: true
  service:
    description: Service name, for example C(wanzami-backend-service).
    type: str
    required: true
  state:
    description:
      - C(present) registers the scalable target and puts the policies.
      - C(absent) deletes every scaling policy of the service's desired count, then deregisters the scalable
        target (deregistering removes the policies in AWS anyway). Nothing is called when neither exists.
    type: str
    choices: [present, absent]
    default: present
  min_capacity:
    description: Fewest tasks auto scaling may leave running, C(0) or more. Required when O(state=present).
    type: int
  max_capacity:
    description: Most tasks auto scaling may start, at least O(min_capacity). Required when O(state=present).
    type: int
  cpu_target:
    description:
      - Average CPU utilisation of the service, in percent (1 to 100), that the CPU policy keeps it at.
      - Leave out for no CPU policy. At least one of O(cpu_target) and O(memory_target) when O(state=present).
    type: float
  memory_target:
    description:
      - Average memory utilisation of the service, in percent (1 to 100), that the memory policy keeps it at.
      - Leave out for no memory policy.
    type: float
  scale_in_cooldown:
    description: Seconds after a scale-in before another scale-in may start; the same for both policies.
    type: int
    default: 300
  scale_out_cooldown:
    description: Seconds after a scale-out before another scale-out may start; the same for both policies.
    type: int
    default: 60
  purge_policies:
    description:
      - Delete the other scaling policies of the service's desired count, for example the memory policy once
        O(memory_target) is left out.
      - With C(false) they are left as they are.
    type: bool
    default: true
  only_if_tagged:
    description:
      - With O(state=absent), remove the scaling only when the ECS service it scales carries every one of these tags
        (the ownership tags); the scaling of a service without them (or of no service) is someone else's and is kept,
        with RV(kept=true) and a message saying so. Scalable targets carry no tags of their own here.
      - Empty - remove whatever scales the service of that name.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Check mode makes no mutating call (only C(DescribeScalableTargets) and C(DescribeScalingPolicies));
    it reports what would change, and C(--diff) shows it.
  - The ECS cluster and service must exist before the scalable target can be registered.
  - The policies never disable scale-in. Changing a policy replaces it with one C(PutScalingPolicy) call;
    AWS keeps its alarms up to date.
"""

EXAMPLES = r"""
- name: Seed 003's API, 2 to 10 tasks at 70% CPU, scale out after 60 s and in after 300 s
  wanzami.infra.ecs_service_scaling:
    cluster: wanzami-cluster
    service: wanzami-backend-service
    min_capacity: 2
    max_capacity: 10
    cpu_target: 70
    scale_out_cooldown: 60
    scale_in_cooldown: 300

- name: Seed 004's API, 1 to 10 tasks at 70% CPU and 80% memory
  wanzami.infra.ecs_service_scaling:
    cluster: wanzami-cluster
    service: wanzami-backend-service
    min_capacity: 1
    max_capacity: 10
    cpu_target: 70
    memory_target: 80

- name: Stop scaling the service (its desired count stays where it is)
  wanzami.infra.ecs_service_scaling:
    cluster: wanzami-cluster
    service: wanzami-backend-service
    state: absent
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the scaling exists but its service is not ours.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the scaling was kept.
  returned: when RV(kept=true)
  type: str
scalable_target:
  description: The scalable target after the run (in check mode, as it is); C({}) when there is none.
  returned: always
  type: dict
  contains:
    resource_id:
      description: The service, as Application Auto Scaling names it.
      type: str
      sample: service/wanzami-cluster/wanzami-backend-service
    service_namespace:
      description: Always C(ecs).
      type: str
      sample: ecs
    scalable_dimension:
      description: Always C(ecs:service:DesiredCount).
      type: str
      sample: ecs:service:DesiredCount
    min_capacity:
      description: Minimum desired count.
      type: int
      sample: 2
    max_capacity:
      description: Maximum desired count.
      type: int
      sample: 10
    scalable_target_arn:
      description: ARN.
      type: str
    role_arn:
      description: The service-linked role Application Auto Scaling uses.
      type: str
    creation_time:
      description: When the target was registered.
      type: str
policies:
  description: The scaling policies of the service's desired count after the run (in check mode, as they are).
  returned: always
  type: list
  elements: dict
  contains:
    policy_name:
      description: Name.
      type: str
      sample: wanzami-backend-service-cpu-target-tracking
    policy_arn:
      description: ARN.
      type: str
    policy_type:
      description: C(TargetTrackingScaling) for the policies this module puts.
      type: str
      sample: TargetTrackingScaling
    target_tracking_scaling_policy_configuration:
      description: Target value, predefined metric, cooldowns and whether scale-in is disabled.
      type: dict
      sample:
        target_value: 70.0
        predefined_metric_specification:
          predefined_metric_type: ECSServiceAverageCPUUtilization
        scale_in_cooldown: 300
        scale_out_cooldown: 60
        disable_scale_in: false
    alarms:
      description: The CloudWatch alarms AWS created for the policy.
      type: list
      elements: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import AnsibleAutoScalingError
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import delete_scaling_policy
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import deregister_scalable_target
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import describe_scalable_target
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import describe_scaling_policies
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import ecs_service_resource_id
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import put_target_tracking_policy
from ansible_collections.wanzami.infra.plugins.module_utils.autoscaling import register_scalable_target
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import ecs_tag_dict
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import AnsibleECSServiceError
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_service_in_any_status
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message

# Option giving the target -> (policy name suffix, predefined metric).
METRICS = {
    "cpu_target": ("cpu-target-tracking", "ECSServiceAverageCPUUtilization"),
    "memory_target": ("memory-target-tracking", "ECSServiceAverageMemoryUtilization"),
}


def service_name(params):
    return params["service"].split("/")[-1]


def problems_of(params):
    """What is wrong with the options of state=present, each naming the option and what it allows."""
    problems = []
    low, high = params["min_capacity"], params["max_capacity"]
    if low is not None and low < 0:
        problems.append(f"min_capacity must be 0 or more, not {low}")
    if low is not None and high is not None and low > high:
        problems.append(f"min_capacity ({low}) must not be more than max_capacity ({high})")
    if params["cpu_target"] is None and params["memory_target"] is None:
        problems.append("give cpu_target or memory_target (or both), in percent from 1 to 100")
    for option in METRICS:
        value = params[option]
        if value is not None and not 1 <= value <= 100:
            problems.append(f"{option} must be a percentage from 1 to 100, not {value:g}")
    for option in ("scale_in_cooldown", "scale_out_cooldown"):
        if params[option] < 0:
            problems.append(f"{option} must be 0 or more seconds, not {params[option]}")
    return problems


def check_params(module):
    problems = problems_of(module.params)
    if problems:
        where = ecs_service_resource_id(module.params["cluster"], module.params["service"])[len("service/"):]
        module.fail_json(msg=f"Scaling of ECS service {where}: " + "; ".join(problems) + ".")


def policy_view(policy):
    """A policy as --diff shows it and as it is compared: metric, target and cooldowns.

    A policy of another type shows its type as the metric; a target tracking policy that does not scale in
    says so, so that neither ever equals what this module puts.
    """
    if policy.get("PolicyType") != "TargetTrackingScaling":
        return {"metric": policy.get("PolicyType"), "target": None, "scale_in_cooldown": None, "scale_out_cooldown": None}
    config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
    predefined = config.get("PredefinedMetricSpecification") or {}
    view = {
        "metric": predefined.get("PredefinedMetricType") or "CustomizedMetric",
        "target": float(config["TargetValue"]) if config.get("TargetValue") is not None else None,
        "scale_in_cooldown": config.get("ScaleInCooldown"),
        "scale_out_cooldown": config.get("ScaleOutCooldown"),
    }
    if config.get("DisableScaleIn"):
        view["disable_scale_in"] = True
    return view


def wanted_policies(params):
    """name -> the TargetTrackingScalingPolicyConfiguration of each policy the options ask for."""
    wanted = {}
    for option, (suffix, metric) in METRICS.items():
        if params[option] is not None:
            wanted[f"{service_name(params)}-{suffix}"] = {
                "TargetValue": float(params[option]),
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                "ScaleInCooldown": params["scale_in_cooldown"],
                "ScaleOutCooldown": params["scale_out_cooldown"],
                "DisableScaleIn": False,
            }
    return wanted


def settings_of(target, policies):
    """The scaling as --diff shows it; {} when there is none."""
    if not target and not policies:
        return {}
    return {
        "min_capacity": target.get("MinCapacity") if target else None,
        "max_capacity": target.get("MaxCapacity") if target else None,
        "policies": {p["PolicyName"]: policy_view(p) for p in policies},
    }


def result_of(target, policies):
    return {
        "scalable_target": camel_dict_to_snake_dict(target) if target else {},
        "policies": [camel_dict_to_snake_dict(p) for p in policies],
    }


def read(client, resource_id):
    return describe_scalable_target(client, resource_id), describe_scaling_policies(client, resource_id) or []


def ensure_present(module, client):
    check_params(module)
    params = module.params
    resource_id = ecs_service_resource_id(params["cluster"], params["service"])
    target, policies = read(client, resource_id)
    before = settings_of(target, policies)
    current = before.get("policies", {})

    wanted = wanted_policies(params)
    wanted_views = {name: policy_view({"PolicyType": "TargetTrackingScaling",
                                       "TargetTrackingScalingPolicyConfiguration": config})
                    for name, config in wanted.items()}
    kept = {} if params["purge_policies"] else {n: v for n, v in current.items() if n not in wanted}
    after = {"min_capacity": params["min_capacity"], "max_capacity": params["max_capacity"],
             "policies": dict(sorted({**kept, **wanted_views}.items()))}

    register = not target or (target.get("MinCapacity"), target.get("MaxCapacity")) != (
        params["min_capacity"], params["max_capacity"])
    to_put = [name for name in wanted if current.get(name) != wanted_views[name]]
    to_delete = [name for name in current if name not in after["policies"]]
    changed = bool(register or to_put or to_delete)

    if changed and not module.check_mode:
        if register:
            register_scalable_target(client, resource_id, params["min_capacity"], params["max_capacity"])
        for name in to_put:
            put_target_tracking_policy(client, resource_id, name, wanted[name])
        for name in to_delete:
            delete_scaling_policy(client, resource_id, name)
        target, policies = read(client, resource_id)
    return changed, result_of(target, policies), {"before": before, "after": after}


def kept_because_not_ours(module, ecs_client):
    """Why the scaling is someone else's (its service lacks the ownership tags), or None when it is ours."""
    params = module.params
    required = params.get("only_if_tagged") or {}
    if not required:
        return None
    service = describe_service_in_any_status(ecs_client, params["cluster"], params["service"]) or {}
    tags = ecs_tag_dict(service.get("tags")) if service.get("status") == "ACTIVE" else {}
    if carries_tags(tags, required):
        return None
    return kept_message(f"Autoscaling of ECS service {service_name(params)}:", "the service", tags, required)


def ensure_absent(module, client, ecs_client=None):
    params = module.params
    resource_id = ecs_service_resource_id(params["cluster"], params["service"])
    target, policies = read(client, resource_id)
    before = settings_of(target, policies)
    if not before:
        return False, result_of(None, []), {"before": {}, "after": {}}
    kept = kept_because_not_ours(module, ecs_client)
    if kept:
        return False, {**result_of(target, policies), "kept": True, "msg": kept}, {"before": {}, "after": {}}
    if not module.check_mode:
        for policy in policies:
            delete_scaling_policy(client, resource_id, policy["PolicyName"])
        if target:
            deregister_scalable_target(client, resource_id)
        target, policies = read(client, resource_id)
    return True, result_of(target, policies), {"before": before, "after": {}}


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        min_capacity=dict(type="int"),
        max_capacity=dict(type="int"),
        cpu_target=dict(type="float"),
        memory_target=dict(type="float"),
        scale_in_cooldown=dict(type="int", default=300),
        scale_out_cooldown=dict(type="int", default=60),
        purge_policies=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["min_capacity", "max_capacity"])],
    )
    client = module.client("application-autoscaling")
    try:
        if module.params["state"] == "absent":
            ecs_client = module.client("ecs") if module.params["only_if_tagged"] else None
            changed, result, diff = ensure_absent(module, client, ecs_client)
            result.setdefault("kept", False)
        else:
            changed, result, diff = ensure_present(module, client)
    except (AnsibleAutoScalingError, AnsibleECSServiceError) as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, diff=diff, **result)


if __name__ == "__main__":
    main()
