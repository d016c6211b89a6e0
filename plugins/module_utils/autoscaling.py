# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Application Auto Scaling calls for the ecs_service_scaling module.

Every boto call is wrapped here once, with aws_retry() (module_utils/retries.py) and an
error handler that raises AnsibleAutoScalingError. Results come back as botocore
returns them (CamelCase); the module converts what it returns. Only the desired
count of ECS services is handled: namespace ecs, dimension ecs:service:DesiredCount.
"""

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

SERVICE_NAMESPACE = "ecs"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"
# Another change to the same scalable target is still being applied.
BUSY = ["ConcurrentUpdateException"]


class AnsibleAutoScalingError(AnsibleAWSError):
    pass


class AutoScalingErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleAutoScalingError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ObjectNotFoundException")


def ecs_service_resource_id(cluster, service):
    """service/<cluster>/<service>, from names or ARNs (the name is what follows the last '/')."""
    return f"service/{cluster.split('/')[-1]}/{service.split('/')[-1]}"


def _target_filter(resource_id):
    return {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceIds": [resource_id], "ScalableDimension": SCALABLE_DIMENSION}


@AutoScalingErrorHandler.list_error_handler("describe scalable targets", default_value=None)
@aws_retry()
def describe_scalable_target(client, resource_id):
    """The desired-count scalable target of resource_id, or None."""
    paginator = client.get_paginator("describe_scalable_targets")
    for page in paginator.paginate(**_target_filter(resource_id)):
        for target in page.get("ScalableTargets", []):
            if target["ResourceId"] == resource_id and target["ScalableDimension"] == SCALABLE_DIMENSION:
                return target
    return None


@AutoScalingErrorHandler.list_error_handler("describe scaling policies", default_value=[])
@aws_retry()
def describe_scaling_policies(client, resource_id):
    """Every scaling policy on the desired count of resource_id, sorted by name."""
    paginator = client.get_paginator("describe_scaling_policies")
    policies = []
    for page in paginator.paginate(ServiceNamespace=SERVICE_NAMESPACE, ResourceId=resource_id,
                                   ScalableDimension=SCALABLE_DIMENSION):
        policies.extend(p for p in page.get("ScalingPolicies", [])
                        if p["ResourceId"] == resource_id and p["ScalableDimension"] == SCALABLE_DIMENSION)
    return sorted(policies, key=lambda p: p["PolicyName"])


@AutoScalingErrorHandler.common_error_handler("register scalable target")
@aws_retry(BUSY)
def register_scalable_target(client, resource_id, min_capacity, max_capacity):
    client.register_scalable_target(ServiceNamespace=SERVICE_NAMESPACE, ResourceId=resource_id,
                                    ScalableDimension=SCALABLE_DIMENSION, MinCapacity=min_capacity,
                                    MaxCapacity=max_capacity)


@AutoScalingErrorHandler.deletion_error_handler("deregister scalable target")
@aws_retry(BUSY)
def deregister_scalable_target(client, resource_id):
    client.deregister_scalable_target(ServiceNamespace=SERVICE_NAMESPACE, ResourceId=resource_id,
                                      ScalableDimension=SCALABLE_DIMENSION)
    return True


@AutoScalingErrorHandler.common_error_handler("put scaling policy")
@aws_retry(BUSY)
def put_target_tracking_policy(client, resource_id, name, configuration):
    """Create or replace the target tracking policy `name`; configuration is its TargetTrackingScalingPolicyConfiguration."""
    return client.put_scaling_policy(PolicyName=name, ServiceNamespace=SERVICE_NAMESPACE, ResourceId=resource_id,
                                     ScalableDimension=SCALABLE_DIMENSION, PolicyType="TargetTrackingScaling",
                                     TargetTrackingScalingPolicyConfiguration=configuration)


@AutoScalingErrorHandler.deletion_error_handler("delete scaling policy")
@aws_retry(BUSY)
def delete_scaling_policy(client, resource_id, name):
    client.delete_scaling_policy(PolicyName=name, ServiceNamespace=SERVICE_NAMESPACE, ResourceId=resource_id,
                                 ScalableDimension=SCALABLE_DIMENSION)
    return True
