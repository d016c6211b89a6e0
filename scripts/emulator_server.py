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

And Auto Scaling instance refreshes (role ec2_asg), which moto 5.2.5 does not have:

- StartInstanceRefresh replaces the group's instances at once with new ones
  launched from the group's launch template version (all of them, or with
  SkipMatching those on another version) and is Successful, 100 % complete;
  DescribeInstanceRefreshes lists them newest first; CancelInstanceRefresh
  finds none active. Each instance reports the version it was launched from
  (moto reports the template's default version for every one). A test makes
  a refresh fail with {"failing_instance_refreshes": REGEX} (group name) in
  faults.json: Status Failed, nothing replaced.
- DisableMetricsCollection and DeleteLaunchTemplateVersions, which moto 5.2.5
  does not implement either.
- Launch templates keep their own tags out of their first version's data
  and take a new version's UserData as they take the first one's, so that
  amazon.aws.ec2_launch_template compares versions as on AWS.

And for role ec2_single: Data Lifecycle Manager, which moto 5.2.5 does not have,
and EBS volumes and Elastic IP tags described as EC2 describes them:

- An in-memory DLM per region: CreateLifecyclePolicy, GetLifecyclePolicies,
  GetLifecyclePolicy, UpdateLifecyclePolicy, DeleteLifecyclePolicy, TagResource,
  UntagResource and ListTagsForResource, with DLM's defaults filled in
  (ResourceLocations CLOUD, PolicyLanguage STANDARD); nothing is ever snapshotted.
- EBS volumes are described with MultiAttachEnabled (false), gp3's baseline
  Throughput (125) and SnapshotId ("" for none), as EC2 does; amazon.aws.ec2_vol
  and ec2_vol_info fail on volumes without the first and the last.
- DescribeTags gives an Elastic IP's tags ResourceType elastic-ip, as EC2 does
  (moto: vpc-elastic-ip, which a resource-type=elastic-ip filter never finds).

And RDS instances keep Performance Insights (seed 004's Aurora writer), which
moto 5.2.5 drops: PerformanceInsightsEnabled and its retention are described
as they were created or modified, so that amazon.aws.rds_instance does not
modify them again on every run.

And the default VPC as AWS makes it (role vpc with vpc_existing: default):
moto 5.2.5 makes it and one default subnet per zone, but without the internet
gateway AWS attaches to it and the main route table's 0.0.0.0/0 route to that
gateway (VPC User Guide, "Default VPCs": "an internet gateway connected to your
default VPC" and "a route in the main route table that points all traffic
(0.0.0.0/0) to the internet gateway"). The vpc role refuses a public subnet
without that route, so on moto as it is no default subnet could be adopted.

Nothing else changes; every other request is moto's own.
"""

import json
import re
import sys
from pathlib import Path

from moto.autoscaling import exceptions as autoscaling_errors
from moto.autoscaling import models as autoscaling_models
from moto.autoscaling import responses as autoscaling_responses
from moto.core.responses import EmptyResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
from moto.ec2.models import launch_templates as ec2_launch_templates
from moto.ec2.responses import launch_templates as ec2_launch_template_responses
from moto.ec2.utils import parse_user_data
from moto.ecs import models
from moto.elasticache import exceptions as elasticache_errors
from moto.elasticache import models as elasticache_models
from moto.elasticache import responses as elasticache_responses
from moto.moto_api._internal import mock_random
from moto.rds import models as rds_models
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

# --- Auto Scaling instance refresh (role ec2_asg) --------------------------


def _launched_version(group):
    """The number of the launch template version the group launches from now ("$Latest" and "$Default" resolved)."""
    template = group.ec2_launch_template
    return str(template.get_version(group.launch_template_version).number) if template is not None else None



def create_launch_template_version(self, data, description):
    """moto keeps a new version's UserData as a plain string, and then cannot launch from it; numbers
    continue after the highest, as on AWS once versions were deleted."""
    if isinstance(data.get("UserData"), str):
        data = {**data, "UserData": parse_user_data(data["UserData"])}
    number = max((v.number for v in self.versions), default=0) + 1
    version = ec2_launch_templates.LaunchTemplateVersion(self, number, data, description)
    self.versions.append(version)
    return version


_get_launch_template_version = ec2_launch_templates.LaunchTemplate.get_version


def get_launch_template_version(self, num):
    """By number rather than by position, which DeleteLaunchTemplateVersions changes."""
    if str(num).lower() in ("$latest", "$default"):
        return _get_launch_template_version(self, num)
    for version in self.versions:
        if str(version.number) == str(num):
            return version
    raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)


def default_launch_template_version(self):
    return get_launch_template_version(self, self.default_version_number)


def delete_launch_template_versions(self):
    """DeleteLaunchTemplateVersions, which moto 5.2.5 does not implement (amazon.aws.ec2_launch_template's
    state=absent deletes the versions other than the default before the template)."""
    name, template_id = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
    template = (self.ec2_backend.get_launch_template(template_id) if template_id
                else self.ec2_backend.get_launch_template_by_name(name))
    wanted = [str(v) for v in self._get_param("Versions", [])]
    self.error_on_dryrun()
    done, failed = [], []
    for number in wanted:
        found = [v for v in template.versions if str(v.number) == number]
        if not found or template.is_default(found[0]):
            code = "launchTemplateVersionDoesNotExist" if not found else "launchTemplateVersionIsDefaultVersion"
            failed.append({"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": int(number),
                           "ResponseError": {"Code": code, "Message": f"Version {number} cannot be deleted."}})
            continue
        template.versions.remove(found[0])
        done.append({"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": int(number)})
    return ec2_launch_template_responses.ActionResult({"SuccessfullyDeletedLaunchTemplateVersions": done,
                                                       "UnsuccessfullyDeletedLaunchTemplateVersions": failed})



_create_launch_template = ec2_launch_templates.LaunchTemplateBackend.create_launch_template


def create_launch_template(self, name, description, template_data, tag_spec):
    """moto copies the template's own tags (TagSpecifications of type launch-template) into its first version's
    data, where AWS keeps only the instances' and volumes' tags: the second version would then differ from the first."""
    specs = [s for s in template_data.get("TagSpecifications") or [] if s.get("ResourceType") != "launch-template"]
    template_data = {k: v for k, v in template_data.items() if k != "TagSpecifications"}
    if specs:
        template_data["TagSpecifications"] = specs
    return _create_launch_template(self, name, description, template_data, tag_spec)


_replace_autoscaling_group_instances = autoscaling_models.FakeAutoScalingGroup.replace_autoscaling_group_instances


def replace_autoscaling_group_instances(self, count_needed, propagated_tags):
    """moto's launch, remembering on each new instance the version it was launched from."""
    before = {id(state) for state in self.instance_states}
    _replace_autoscaling_group_instances(self, count_needed, propagated_tags)
    version = _launched_version(self)
    for state in self.instance_states:
        if id(state) not in before:
            state.launched_version = version


def instance_launch_template(self):
    group = self.auto_scaling_group
    if group is None or group.ec2_launch_template is None:
        return None
    template = group.ec2_launch_template
    return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name,
            "Version": getattr(self, "launched_version", None) or str(template.default_version_number)}


def _instance_refreshes(backend):
    if not hasattr(backend, "wanzami_instance_refreshes"):
        backend.wanzami_instance_refreshes = []
    return backend.wanzami_instance_refreshes


def _refresh_group(backend, name):
    group = backend.autoscaling_groups.get(name)
    if group is None:
        raise autoscaling_errors.ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return group


def _replace_instances(backend, group, skip_matching):
    """Terminate the instances to replace and launch as many from the group's current version."""
    version = _launched_version(group)
    old = [s for s in group.instance_states if not (skip_matching and getattr(s, "launched_version", None) == version)]
    if not old:
        return 0
    old_ids = [s.instance.id for s in old]
    for arn in group.target_group_arns:
        try:
            backend.elbv2_backend.deregister_targets(arn, [{"Id": i} for i in old_ids])
        except Exception:  # noqa: S110 - a deleted target group has nothing to deregister
            pass
    backend.ec2_backend.terminate_instances(old_ids)
    group.instance_states = [s for s in group.instance_states if s not in old]
    group.replace_autoscaling_group_instances(len(old), group.get_propagated_tags())
    backend.update_attached_target_groups(group.name)
    return len(old)


def start_instance_refresh(self):
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    group = _refresh_group(backend, name)
    preferences = self._get_param("Preferences") or {}
    now = utcnow()
    refresh = {
        "InstanceRefreshId": str(mock_random.uuid4()), "AutoScalingGroupName": name,
        "StartTime": now, "EndTime": now, "Preferences": preferences,
        "Strategy": self._get_param("Strategy") or "Rolling",
    }
    pattern = faults().get("failing_instance_refreshes")
    if pattern and re.search(pattern, name):
        refresh.update(Status="Failed", PercentageComplete=0, InstancesToUpdate=len(group.instance_states),
                       StatusReason="Instances failed to pass their health checks (emulator fault).")
    else:
        _replace_instances(backend, group, bool(preferences.get("SkipMatching")))
        refresh.update(Status="Successful", PercentageComplete=100, InstancesToUpdate=0, StatusReason="")
    _instance_refreshes(backend).insert(0, refresh)
    return autoscaling_responses.ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})


