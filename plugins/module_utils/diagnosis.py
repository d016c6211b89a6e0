# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an on-call person needs about ECS services, read-only, for the ecs_service_health_info module.

The calls ecs_service.py and release.py do not already wrap are wrapped here
once, with aws_retry() (module_utils/retries.py) and an error handler that raises
AnsibleDiagnosisError (a missing cluster or log group is an answer, not an
error). Every wrapper raises an AnsibleAWSError; unit tests patch them by name.
"""

import re
import time

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.release import describe_services
from ansible_collections.wanzami.infra.plugins.module_utils.release import describe_tasks
from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>(:<tag>|@<digest>)
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                       r"([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?$")
# What a stopped task or a log line says when Node cannot find the script the command names (docs/architecture.md, Runbooks).
MODULE_NOT_FOUND = ("MODULE_NOT_FOUND", "Cannot find module")


class AnsibleDiagnosisError(AnsibleAWSError):
    pass


class DiagnosisErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleDiagnosisError


class LogsErrorHandler(DiagnosisErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


class ClusterErrorHandler(DiagnosisErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ClusterNotFoundException")


class RepositoryErrorHandler(DiagnosisErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("RepositoryNotFoundException")


@RepositoryErrorHandler.list_error_handler("describe images", default_value=None)
@aws_retry()
def describe_image(client, registry_id, repository, image_id):
    """[] when the repository has no such image, None when there is no such repository."""
    try:
        return client.describe_images(registryId=registry_id, repositoryName=repository, imageIds=[image_id])["imageDetails"]
    except is_boto3_error_code("ImageNotFoundException"):
        return []


@ClusterErrorHandler.list_error_handler("list tasks", default_value=[])
@aws_retry()
def list_stopped_tasks(client, cluster, service):
    """ARNs of the service's STOPPED tasks ECS still shows (about an hour's worth), newest first as ECS lists them."""
    paginator = client.get_paginator("list_tasks")
    pages = paginator.paginate(cluster=cluster, serviceName=service, desiredStatus="STOPPED")
    return pages.build_full_result().get("taskArns", [])


@LogsErrorHandler.list_error_handler("filter log events", default_value=None)
@aws_retry()
def filter_log_events(client, group, stream_prefix, start_ms, max_events):
    """Up to max_events events of the group's streams starting with stream_prefix since start_ms, oldest first;
    None when the group does not exist."""
    events, token = [], None
    while len(events) < max_events:
        params = {"logGroupName": group, "startTime": start_ms, "limit": min(10000, max_events - len(events))}
        if stream_prefix:
            params["logStreamNamePrefix"] = stream_prefix
        if token:
            params["nextToken"] = token
        page = client.filter_log_events(**params)
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            break
    return sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))


def now_ms():
    return int(time.time() * 1000)


def ref(arn):
    return arn.split("/")[-1] if arn else arn


def container_view(container):
    log = container.get("logConfiguration") or {}
    options = log.get("options") or {}
    return {
        "name": container["name"], "image": container.get("image"), "command": container.get("command") or [],
        "entry_point": container.get("entryPoint") or [],
        "environment_files": [f["value"] for f in container.get("environmentFiles") or []],
        "log_group": options.get("awslogs-group") if log.get("logDriver") == "awslogs" else None,
        "log_stream_prefix": options.get("awslogs-stream-prefix") if log.get("logDriver") == "awslogs" else None,
    }


def stopped_view(task):
    return {
        "task_arn": task["taskArn"], "task_definition": ref(task.get("taskDefinitionArn")),
        "stopped_reason": task.get("stoppedReason", ""), "stop_code": task.get("stopCode", ""),
        "stopped_at": str(task.get("stoppedAt", "")),
        "containers": [{"name": c.get("name"), "exit_code": c.get("exitCode"), "reason": c.get("reason", "")}
                       for c in task.get("containers") or []],
    }


def module_not_found(service):
    """Whether the stopped tasks or the log lines show Node failing to find the command's script."""
    texts = [t["stopped_reason"] for t in service["stopped_tasks"]]
    texts += [c["reason"] for t in service["stopped_tasks"] for c in t["containers"]]
    texts += [line for lines in service["log_lines"].values() for line in lines]
    return any(marker in (text or "") for text in texts for marker in MODULE_NOT_FOUND)


