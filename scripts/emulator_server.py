#!/usr/bin/env python3
"""moto's server, with ECS deployments that roll out the way AWS's do.

scripts/emulator runs this instead of `moto_server`. moto 5.2.5 keeps a
service's one deployment on the revision it was created with, reports no
running tasks, and never rolls out an UpdateService, so a release could never
be seen to finish (or fail). Here:

- CreateService and an UpdateService that changes the task definition (or
  forces a new deployment) make a PRIMARY deployment of that revision that has
  completed at once: runningCount = desiredCount, rolloutState COMPLETED, the
  older deployments gone. service.taskDefinition is the full ARN, as on AWS.
- Faults a test asks for, read from faults.json in the server's state
  directory on every request (absent: none):
    {"failing_images": REGEX}   a deployment whose containers' image matches
        fails, and the deployment circuit breaker rolls the service back: the
        PRIMARY deployment is the previous revision again (COMPLETED), the
        failed one stays listed with rolloutState FAILED;
    {"failing_commands": REGEX} a RunTask whose container command override
        matches ends with exit code 1 (a failing migration).

And ElastiCache deletes the way AWS's does, so that a teardown can wait for it:

- A deleted replication group is described once more as `deleting`, then is
  gone (ReplicationGroupNotFoundFault), as on AWS after a few minutes; moto
  keeps it `deleting` forever.
- DeleteCacheSubnetGroup, which moto 5.2.5 does not implement: the group goes,
  unless a replication group still uses it (CacheSubnetGroupInUse).

Nothing else changes; every other request is moto's own.
"""

import json
import re
import sys
from pathlib import Path

from moto.core.responses import EmptyResult
from moto.core.utils import utcnow
from moto.ecs import models
from moto.elasticache import exceptions as elasticache_errors
from moto.elasticache import models as elasticache_models
from moto.elasticache import responses as elasticache_responses
from moto.moto_api._internal import mock_random
from moto.server import main as moto_main

FAULTS = Path.cwd() / "faults.json"


def faults():
    try:
        return json.loads(FAULTS.read_text())
    except (OSError, ValueError):
        return {}


def _deployment(service, task_definition_arn, state="COMPLETED", status="PRIMARY"):
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    now = utcnow()
    running = service.desired_count if state == "COMPLETED" else 0
    return {
        "id": deployment_id, "status": status, "taskDefinition": task_definition_arn,
        "desiredCount": service.desired_count, "pendingCount": 0, "runningCount": running,
        "failedTasks": service.desired_count if state == "FAILED" else 0,
        "createdAt": now, "updatedAt": now,
        "launchType": service.launch_type, "platformVersion": service.platform_version,
        "platformFamily": "EC2" if service.launch_type == "EC2" else "FARGATE",
        "networkConfiguration": service.network_configuration,
        "rolloutState": state,
        "rolloutStateReason": (f"ECS deployment {deployment_id} completed." if state == "COMPLETED"
                               else "ECS deployment circuit breaker: tasks failed to start."),
    }


def roll_out(backend, service, previous_arn):
    """Deploy service.task_definition at once, or fail it and roll back to previous_arn."""
    definition = backend.describe_task_definition(service.task_definition)
    service.task_definition = definition.arn
    pattern = faults().get("failing_images")
    images = [c.get("image") or "" for c in definition.container_definitions]
    if pattern and previous_arn and previous_arn != definition.arn and any(re.search(pattern, i) for i in images):
        failed = _deployment(service, definition.arn, state="FAILED", status="ACTIVE")
        service.task_definition = previous_arn
        service.deployments = [_deployment(service, previous_arn), failed]
    else:
        service.deployments = [_deployment(service, definition.arn)]
    service.running_count = service.desired_count
    service.pending_count = 0


_create_service = models.EC2ContainerServiceBackend.create_service
_update_service = models.EC2ContainerServiceBackend.update_service
_run_task = models.EC2ContainerServiceBackend.run_task


def create_service(self, *args, **kwargs):
    service = _create_service(self, *args, **kwargs)
    if service.deployment_controller.get("type", "ECS") == "ECS" and service.task_definition:
        roll_out(self, service, None)
    return service


def update_service(self, service_properties):
    cluster = service_properties.get("cluster", "default")
    name = (service_properties.get("service") or "").split("/")[-1]
    wanted = service_properties.get("task_definition")
    force = service_properties.get("force_new_deployment")
    previous_arn = self._get_service(cluster, name).task_definition
    service = _update_service(self, service_properties)
    if service.deployment_controller.get("type", "ECS") != "ECS":
        return service
    new_arn = self.describe_task_definition(service.task_definition).arn if service.task_definition else None
    if (wanted and new_arn != previous_arn) or force:
        roll_out(self, service, previous_arn)
    else:
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment.update(desiredCount=service.desired_count, runningCount=service.desired_count, pendingCount=0)
        service.running_count = service.desired_count
        service.pending_count = 0
    return service


def run_task(self, *args, **kwargs):
    tasks = _run_task(self, *args, **kwargs)
    pattern = faults().get("failing_commands")
    if pattern:
        for task in tasks:
            for override in (task.overrides or {}).get("containerOverrides", []):
                if re.search(pattern, " ".join(override.get("command") or [])):
                    for container in task.containers:
                        container.exitCode = 1
                    task.stopped_reason = "Essential container in task exited"
    return tasks


models.EC2ContainerServiceBackend.create_service = create_service
models.EC2ContainerServiceBackend.update_service = update_service
models.EC2ContainerServiceBackend.run_task = run_task


_describe_replication_groups = elasticache_models.ElastiCacheBackend.describe_replication_groups


def describe_replication_groups(self, replication_group_id=None):
    """What moto holds; a group that was `deleting` already goes after this answer."""
    groups = _describe_replication_groups(self, replication_group_id)
    for group in groups:
        if group.status == "deleting":
            self.replication_groups.pop(group.replication_group_id, None)
    return groups


class CacheSubnetGroupInUse(elasticache_errors.ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name):
        super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")


def delete_cache_subnet_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    if name not in backend.cache_subnet_groups:
        raise elasticache_errors.CacheSubnetGroupNotFound(name)
    if any(getattr(g, "cache_subnet_group_name", None) == name for g in backend.replication_groups.values()):
        raise CacheSubnetGroupInUse(name)
    backend.cache_subnet_groups.pop(name)
    return EmptyResult()


elasticache_models.ElastiCacheBackend.describe_replication_groups = describe_replication_groups
elasticache_responses.ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group

if __name__ == "__main__":
    sys.exit(moto_main(sys.argv[1:]))