def describe_instance_refreshes(self):
    name = self._get_param("AutoScalingGroupName")
    ids = self._get_param("InstanceRefreshIds") or []
    refreshes = [r for r in _instance_refreshes(self.autoscaling_backend)
                 if r["AutoScalingGroupName"] == name and (not ids or r["InstanceRefreshId"] in ids)]
    return autoscaling_responses.ActionResult({"InstanceRefreshes": refreshes})



def disable_metrics_collection(self):
    """Missing from moto 5.2.5; amazon.aws.autoscaling_group calls it on every update of a group without metrics."""
    group = _refresh_group(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
    metrics = self._get_param("Metrics") or []
    group.metrics = [m for m in group.metrics if metrics and m not in metrics]
    return EmptyResult()

class ActiveInstanceRefreshNotFound(autoscaling_errors.AutoscalingClientError):
    code = "ActiveInstanceRefreshNotFound"


def cancel_instance_refresh(self):
    """Refreshes here end as they start, so there is never one to cancel."""
    name = self._get_param("AutoScalingGroupName")
    _refresh_group(self.autoscaling_backend, name)
    raise ActiveInstanceRefreshNotFound(f"No in progress or pending Instance Refresh found for Auto Scaling group {name}")


ec2_launch_templates.LaunchTemplate.create_version = create_launch_template_version
ec2_launch_templates.LaunchTemplate.get_version = get_launch_template_version
ec2_launch_templates.LaunchTemplate.default_version = default_launch_template_version
ec2_launch_template_responses.LaunchTemplates.delete_launch_template_versions = delete_launch_template_versions
ec2_launch_templates.LaunchTemplateBackend.create_launch_template = create_launch_template
autoscaling_models.FakeAutoScalingGroup.replace_autoscaling_group_instances = replace_autoscaling_group_instances
autoscaling_models.InstanceState.launch_template = property(instance_launch_template)
autoscaling_responses.AutoScalingResponse.start_instance_refresh = start_instance_refresh
autoscaling_responses.AutoScalingResponse.describe_instance_refreshes = describe_instance_refreshes
autoscaling_responses.AutoScalingResponse.cancel_instance_refresh = cancel_instance_refresh
autoscaling_responses.AutoScalingResponse.disable_metrics_collection = disable_metrics_collection

# --- end of Auto Scaling instance refresh ------------------------------------

# --- Role ec2_single: Data Lifecycle Manager, EBS volumes, Elastic IP tags ----
# moto 5.2.5 has no DLM at all: a small in-memory one, per region, routed by
# moto's own dispatcher (a request signed for `dlm` goes to this Flask app) and
# recorded like every other request. Only what the dlm_lifecycle_policy module
# calls: policies (create, list, get, update, delete) and their tags.

_DLM_POLICIES = {}  # region -> {policy id: policy, in GetLifecyclePolicy's shape}
_DLM_ACCOUNT = "123456789012"  # moto's default account


def _dlm_error(status, code, message):
    return status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, json.dumps(
        {"__type": code, "Message": message})


def _dlm_ok(body=None):
    return 200, {"Content-Type": "application/json"}, json.dumps(body or {}, default=str)


def _dlm_region(headers):
    match = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/dlm/", headers.get("Authorization", ""))
    return match.group(1) if match else "us-east-1"


def _dlm_details(details):
    """PolicyDetails as DLM stores them: the defaults it fills in (snapshots in the cloud, standard language)."""
    details = json.loads(json.dumps(details))
    details.setdefault("ResourceLocations", ["CLOUD"])
    details.setdefault("PolicyLanguage", "STANDARD")
    for schedule in details.get("Schedules", []):
        schedule.setdefault("CreateRule", {}).setdefault("Location", "CLOUD")
    return details


def _dlm_policy_id(path):
    policy_id = path.split("/")[2] if path.count("/") >= 2 else ""
    return policy_id or None


def dlm_dispatch(request, full_url, headers):
    """One DLM request: (status, headers, body)."""
    from urllib.parse import parse_qs
    from urllib.parse import unquote
    from urllib.parse import urlsplit

    url = urlsplit(full_url)
    path, query = unquote(url.path).rstrip("/"), parse_qs(url.query)
    method = request.method.upper()
    policies = _DLM_POLICIES.setdefault(_dlm_region(headers), {})
    body = json.loads(request.data or b"{}") if method in ("POST", "PATCH") else {}
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")

    if path.startswith("/tags/"):
        arn = path[len("/tags/"):]
        policy = next((p for p in policies.values() if p["PolicyArn"] == arn), None)
        if policy is None:
            return _dlm_error(404, "ResourceNotFoundException", f"Resource {arn} not found")
        if method == "POST":
            policy["Tags"].update(body.get("Tags") or {})
        elif method == "DELETE":
            for key in query.get("tagKeys", []):
                policy["Tags"].pop(key, None)
        return _dlm_ok({"Tags": policy["Tags"]} if method == "GET" else {})

    if path == "/policies" and method == "POST":
        missing = [k for k in ("ExecutionRoleArn", "Description", "State", "PolicyDetails") if not body.get(k)]
        if missing:
            return _dlm_error(400, "InvalidRequestException", f"Missing required parameters: {', '.join(missing)}")
        if not re.fullmatch(r"[0-9A-Za-z _-]{1,500}", body["Description"]):
            return _dlm_error(400, "InvalidRequestException", "Description must match [0-9A-Za-z _-]+")
        policy_id = f"policy-{mock_random.get_random_hex(17)}"
        region = _dlm_region(headers)
        policies[policy_id] = {
            "PolicyId": policy_id, "Description": body["Description"], "State": body["State"],
            "StatusMessage": "ENABLED" if body["State"] == "ENABLED" else "DISABLED",
            "ExecutionRoleArn": body["ExecutionRoleArn"], "DateCreated": now, "DateModified": now,
            "PolicyDetails": _dlm_details(body["PolicyDetails"]), "Tags": dict(body.get("Tags") or {}),
            "PolicyArn": f"arn:aws:dlm:{region}:{_DLM_ACCOUNT}:policy/{policy_id}", "DefaultPolicy": False,
        }
        return _dlm_ok({"PolicyId": policy_id})

    if path == "/policies" and method == "GET":
        found = list(policies.values())
        if query.get("policyIds"):
            found = [p for p in found if p["PolicyId"] in query["policyIds"]]
        if query.get("state"):
            found = [p for p in found if p["State"] in query["state"]]
        if query.get("resourceTypes"):
            found = [p for p in found if set(p["PolicyDetails"].get("ResourceTypes", [])) & set(query["resourceTypes"])]
        if query.get("targetTags"):
            wanted = {tuple(t.split("=", 1)) for t in query["targetTags"]}
            found = [p for p in found
                     if wanted & {(t["Key"], t["Value"]) for t in p["PolicyDetails"].get("TargetTags", [])}]
        return _dlm_ok({"Policies": [
            {"PolicyId": p["PolicyId"], "Description": p["Description"], "State": p["State"], "Tags": p["Tags"],
             "PolicyType": p["PolicyDetails"].get("PolicyType", "EBS_SNAPSHOT_MANAGEMENT"), "DefaultPolicy": False}
            for p in found]})

    policy_id = _dlm_policy_id(path) if path.startswith("/policies/") else None
    if policy_id is None:
        return _dlm_error(400, "InvalidRequestException", f"{method} {path} is not a DLM operation this emulator has")
    if policy_id not in policies:
        return _dlm_error(404, "ResourceNotFoundException", f"Policy {policy_id} not found")
    policy = policies[policy_id]
    if method == "GET":
        return _dlm_ok({"Policy": policy})
    if method == "DELETE":
        del policies[policy_id]
        return _dlm_ok()
    if method == "PATCH":
        for key in ("ExecutionRoleArn", "State", "Description"):
            if body.get(key):
                policy[key] = body[key]
        if body.get("PolicyDetails"):
            policy["PolicyDetails"] = _dlm_details(body["PolicyDetails"])
        policy["StatusMessage"] = "ENABLED" if policy["State"] == "ENABLED" else "DISABLED"
        policy["DateModified"] = now
        return _dlm_ok()
    return _dlm_error(400, "InvalidRequestException", f"{method} {path} is not a DLM operation")


def _dlm_app():
    from flask import Flask
    from moto.core.utils import convert_to_flask_response
    from moto.moto_server.werkzeug_app import BackendRequest

    app = Flask("moto-dlm")
    app.request_class = BackendRequest
    view = convert_to_flask_response(dlm_dispatch)
    for number, rule in enumerate(("/policies", "/policies/<policy_id>", "/tags/<path:arn>")):
        app.add_url_rule(rule, endpoint=f"dlm{number}", view_func=view, strict_slashes=False,
                         methods=["GET", "POST", "PATCH", "DELETE"])
    return app


def _install_dlm():
    import moto.server as moto_server
    from moto.moto_server import werkzeug_app

    get_backend_for_host = werkzeug_app.DomainDispatcherApplication.get_backend_for_host
    create_backend_app = moto_server.create_backend_app

    def dlm_aware_backend_for_host(self, host):
        if host and re.match(r"dlm\.[a-z0-9-]+\.amazonaws\.com$", host):
            return "dlm"
        return get_backend_for_host(self, host)

    def dlm_aware_create_backend_app(service):
        return _dlm_app() if service == "dlm" else create_backend_app(service)

    werkzeug_app.DomainDispatcherApplication.get_backend_for_host = dlm_aware_backend_for_host
    moto_server.create_backend_app = dlm_aware_create_backend_app


_install_dlm()


def _install_ebs_defaults():
    """Volumes described as EC2 describes them: MultiAttachEnabled false unless asked for, gp3's baseline
    125 MiB/s throughput, SnapshotId "" when made from none; moto leaves them out, and amazon.aws.ec2_vol fails
    on an existing volume without the first, amazon.aws.ec2_vol_info on any volume without the last."""
    from moto.ec2.models import elastic_block_store

    volume_init = elastic_block_store.Volume.__init__

    def init(self, *args, **kwargs):
        volume_init(self, *args, **kwargs)
        if self.multi_attach_enabled is None:
            self.multi_attach_enabled = False
        if self.volume_type == "gp3" and self.throughput is None:
            self.throughput = 125
        if self.snapshot_id is None:
            self.snapshot_id = ""

    elastic_block_store.Volume.__init__ = init


_install_ebs_defaults()


def _install_elastic_ip_tag_type():
    """DescribeTags reports an Elastic IP's tags with ResourceType elastic-ip, as EC2 does (moto: vpc-elastic-ip,
    so a resource-type=elastic-ip filter, amazon.aws.ec2_eip's, finds none and it re-tags on every run)."""
    from moto.ec2 import utils as ec2_utils

    ec2_utils.EC2_PREFIX_TO_RESOURCE["eipalloc"] = "elastic-ip"


_install_elastic_ip_tag_type()

# --- end of role ec2_single's changes -----------------------------------------

# --- RDS Performance Insights (seed 004) -------------------------------------


def _keep_performance_insights(instance, kwargs):
    if "enable_performance_insights" in kwargs:
        instance.performance_insights_enabled = bool(kwargs["enable_performance_insights"])
    if not getattr(instance, "performance_insights_enabled", False):
        instance.performance_insights_enabled = False
        instance.performance_insights_retention_period = None
    elif kwargs.get("performance_insights_retention_period"):
        instance.performance_insights_retention_period = int(kwargs["performance_insights_retention_period"])
    elif not getattr(instance, "performance_insights_retention_period", None):
        instance.performance_insights_retention_period = 7  # AWS's free tier default


_rds_instance_init = rds_models.DBInstance.__init__
_rds_instance_update = rds_models.DBInstance.update


def rds_instance_init(self, *args, **kwargs):
    _rds_instance_init(self, *args, **kwargs)
    _keep_performance_insights(self, kwargs)


def rds_instance_update(self, *args, **kwargs):
    result = _rds_instance_update(self, *args, **kwargs)
    _keep_performance_insights(self, kwargs)
    return result


rds_models.DBInstance.__init__ = rds_instance_init
rds_models.DBInstance.update = rds_instance_update

# --- end of RDS Performance Insights --------------------------------------------

# --- The default VPC's internet gateway and route (role vpc, vpc_existing) ------


def _install_default_vpc_internet_route():
    from moto.ec2.models import vpcs as ec2_vpcs

    create_default_vpc = ec2_vpcs.VPCBackend.create_default_vpc

    def with_internet_route(self):
        vpc = create_default_vpc(self)
        igw = self.create_internet_gateway()
        self.attach_internet_gateway(igw.id, vpc.id)
        main = next(table for table in self.route_tables.values()
                    if table.vpc_id == vpc.id and table.main_association_id is not None)
        self.create_route(main.id, "0.0.0.0/0", gateway_id=igw.id)
        return vpc

    ec2_vpcs.VPCBackend.create_default_vpc = with_internet_route


_install_default_vpc_internet_route()

# --- end of the default VPC's internet gateway and route ------------------------

if __name__ == "__main__":
    sys.exit(moto_main(sys.argv[1:]))