def image_check(ecr, image):
    """For an ECR image: its repository, whether the repository and the image exist, and its digest."""
    match = ECR_IMAGE.match(image or "")
    if not match:
        return None
    account, region, repository, tag, digest = match.groups()
    found = describe_image(ecr(region), account, repository, {"imageDigest": digest} if digest else {"imageTag": tag or "latest"})
    return {"registry_id": account, "region": region, "repository": repository, "reference": digest or tag or "latest",
            "repository_exists": found is not None, "image_exists": bool(found),
            "digest": found[0].get("imageDigest") if found else None}


class Diagnosis:
    def __init__(self, module, ecs, logs, ecr=None):
        self.module = module
        self.params = module.params
        self.ecs = ecs
        self.logs = logs
        self.ecr = ecr  # region -> ECR client, or None not to check images

    def run(self):
        cluster, names = self.params["cluster"], list(dict.fromkeys(self.params["services"]))
        found = describe_services(self.ecs, cluster, names)
        if found is None:
            return {"cluster_exists": False, "services": {}, "missing": names}
        definitions = {}
        services = {}
        for name in names:
            if name in found:
                services[name] = self.service(cluster, found[name], definitions)
        return {"cluster_exists": True, "services": services, "missing": [n for n in names if n not in found]}

    def service(self, cluster, service, definitions):
        arn = service.get("taskDefinition")
        if arn not in definitions:
            definitions[arn] = describe_task_definition(self.ecs, arn) or {}
        containers = [container_view(c) for c in definitions[arn].get("containerDefinitions") or []]
        if self.ecr:
            for c in containers:
                c["ecr"] = image_check(self.ecr, c["image"])
        view = {
            "status": service.get("status"), "task_definition": ref(arn),
            "desired_count": service.get("desiredCount", 0), "running_count": service.get("runningCount", 0),
            "pending_count": service.get("pendingCount", 0),
            "deployments": [{"status": d.get("status"), "task_definition": ref(d.get("taskDefinition")),
                             "rollout_state": d.get("rolloutState"), "rollout_state_reason": d.get("rolloutStateReason", ""),
                             "running_count": d.get("runningCount", 0), "desired_count": d.get("desiredCount", 0)}
                            for d in service.get("deployments") or []],
            "events": [e.get("message", "") for e in (service.get("events") or [])[:self.params["events"]]],
            "containers": containers,
            "stopped_tasks": self.stopped_tasks(cluster, service["serviceName"]),
            "log_lines": self.log_lines(containers),
        }
        view["module_not_found"] = module_not_found(view)
        return view

    def stopped_tasks(self, cluster, name):
        wanted = self.params["stopped_tasks"]
        arns = list_stopped_tasks(self.ecs, cluster, name)[:wanted] if wanted else []
        if not arns:
            return []
        tasks = describe_tasks(self.ecs, cluster, arns)
        tasks.sort(key=lambda t: str(t.get("stoppedAt", "")), reverse=True)
        return [stopped_view(t) for t in tasks]

    def log_lines(self, containers):
        """The last log_lines lines of each container logging to CloudWatch (awslogs), oldest first."""
        wanted = self.params["log_lines"]
        lines = {}
        if not wanted:
            return lines
        start = now_ms() - self.params["log_since_minutes"] * 60 * 1000
        for c in containers:
            if not c["log_group"]:
                continue
            # awslogs names a stream <prefix>/<container>/<task id>; without a prefix, the task id alone.
            prefix = f"{c['log_stream_prefix']}/{c['name']}/" if c["log_stream_prefix"] else ""
            events = filter_log_events(self.logs, c["log_group"], prefix, start, self.params["log_scan_limit"])
            if events is None:
                self.module.warn(f"log group {c['log_group']} of container {c['name']} does not exist")
                events = []
            lines[c["name"]] = [e.get("message", "").rstrip("\n") for e in events[-wanted:]]
        return lines
