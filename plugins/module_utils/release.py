# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One release of one image to the ECS services and scheduled tasks of an environment, for the ecs_release module.

The calls this module needs beyond those ecs_service.py and events.py already
wrap are wrapped here once, with aws_retry() (module_utils/retries.py) and an error
handler that raises AnsibleReleaseError. Everything the module does is in
Release: the module file keeps only its documentation and argument spec.

Unit tests patch the wrappers (and monotonic, sleep and http_status) by name
in this module: Release looks every one of them up here at call time.
"""

import copy
import getpass
import http.client
import json
import re
import secrets
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC
from datetime import datetime

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import describe_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import register_task_definition
from ansible_collections.wanzami.infra.plugins.module_utils.ecs_service import update_service
from ansible_collections.wanzami.infra.plugins.module_utils.events import list_targets_by_rule
from ansible_collections.wanzami.infra.plugins.module_utils.events import put_targets
from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# Docker's reference grammar for a tag.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ECR_REGISTRY = re.compile(r"^(\d{12})\.dkr\.ecr\.")
STARTED_BY = "wanzami-release"
# What RegisterTaskDefinition takes back from DescribeTaskDefinition's answer.
REGISTERABLE = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
                "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode", "proxyConfiguration",
                "inferenceAccelerators", "ephemeralStorage", "runtimePlatform", "tags")
EVENTS_QUOTED = 3
HTTP_TIMEOUT = 10


class AnsibleReleaseError(AnsibleAWSError):
    pass


class ReleaseErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleReleaseError


class ImageErrorHandler(ReleaseErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["ImageNotFoundException", "RepositoryNotFoundException"])


class ParameterErrorHandler(ReleaseErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ParameterNotFound")


class LoadBalancerErrorHandler(ReleaseErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("LoadBalancerNotFound")


class ClusterErrorHandler(ReleaseErrorHandler):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ClusterNotFoundException")


# --- boto3 wrappers --------------------------------------------------------------------------------------------


@ImageErrorHandler.list_error_handler("describe image", default_value=None)
@aws_retry()
def describe_image(client, repository, image_id, registry_id=None):
    """The image's details ({imageDigest, imageTags...}), or None when the image or the repository is missing."""
    params = {"repositoryName": repository, "imageIds": [image_id]}
    if registry_id:
        params["registryId"] = registry_id
    details = client.describe_images(**params).get("imageDetails") or []
    return details[0] if details else None


# amazon.aws.elb_application_lb_info 10.1.2 crashes ("'NoneType' object is not iterable") on a name that does not
# exist, which is every dry run of a new environment: the release finds its load balancer itself.
@LoadBalancerErrorHandler.list_error_handler("describe load balancers", default_value=None)
@aws_retry()
def load_balancer_dns_name(client, name):
    """The DNS name of the load balancer called name, or None when there is none."""
    found = client.describe_load_balancers(Names=[name]).get("LoadBalancers") or []
    return found[0]["DNSName"] if found else None


@ReleaseErrorHandler.common_error_handler("get caller identity")
@aws_retry()
def get_caller_identity(client):
    return client.get_caller_identity()


@ParameterErrorHandler.list_error_handler("get parameter", default_value=None)
@aws_retry()
def get_parameter(client, name):
    """The parameter's value, or None when there is none."""
    return client.get_parameter(Name=name)["Parameter"]["Value"]


@ReleaseErrorHandler.common_error_handler("put parameter")
@aws_retry()
def put_parameter(client, name, value, overwrite, tags=None):
    """True when written; False when overwrite is False and the parameter exists.

    tags go on the parameter (merged, none removed): with its creation, or after an overwrite, which PutParameter
    takes no tags with."""
    params = {"Name": name, "Value": value, "Type": "String", "Overwrite": overwrite}
    tag_list = [{"Key": k, "Value": str(v)} for k, v in sorted((tags or {}).items())]
    if tag_list and not overwrite:
        params["Tags"] = tag_list
    try:
        client.put_parameter(**params)
    except is_boto3_error_code("ParameterAlreadyExists"):
        return False
    if tag_list and overwrite:
        client.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=tag_list)
    return True


@ParameterErrorHandler.deletion_error_handler("delete parameter")
@aws_retry()
def delete_parameter(client, name):
    client.delete_parameter(Name=name)
    return True


@ClusterErrorHandler.list_error_handler("describe services", default_value=None)
@aws_retry()
def describe_services(client, cluster, names):
    """{name: service} of the ACTIVE services among names (10 a call, as DescribeServices takes them);
    None when the cluster does not exist."""
    found = {}
    for start in range(0, len(names), 10):
        for service in client.describe_services(cluster=cluster, services=names[start:start + 10])["services"]:
            if service.get("status") == "ACTIVE":
                found[service["serviceName"]] = service
    return found


@ReleaseErrorHandler.common_error_handler("run task")
@aws_retry()
def run_task(client, **params):
    """The whole answer: tasks and failures."""
    return client.run_task(**params)


@ReleaseErrorHandler.common_error_handler("describe tasks")
@aws_retry()
def describe_tasks(client, cluster, arns):
    return client.describe_tasks(cluster=cluster, tasks=arns)["tasks"]


@ReleaseErrorHandler.common_error_handler("list task definitions")
@aws_retry()
def list_task_definitions(client, family):
    """ARNs of the family's ACTIVE revisions (and of the families it is a prefix of: the caller filters)."""
    paginator = client.get_paginator("list_task_definitions")
    pages = paginator.paginate(familyPrefix=family, status="ACTIVE", sort="DESC")
    return pages.build_full_result().get("taskDefinitionArns", [])


@ReleaseErrorHandler.common_error_handler("deregister task definition")
@aws_retry()
def deregister_task_definition(client, arn):
    client.deregister_task_definition(taskDefinition=arn)


class _NamedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one address (the load balancer) for another name: SNI and certificate verification are the name's."""

    def __init__(self, address, server_name, **kwargs):
        super().__init__(address, **kwargs)
        self._server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)


def http_status(url, timeout, address=None, check_hostname=True):
    """(status, None) for any HTTP answer, (None, reason) when there is none.

    address: connect there (the load balancer's DNS name) instead of to the URL's host, which is still the Host
    header, the TLS server name and the name the certificate is verified against; redirects are not followed.
    check_hostname=False (https): the certificate must still be valid and trusted, for whatever name."""
    if address or not check_hostname:
        return _http_status_to(url, timeout, address, check_hostname)
    # validate() lets only http:// and https:// URLs through.
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": STARTED_BY})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, None
    except urllib.error.HTTPError as e:
        return e.code, None
    except urllib.error.URLError as e:
        return None, str(e.reason)
    except (OSError, ValueError) as e:
        return None, str(e)


def _http_status_to(url, timeout, address, check_hostname):
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = f"{address or parts.hostname}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = check_hostname
        connection = _NamedHTTPSConnection(target, parts.hostname, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(target, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": parts.netloc, "User-Agent": STARTED_BY})
        return connection.getresponse().status, None
    except (OSError, http.client.HTTPException, ValueError) as e:
        return None, str(e)
    finally:
        connection.close()


def monotonic():
    return time.monotonic()


def sleep(seconds):
    time.sleep(seconds)


# --- helpers ---------------------------------------------------------------------------------------------------


class ReleaseError(Exception):
    """A failure the module reports with fail_json(msg, **result)."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


class StepFailed(Exception):
    """A failure of the rollout or the smoke test: what rollback_on_failure reacts to."""


class Clients:
    """One boto3 client per AWS service, created on first use (a run without scheduled tasks never creates events')."""

    def __init__(self, module):
        self._module = module
        self._clients = {}

    def __getitem__(self, service):
        if service not in self._clients:
            self._clients[service] = self._module.client(service)
        return self._clients[service]


def ref(arn):
    """family:revision of a task definition ARN (or of family:revision itself)."""
    return arn.split("/")[-1] if arn else arn


def family_of(arn):
    return ref(arn).rsplit(":", 1)[0]


def revision_of(arn):
    return int(ref(arn).rsplit(":", 1)[1])


def arn_like(arn, family_revision):
    """The ARN of family_revision in the account and region of arn."""
    return f"{arn.rsplit('/', 1)[0]}/{family_revision}" if "/" in arn else family_revision


def now_iso():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_who():
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def one_or_list(values):
    values = sorted(set(values))
    return values[0] if len(values) == 1 else values


def validate(params):
    """The first thing wrong with the options, or None. Runs before any AWS call."""
    given = [k for k in ("image_tag", "image_digest") if params.get(k)] + (["to_previous"] if params.get("to_previous") else [])
    if len(given) != 1:
        got = ", ".join(given) or "none of them"
        return f"give exactly one of image_tag, image_digest or to_previous=true (got {got})"
    if not params["cluster"]:
        return "cluster must not be empty"
    if not params["services"] or not all(params["services"]):
        return "services must name at least one service, and no empty name"
    if not all(params.get("scheduled_tasks") or []):
        return "scheduled_tasks must not hold an empty rule name"
    repository = params["repository"] or ""
    if not repository or any(c in repository for c in ":@") or repository.startswith("/") or repository.endswith("/"):
        return ("repository must be an ECR repository name such as wanzami-backend (no registry, tag or digest): "
                f"got {repository!r}")
    if params.get("registry") and "://" in params["registry"]:
        return ("registry must be a host name such as 123456789012.dkr.ecr.us-east-2.amazonaws.com, without a scheme: "
                f"got {params['registry']!r}")
    if params.get("image_tag") and not TAG.match(params["image_tag"]):
        return (f"image_tag must be a Docker tag (letters, digits, '_', '.' and '-', up to 128 characters, not starting "
                f"with '.' or '-'): got {params['image_tag']!r}")
    if params.get("image_digest") and not DIGEST.match(params["image_digest"]):
        return ("image_digest must match ^sha256:[0-9a-f]{64}$ (sha256: and 64 lower-case hex digits): "
                f"got {params['image_digest']!r}")
    if params.get("to_previous") and not params.get("record_parameter"):
        return "to_previous=true needs record_parameter: the previous release is read from the release record"
    for name in ("wait_timeout", "poll_interval"):
        if params[name] <= 0:
            return f"{name} must be greater than 0: got {params[name]}"
    for name in ("lock_wait", "keep_revisions"):
        if params[name] < 0:
            return f"{name} must be 0 or more: got {params[name]}"
    counts = params.get("desired_counts") or {}
    if counts:
        if not params.get("record_parameter"):
            return ("desired_counts needs record_parameter: a service is started only by the first release of the repository, "
                    "which the release record tells")
        unknown = sorted(set(counts) - set(params["services"]))
        if unknown:
            return f"desired_counts names services that are not in services: {', '.join(unknown)}"
        bad = {k: v for k, v in counts.items() if isinstance(v, bool) or not re.match(r"^\d+$", str(v).strip())}
        if bad:
            return f"desired_counts must map each service to a whole number of tasks, 0 or more: got {bad}"
        params["desired_counts"] = {k: int(str(v).strip()) for k, v in counts.items()}
    if params.get("break_lock") and not params.get("lock_parameter"):
        return "break_lock=true needs lock_parameter (the lock to break)"
    migration = params.get("migration")
    if migration:
        if migration["service"] not in params["services"]:
            return f"migration.service must be one of services ({', '.join(params['services'])}): got {migration['service']!r}"
        if not migration["command"]:
            return "migration.command must not be empty"
        if migration["timeout"] <= 0:
            return f"migration.timeout must be greater than 0: got {migration['timeout']}"
    smoke = params.get("smoke_test")
    if smoke:
        if bool(smoke.get("url")) == bool(smoke.get("load_balancer")):
            return "smoke_test needs exactly one of url and load_balancer"
        if smoke.get("host") and not smoke.get("load_balancer"):
            return "smoke_test.host goes with smoke_test.load_balancer (a url names its host itself)"
        if smoke.get("host") and not re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$", smoke["host"]):
            return ("smoke_test.host must be a host name such as api.example.com (no scheme, port, path or wildcard): "
                    f"got {smoke['host']!r}")
        if smoke.get("load_balancer") and not (smoke.get("path") or "").startswith("/"):
            return f"smoke_test.path must start with '/': got {smoke.get('path')!r}"
        if smoke.get("url") and not re.match(r"^https?://[^/\s]+", smoke["url"]):
            return f"smoke_test.url must be an http:// or https:// URL: got {smoke['url']!r}"
        if not 100 <= smoke["status"] <= 599:
            return f"smoke_test.status must be an HTTP status (100-599): got {smoke['status']}"
        if smoke["timeout"] <= 0 or smoke["interval"] <= 0:
            return ("smoke_test.timeout and smoke_test.interval must be greater than 0: "
                    f"got {smoke['timeout']} and {smoke['interval']}")
    return None


def rollout_state(service, arn, stale_ids=()):
    """(state, reason) of a service that should run arn: state is done, pending or failed.

    Done means the PRIMARY deployment runs arn and finished (rolloutState COMPLETED; without a rolloutState, it is
    the only deployment and runs its desired count). A PRIMARY deployment on another revision is a failure: the
    circuit breaker rolled arn back (the service is then 'stable', on the wrong revision) or someone deployed over
    it. stale_ids holds the id of the PRIMARY deployment before UpdateService, on the read right after the update
    only: seen again then, it is a read that does not show the update yet, not a rollback.
    """
    want = ref(arn)
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return "pending", "no PRIMARY deployment yet"
    running = ref(primary.get("taskDefinition"))
    if running != want or ref(service.get("taskDefinition")) != want:
        if primary.get("id") in stale_ids:
            return "pending", f"the update to {want} does not show yet"
        ours = next((d for d in deployments if ref(d.get("taskDefinition")) == want and d.get("rolloutState") == "FAILED"), None)
        if ours:
            return "failed", (f"the rollout of {want} FAILED ({ours.get('rolloutStateReason') or 'no reason given'}) and the "
                              f"deployment circuit breaker rolled the service back to {running}")
        return "failed", (f"its PRIMARY deployment runs {running}, not {want}: the deployment circuit breaker rolled it "
                          "back, or another deployment replaced it")
    counts = f"{primary.get('runningCount', 0)}/{primary.get('desiredCount', service.get('desiredCount', 0))} tasks running"
    state = primary.get("rolloutState")
    if state == "FAILED":
        return "failed", f"the rollout of {want} FAILED ({primary.get('rolloutStateReason') or counts})"
    if state == "COMPLETED":
        return "done", counts
    if state is None and len(deployments) == 1 and \
            primary.get("runningCount") == primary.get("desiredCount", service.get("desiredCount")):
        return "done", counts
    return "pending", f"rollout {state or 'in progress'}, {counts}, {len(deployments)} deployments"


def smoke_target(scheme, dns_name, host, path):
    """(url, address, check_hostname) of a smoke test through the load balancer dns_name.

    With host (the listener routes the service by host name): the URL names the host and the GET goes to the load
    balancer (address) with that Host header, TLS server name and certificate name, so neither public DNS nor another
    listener rule is in the way. Without host over https, the certificate is the domain's, never the load balancer's
    *.elb.amazonaws.com name: it must be valid and trusted, but its name is not checked (check_hostname False)."""
    if host:
        return f"{scheme}://{host}{path}", dns_name, True
    return f"{scheme}://{dns_name}{path}", None, scheme != "https"


def last_events(service):
    events = [e.get("message", "") for e in (service or {}).get("events") or []][:EVENTS_QUOTED]
    return "; last events: " + " | ".join(events) if events else "; no service events"


class Item:
    """A service or a scheduled task (EventBridge rule) of the release."""

    def __init__(self, kind, name, arn, service=None, target=None):
        self.kind = kind
        self.name = name
        self.previous_arn = arn  # what it ran before the release, what a rollback goes back to
        self.arn = arn  # what it runs now
        self.wanted_arn = arn  # what it should run after the release
        self.service = service
        self.target = target
        self.definition = None
        self.containers = []  # names of the containers running an image of the repository
        self.before_images = []
        self.needs_pinning = False
        self.raise_to = None  # the first release of the repository: the desired count a service at 0 gets

    @property
    def changes(self):
        """Whether the release changes it: a container to pin, or (to_previous) another revision to go back to."""
        return self.needs_pinning or ref(self.wanted_arn) != ref(self.previous_arn) or bool(self.raise_to)

    def primary_id(self):
        deployments = (self.service or {}).get("deployments") or []
        return next((d.get("id") for d in deployments if d.get("status") == "PRIMARY"), None)

    def view(self, check_mode=False):
        changed = self.changes if check_mode else ref(self.arn) != ref(self.previous_arn)
        view = {"previous": ref(self.previous_arn), "current": ref(self.arn), "changed": changed}
        if self.raise_to:
            view["desired_count"] = {"before": 0, "after": self.raise_to}
        return view


class Release:
    def __init__(self, module, clients):
        self.module = module
        self.params = module.params
        self.clients = clients
        self.started = monotonic()
        self.cluster = self.params["cluster"]
        self.repository = self.params["repository"]
        self.services = list(dict.fromkeys(self.params["services"]))
        self.rules = list(dict.fromkeys(self.params.get("scheduled_tasks") or []))
        self.to_previous = bool(self.params.get("to_previous"))
        self.tag = self.params.get("image_tag")
        self.digest = self.params.get("image_digest")
        self.image = None
        self.registry = (self.params.get("registry") or "").rstrip("/") or None
        self.items = []
        self.record = None
        self.previous = None  # to_previous: the record's previous release
        self.lock_token = None
        self.lock_holder = None
        self.migration = {}
        self.smoke = {}
        self.smoke_url = None
        self.smoke_address = None  # the load balancer's DNS name when the URL names the service's host
        self.smoke_check_hostname = True
        self.written = {}
        self.pruned = []
        self.changed = False
        self.rolled_back = False
        # Check mode only: what a real run would stop at because it does not exist yet (an image not pushed, an
        # environment not provisioned). A dry run reports these instead of failing; anything wrong fails it.
        self.blockers = []

    # --- the run

    def run(self):
        if not self.to_previous:
            self.resolve_image()
        self.resolve_smoke_url()
        if self.module.check_mode:
            if self.params.get("lock_parameter"):
                holder = self.read_lock()
                self.lock_holder = holder.get("holder") if holder else None
            if self.to_previous or (self.params.get("desired_counts") and self.params.get("record_parameter")):
                self.read_record()
            self.plan()
            for blocker in self.blockers:
                self.module.warn(f"a real run would fail now: {blocker}")
            # A run that would fail changes nothing.
            self.changed = not self.blockers and any(i.changes for i in self.items)
            return self.result()
        self.take_lock()
        try:
            if self.params.get("record_parameter"):
                self.read_record()
            self.plan()
            planned = [i for i in self.items if i.changes]
            if planned:
                self.register(planned)
                self.migrate()
                self.roll_out(planned)
            self.write_record()
            if planned:
                self.prune()
        finally:
            self.drop_lock()
        return self.result()

    @property
    def label(self):
        if self.to_previous:
            previous = self.previous or {}
            return f"to_previous ({previous.get('tag') or previous.get('digest') or 'previous release'})"
        return self.tag or self.digest

    def result(self):
        return {"changed": self.changed, "release": self.release_view(), "diff": self.diff()}

    def release_view(self):
        return {
            "tag": self.tag, "digest": self.digest, "image": self.image,
            "services": {i.name: i.view(self.module.check_mode) for i in self.items if i.kind == "service"},
            "scheduled_tasks": {i.name: i.view(self.module.check_mode) for i in self.items if i.kind == "scheduled_task"},
            "migration": self.migration, "smoke_test": self.smoke, "record": self.written, "lock_holder": self.lock_holder,
            "pruned": self.pruned, "rolled_back": self.rolled_back, "blockers": self.blockers,
            "duration": round(monotonic() - self.started, 1),
        }

    def diff(self):
        before, after = {}, {}
        for item in self.items:
            if not item.changes:
                continue
            if self.to_previous:
                before[item.name], after[item.name] = ref(item.previous_arn), ref(item.wanted_arn)
            elif item.definition:
                # The task definition change as a diff of its container definitions (--diff shows the
                # lines that change: our containers' image, pinned to the digest).
                containers = item.definition.get("containerDefinitions") or []
                family = item.definition.get("family") or ref(item.previous_arn).split(":")[0]
                before[item.name] = {"taskDefinition": ref(item.previous_arn), "containerDefinitions": containers}
                after[item.name] = {
                    "taskDefinition": f"{family}:(new revision)" if item.needs_pinning else ref(item.previous_arn),
                    "containerDefinitions": [dict(c, image=self.image) if c["name"] in item.containers else c
                                             for c in containers]}
        return {"before": before, "after": after}

    def fail(self, msg, **extra):
        raise ReleaseError(msg, rolled_back=self.rolled_back, release=self.release_view(), **extra)

    def missing(self, msg):
        """Something the release needs does not exist yet: a failure, except in check mode, where it is reported."""
        if not self.module.check_mode:
            self.fail(msg)
        self.blockers.append(msg)

    # --- 2. the image

    def resolve_image(self):
        registry_id = None
        if self.registry:
            match = ECR_REGISTRY.match(self.registry)
            registry_id = match.group(1) if match else None
        image_id = {"imageTag": self.tag} if self.tag else {"imageDigest": self.digest}
        details = describe_image(self.clients["ecr"], self.repository, image_id, registry_id)
        if not details:
            shown = f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"
            self.missing(f"image {shown} is not in ECR repository {self.repository} in {self.module.region}: push it first "
                         "(or set release_build=true)")
        else:
            self.digest = details["imageDigest"]
        if not self.registry:
            identity = get_caller_identity(self.clients["sts"])
            partition = identity["Arn"].split(":")[1]
            suffix = ".amazonaws.com.cn" if partition == "aws-cn" else ".amazonaws.com"
            self.registry = f"{identity['Account']}.dkr.ecr.{self.module.region}{suffix}"
        # Not pushed yet (check mode only): the plan shows the tag it would pin.
        self.image = f"{self.registry}/{self.repository}" + (f"@{self.digest}" if self.digest else f":{self.tag}")

    def resolve_smoke_url(self):
        """The smoke test's URL; through a load balancer found by name, before anything changes."""
        smoke = self.params.get("smoke_test")
        if not smoke:
            return
        if smoke.get("url"):
            self.smoke_url = smoke["url"]
            return
        dns_name = load_balancer_dns_name(self.clients["elbv2"], smoke["load_balancer"])
        if not dns_name:
            self.missing(f"load balancer {smoke['load_balancer']} does not exist: the smoke test goes through it")
            return
        self.smoke_url, self.smoke_address, self.smoke_check_hostname = smoke_target(
            smoke.get("scheme") or "http", dns_name, smoke.get("host"), smoke["path"])

    def is_ours(self, image):
        base = f"{self.registry}/{self.repository}"
        return image == base or image.startswith(base + ":") or image.startswith(base + "@")

    # --- 3. the lock

    def read_lock(self):
        raw = get_parameter(self.clients["ssm"], self.params["lock_parameter"])
        if raw is None:
            return None
        try:
            holder = json.loads(raw)
        except ValueError:
            holder = None
        return holder if isinstance(holder, dict) else {"holder": raw}

    def try_lock(self, value):
        """(True, None) when the lock is ours now, else (False, the holder)."""
        for _attempt in range(2):
            if put_parameter(self.clients["ssm"], self.params["lock_parameter"], value, overwrite=False,
                             tags=self.params.get("tags")):
                return True, None
            holder = self.read_lock()
            if holder is not None:
                return False, holder
            # Released between the two calls: try again.
        return False, {"holder": "unknown"}

    def locked(self, holder):
        self.lock_holder = holder.get("holder")
        self.fail(f"release of {self.cluster} is locked by {holder.get('holder', 'unknown')} since {holder.get('since', '?')} "
                  f"(release {holder.get('release', '?')}); wait for it to finish, or if it died, break the stale lock with "
                  "-e release_break_lock=true")

    def take_lock(self):
        name = self.params["lock_parameter"]
        if not name:
            return
        token = secrets.token_hex(16)
        value = json.dumps({"holder": self.params["who"], "since": now_iso(), "release": self.tag or self.digest or "to_previous",
                            "token": token}, sort_keys=True)
        taken, holder = self.try_lock(value)
        if not taken and self.params["break_lock"]:
            delete_parameter(self.clients["ssm"], name)
            self.module.warn(f"broke the lock {name} held by {holder.get('holder', 'unknown')} since {holder.get('since', '?')} "
                             f"(release {holder.get('release', '?')})")
            self.lock_holder = holder.get("holder")
            taken, holder = self.try_lock(value)
        elif not taken and self.params["lock_wait"] > 0:
            deadline = monotonic() + self.params["lock_wait"]
            while not taken:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                sleep(min(self.params["poll_interval"], remaining))
                taken, holder = self.try_lock(value)
        if not taken:
            self.locked(holder)
        self.lock_token = token

    def drop_lock(self):
        """Delete the lock if it is still ours; never raises (the release's own outcome is what matters)."""
        if not self.lock_token:
            return
        name = self.params["lock_parameter"]
        try:
            holder = self.read_lock()
            if holder is None:
                self.module.warn(f"the lock {name} was gone at the end of the release (broken by another run?)")
            elif holder.get("token") != self.lock_token:
                self.module.warn(f"the lock {name} is held by {holder.get('holder', 'unknown')} since {holder.get('since', '?')} "
                                 "now (it broke ours): left alone")
            else:
                delete_parameter(self.clients["ssm"], name)
        except AnsibleAWSError as e:
            self.module.warn(f"could not release the lock {name}: {str(e)}; delete the parameter by hand")
        self.lock_token = None

    # --- the record

    def read_record(self):
        name = self.params["record_parameter"]
        raw = get_parameter(self.clients["ssm"], name)
        record = None
        if raw is not None:
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                if self.to_previous:
                    self.fail(f"the release record {name} is not a JSON object: cannot go back to a previous release")
                self.module.warn(f"the release record {name} is not a JSON object: it is replaced")
                record = None
        self.record = record
        if self.to_previous:
            if record is None:
                self.missing(f"to_previous: there is no release record {name}: nothing to go back to")
                return
            previous = record.get("previous") or {}
            if not previous.get("services") and not previous.get("scheduled_tasks"):
                self.fail(f"to_previous: the release record {name} has no previous release to go back to")
            self.previous = previous
            self.tag, self.digest, self.image = previous.get("tag"), previous.get("digest"), previous.get("image")

    # --- 4. the plan

    def plan(self):
        ecs = self.clients["ecs"]
        found = describe_services(ecs, self.cluster, self.services)
        if found is None:
            self.missing(f"cluster {self.cluster} does not exist")
            return
        absent = [s for s in self.services if s not in found]
        if absent:
            self.missing(f"services not found (or not ACTIVE) in cluster {self.cluster}: {', '.join(absent)}")
        foreign = [f"{s} ({found[s]['deploymentController']['type']})" for s in self.services
                   if s in found and (found[s].get("deploymentController") or {}).get("type", "ECS") != "ECS"]
        if foreign:
            self.fail("services with a deployment controller other than ECS cannot be released by UpdateService: "
                      + ", ".join(foreign))
        self.items = [Item("service", s, found[s]["taskDefinition"], service=found[s]) for s in self.services if s in found]
        problems = []
        for rule in self.rules:
            targets = [t for t in list_targets_by_rule(self.clients["events"], rule) if t.get("EcsParameters")]
            if not targets:
                self.missing(f"scheduled task rule {rule} does not exist or has no ECS target")
                continue
            if len(targets) != 1:
                problems.append(f"scheduled task rule {rule} has {len(targets)} ECS targets (it must have exactly one)")
                continue
            self.items.append(Item("scheduled_task", rule, targets[0]["EcsParameters"]["TaskDefinitionArn"], target=targets[0]))
        if problems:
            self.fail("; ".join(problems))
        if self.to_previous:
            if self.previous is not None:
                self.plan_previous()
        else:
            self.plan_image()
            self.plan_first_release()

    def plan_first_release(self):
        """The first release of the repository (no record, or one without an image of it) starts the services that
        wait at desired count 0 for their first image (role ecs_service), at their desired_counts. A service an
        operator scaled to 0 after a release stays at 0: there is a record of the repository then."""
        counts = self.params.get("desired_counts") or {}
        if not counts or self.repository in ((self.record or {}).get("images") or {}):
            return
        for item in self.items:
            if item.kind == "service" and not (item.service or {}).get("desiredCount") and counts.get(item.name):
                item.raise_to = counts[item.name]

    def plan_previous(self):
        missing = []
        for item in self.items:
            recorded = (self.previous.get("services" if item.kind == "service" else "scheduled_tasks") or {}).get(item.name)
            if not recorded:
                missing.append(item.name)
                continue
            item.wanted_arn = arn_like(item.previous_arn, recorded)
        if missing:
            self.fail(f"to_previous: the previous release in {self.params['record_parameter']} does not name "
                      f"{', '.join(missing)}: no revision to go back to")

    def plan_image(self):
        definitions = {}
        problems = []
        for item in self.items:
            if item.previous_arn not in definitions:
                definitions[item.previous_arn] = describe_task_definition(self.clients["ecs"], item.previous_arn)
            definition = definitions[item.previous_arn]
            if not definition:
                problems.append(f"{item.name}: its task definition {ref(item.previous_arn)} cannot be described")
                continue
            item.definition = definition
            containers = definition.get("containerDefinitions") or []
            item.containers = [c["name"] for c in containers if self.is_ours(c.get("image") or "")]
            if not item.containers:
                images = ", ".join(c.get("image", "?") for c in containers)
                problems.append(f"{item.name}: no container of {ref(item.previous_arn)} runs an image of "
                                f"{self.registry}/{self.repository} (it runs {images})")
                continue
            item.before_images = [c["image"] for c in containers if c["name"] in item.containers]
            item.needs_pinning = any(image != self.image for image in item.before_images)
        migration = self.params.get("migration")
        migrated = [i for i in self.items if i.kind == "service" and i.name == (migration or {}).get("service")]
        if migration and migration.get("container") and migrated and not problems:
            item = migrated[0]
            names = [c["name"] for c in item.definition.get("containerDefinitions") or []]
            if migration["container"] not in names:
                problems.append(f"migration.container {migration['container']} is not a container of {ref(item.previous_arn)} "
                                f"(it has {', '.join(names)})")
        if problems:
            self.fail("pre-flight failed: " + "; ".join(problems))

    def item(self, kind, name):
        return next(i for i in self.items if i.kind == kind and i.name == name)

    # --- 5. new revisions

    def register(self, planned):
        if self.to_previous:
            return
        registered = {}
        for item in planned:
            if not item.needs_pinning:
                continue  # only started (raise_to): it runs the image already
            if item.previous_arn not in registered:
                registered[item.previous_arn] = self.register_pinned(item.definition)
            item.wanted_arn = registered[item.previous_arn]

    def register_pinned(self, definition):
        params = {k: copy.deepcopy(definition[k]) for k in REGISTERABLE if definition.get(k) not in (None, [], {}, "")}
        for container in params["containerDefinitions"]:
            if self.is_ours(container.get("image") or ""):
                container["image"] = self.image
        return register_task_definition(self.clients["ecs"], **params)["taskDefinitionArn"]

    # --- 6. migration

    def migrate(self):
        migration = self.params.get("migration")
        if not migration:
            return
        if self.to_previous:
            self.module.warn("to_previous does not run the migration: a rollback never migrates the database backwards")
            return
        item = self.item("service", migration["service"])
        container = migration.get("container") or item.containers[0]
        service = item.service
        params = {"cluster": self.cluster, "taskDefinition": item.wanted_arn, "count": 1, "startedBy": STARTED_BY,
                  "overrides": {"containerOverrides": [{"name": container, "command": list(migration["command"])}]}}
        if service.get("capacityProviderStrategy"):
            params["capacityProviderStrategy"] = service["capacityProviderStrategy"]
        elif service.get("launchType"):
            params["launchType"] = service["launchType"]
        if service.get("networkConfiguration"):
            params["networkConfiguration"] = service["networkConfiguration"]
        answer = run_task(self.clients["ecs"], **params)
        tasks = answer.get("tasks") or []
        if not tasks:
            reasons = ", ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in answer.get("failures") or []) or "no task"
            self.fail(f"migration task of {ref(item.wanted_arn)} did not start ({reasons}): services not updated; they still run "
                      f"{self.still_running()}")
        arn = tasks[0]["taskArn"]
        self.migration = {"task_arn": arn, "container": container, "exit_code": None}
        deadline = monotonic() + migration["timeout"]
        task = tasks[0]
        while True:
            found = describe_tasks(self.clients["ecs"], self.cluster, [arn])
            task = found[0] if found else task
            if task.get("lastStatus") == "STOPPED":
                break
            remaining = deadline - monotonic()
            if remaining <= 0:
                self.fail(f"migration task {arn} did not stop within {migration['timeout']}s (last status "
                          f"{task.get('lastStatus', '?')}; it may still be running): services not updated; they still run "
                          f"{self.still_running()}")
            sleep(min(self.params["poll_interval"], remaining))
        state = next((c for c in task.get("containers") or [] if c.get("name") == container), {})
        code = state.get("exitCode")
        self.migration["exit_code"] = code
        if code != 0:
            reason = state.get("reason") or task.get("stoppedReason") or "no reason given"
            shown = code if code is not None else "no exit code"
            self.fail(f"migration task {arn} exited with {shown} ({reason}): services not updated; they still run "
                      f"{self.still_running()}")

    def still_running(self):
        return ", ".join(ref(i.previous_arn) for i in self.items)

    # --- 7. rollout and wait

    def point(self, item, arn, desired_count=None):
        """Make item run arn: UpdateService for a service (with desired_count when given), PutTargets for a scheduled
        task."""
        if item.kind == "service":
            count = {} if desired_count is None else {"desiredCount": desired_count}
            update_service(self.clients["ecs"], cluster=self.cluster, service=item.name, taskDefinition=arn, **count)
        else:
            target = copy.deepcopy(item.target)
            target["EcsParameters"]["TaskDefinitionArn"] = arn
            answer = put_targets(self.clients["events"], item.name, [target])
            if answer.get("FailedEntryCount"):
                entries = "; ".join(f"{e.get('ErrorCode')}: {e.get('ErrorMessage')}" for e in answer.get("FailedEntries") or [])
                raise StepFailed(f"EventBridge refused the target of {item.name} ({entries})")
        item.arn = arn

    def wait(self, items, arn_of):
        """Poll DescribeServices until every item's service runs arn_of(item) to completion.

        Returns {name: why} of the failures: those of the first poll that sees one (no use waiting for the others:
        the caller rolls back), or every unfinished service at wait_timeout; {} when all finished.
        """
        if not items:
            return {}
        pending = {i.name: i for i in items}
        stale = {i.name: (i.primary_id(),) for i in items}
        progress = {}
        deadline = monotonic() + self.params["wait_timeout"]
        first = True
        while True:
            found = describe_services(self.clients["ecs"], self.cluster, list(pending)) or {}
            failures = {}
            for name, item in list(pending.items()):
                service = found.get(name)
                if service is None:
                    failures[name] = "the service is gone (deleted, or no longer ACTIVE)"
                    continue
                item.service = service
                state, progress[name] = rollout_state(service, arn_of(item), stale[name] if first else ())
                if state == "done":
                    del pending[name]
                elif state == "failed":
                    failures[name] = progress[name] + last_events(service)
            if failures or not pending:
                return failures
            remaining = deadline - monotonic()
            if remaining <= 0:
                return {name: (f"did not finish rolling out {ref(arn_of(item))} within {self.params['wait_timeout']}s "
                               f"({progress[name]}){last_events(item.service)}") for name, item in pending.items()}
            sleep(min(self.params["poll_interval"], remaining))
            first = False

    def roll_out(self, planned):
        updated = []
        try:
            for item in planned:
                self.point(item, item.wanted_arn, item.raise_to)
                updated.append(item)
            self.changed = True
            failures = self.wait([i for i in planned if i.kind == "service"], lambda i: i.wanted_arn)
            if failures:
                raise StepFailed("; ".join(f"service {name}: {why}" for name, why in failures.items()))
            self.smoke_test()
        except (StepFailed, AnsibleAWSError) as e:
            self.roll_back(updated, str(e))

    # --- 8. smoke test

    def smoke_test(self):
        smoke = self.params.get("smoke_test")
        if not smoke:
            return
        url, want = self.smoke_url, smoke["status"]
        deadline = monotonic() + smoke["timeout"]
        while True:
            remaining = deadline - monotonic()
            status, reason = http_status(url, max(1, min(HTTP_TIMEOUT, remaining)), address=self.smoke_address,
                                         check_hostname=self.smoke_check_hostname)
            self.smoke = {"url": url, "status": status, **({"through": self.smoke_address} if self.smoke_address else {})}
            if status == want:
                return
            remaining = deadline - monotonic()
            if remaining <= 0:
                got = f"answered {status}" if status is not None else f"did not answer ({reason})"
                raise StepFailed(f"smoke test GET {url} {got}, not {want}, for {smoke['timeout']}s")
            sleep(min(smoke["interval"], remaining))

    # --- 9. rollback

    def roll_back(self, updated, what):
        if not updated:
            self.fail(f"release {self.label} failed: {what}. Nothing was changed, nothing to roll back")
        if not self.params["rollback_on_failure"]:
            running = ", ".join(f"{i.name} runs {ref(i.arn)} (was {ref(i.previous_arn)})" for i in updated)
            self.fail(f"release {self.label} failed: {what}. Not rolled back (rollback_on_failure=false): {running}")
        errors = []
        restored = []
        for item in updated:
            try:
                # A service the first release started goes back to 0 tasks, waiting for an image that works.
                self.point(item, item.previous_arn, 0 if item.raise_to else None)
                restored.append(item)
            except (StepFailed, AnsibleAWSError) as e:
                errors.append(f"{item.name}: {str(e)}")
        self.rolled_back = True
        failures = self.wait([i for i in restored if i.kind == "service"], lambda i: i.previous_arn)
        errors += [f"service {name}: {why}" for name, why in failures.items()]
        back = ", ".join(f"{i.name} -> {ref(i.previous_arn)}" + (" (0 tasks)" if i.raise_to else "")
                         for i in restored) or "nothing"
        status = "restored fully" if not errors else "restore did not finish: " + "; ".join(errors)
        self.fail(f"release {self.label} failed: {what}. Rolled back: {back} ({status})")

    # --- 10. the record

    def state(self, kind):
        return {i.name: ref(i.arn) for i in self.items if i.kind == kind}

    def describes_state(self, record):
        if not record or record.get("digest") != self.digest:
            return False
        return all((record.get(key) or {}).get(name) == value
                   for key, kind in (("services", "service"), ("scheduled_tasks", "scheduled_task"))
                   for name, value in self.state(kind).items())

    def write_record(self):
        name = self.params.get("record_parameter")
        if not name:
            return
        changed = any(ref(i.arn) != ref(i.previous_arn) for i in self.items)
        if not changed and self.describes_state(self.record):
            return
        record = self.new_record()
        put_parameter(self.clients["ssm"], name, json.dumps(record, sort_keys=True), overwrite=True,
                      tags=self.params.get("tags"))
        self.written = record
        self.changed = True

    def new_record(self):
        old = self.record or {}
        fields = ("tag", "digest", "image", "time", "who", "services", "scheduled_tasks")
        if self.to_previous:
            previous = {k: old.get(k) for k in fields}
        elif self.record and old.get("digest") == self.digest:
            # The same image again: what it replaced stays the previous release.
            previous = dict(old.get("previous") or {})
        elif self.record:
            previous = {k: old.get(k) for k in fields}
        else:
            previous = {"tag": None, "digest": None, "image": None, "time": None, "who": None}
        if not self.to_previous:
            # What ran before this release, for whatever the previous record does not name.
            for key, kind in (("services", "service"), ("scheduled_tasks", "scheduled_task")):
                observed = {i.name: ref(i.previous_arn) for i in self.items if i.kind == kind}
                previous[key] = {**observed, **(previous.get(key) or {})}
        images = dict(old.get("images") or {})
        if self.image:
            images[self.repository] = self.image
        return {"tag": self.tag, "digest": self.digest, "image": self.image, "repository": self.repository, "time": now_iso(),
                "who": self.params["who"], "services": self.state("service"), "scheduled_tasks": self.state("scheduled_task"),
                "images": images, "previous": previous}

    # --- 11. prune

    def prune(self):
        keep = self.params["keep_revisions"]
        if not keep or self.to_previous:
            return
        new = {ref(i.arn) for i in self.items if ref(i.arn) != ref(i.previous_arn)}
        protected = new | {ref(i.previous_arn) for i in self.items}
        for record in (self.written, self.written.get("previous") or {}):
            for key in ("services", "scheduled_tasks"):
                protected |= set((record.get(key) or {}).values())
        for family in sorted({family_of(r) for r in new}):
            try:
                arns = [a for a in list_task_definitions(self.clients["ecs"], family) if family_of(a) == family]
                arns.sort(key=revision_of, reverse=True)
                for arn in arns[keep:]:
                    if ref(arn) not in protected:
                        deregister_task_definition(self.clients["ecs"], arn)
                        self.pruned.append(ref(arn))
            except AnsibleAWSError as e:
                self.module.warn(f"could not prune old revisions of {family}: {str(e)}")
