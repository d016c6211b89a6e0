"""MiniStack with the changes our tests need, started by `scripts/emulator --engine ministack`
with MiniStack's own venv (.tmp/ministack-venv): `python ministack_boot.py`, environment set by
scripts/emulator (BIND_HOST=127.0.0.1, GATEWAY_PORT, every directory under the state directory).

MiniStack is an independent emulator (PyPI `ministack`, MIT): it checks what our moto patches
(scripts/emulator_server.py) believe about AWS. So this module changes as little as it can, and
only where MiniStack answers differently from AWS in a way our roles meet. Each change names the
AWS behaviour it restores; docs/emulator.md's "Emulator notes" list them:

* DescribeTargetGroups with Names of which none exists answers an empty list; AWS raises
  TargetGroupNotFound (the API reference: "TargetGroupNotFound: The specified target group does
  not exist"), and community.aws's elb_target_group, which relies on that error, crashes with
  "list index out of range".
* A target group that a listener rule (not a listener's default action) forwards to is described
  with no load balancer; AWS lists every load balancer that routes to it (ELBv2 API reference,
  TargetGroup.LoadBalancerArns), and our observability role, which finds a service's target
  group by its load balancer, stops on seed 004's host and path rules.
* A gp3 DB instance created without explicit IOPS and throughput is described without them; AWS
  describes gp3's baseline, which it applies (RDS User Guide, "gp3 storage": 3,000 IOPS and
  125 MiB/s below 400 GiB for PostgreSQL, 12,000 and 500 from 400 GiB), and amazon.aws's
  rds_instance fails on a re-run with KeyError 'Iops' (moto has the same gap; there the local
  inventory sends the baseline values instead).
* ModifyDBCluster with ManageMasterUserPassword=true makes no secret, so the cluster has no
  MasterUserSecret (CreateDBCluster makes one); AWS makes the secret on modify as on create (RDS
  User Guide, "Password management with Amazon RDS and AWS Secrets Manager": "turn on
  ... when you modify a DB cluster"), and our rds role, which turns it on after creating the
  cluster, would change it on every run.
* An Aurora cluster's endpoints move after its creation, from the AWS-style name CreateDBCluster
  answers to the address of MiniStack's own database; on AWS a cluster's endpoint never changes
  (RDS User Guide, "Amazon Aurora endpoint connections"), and the env file's DATABASE_HOST, read
  from it, would change on every run. Patched to keep the first endpoints described.
* A metric-math alarm (PutMetricAlarm with Metrics) is stored without its Metrics and with a
  made-up Statistic "Average" and Period 60; AWS keeps the Metrics and describes no single-metric
  fields for it (CloudWatch API reference, MetricAlarm: "Metrics: an array of MetricDataQuery
  structures, used in an alarm based on a metric math expression"). Our observability role
  would otherwise update the running-below-desired alarms on every run.
* Dashboards cannot be tagged (TagResource, UntagResource and ListTagsForResource answer
  ResourceNotFound for a dashboard ARN, and PutDashboard drops its Tags); AWS tags alarms, dashboards, metric streams and
  Contributor Insights rules (CloudWatch API reference, TagResource).
* A security group's rules are described one IpPermission per authorization call, so a port
  opened to many ranges in several calls appears several times; AWS describes one IpPermission per
  protocol and port range, with every source in it (EC2 API reference, IpPermission).
* A NAT gateway is described without its addresses (an empty natGatewayAddressSet), though it
  was created with an Elastic IP; AWS describes the allocation, public and private IP and network
  interface of each (EC2 API reference, NatGatewayAddress), and amazon.aws's
  ec2_vpc_nat_gateway fails with "list index out of range" when it deletes one.
* The default VPC has its internet gateway attached, but its main route table holds only the local
  route; AWS adds one that sends 0.0.0.0/0 to that gateway (VPC User Guide, "Default VPCs": "a
  route in the main route table that points all traffic (0.0.0.0/0) to the internet gateway"),
  and our vpc role, which adopts the default subnets as public ones (vpc_existing: default),
  refuses a public subnet without it.
* A task that a completed deployment replaced stops with stop code UserInitiated and the reason
  "Deployment completed", as if a person had stopped it; AWS stops it as the service scheduler,
  stop code ServiceSchedulerInitiated, reason "Scaling activity initiated by (deployment
  ecs-svc/...)" (ECS Developer Guide, "Stopped tasks errors"), which our runbooks know as the
  normal end of a release.
* Application Auto Scaling does not exist at all (every call answers HTTP 400 with no body): a
  small in-memory service of ours answers nine calls, those our ecs_service role makes among them
  (Register/Describe/Deregister ScalableTargets, Put/Describe/Delete ScalingPolicies,
  Put/Describe/Delete ScheduledActions) as the API reference describes them, including
  ObjectNotFoundException for a missing target and the ECS service having to exist.

And one that is not about AWS: every request is recorded, as moto's MOTO_ENABLE_RECORDING does,
and served on moto's own recorder paths (/moto-api/recorder/download-recording,
/moto-api/recorder/reset-recording, /moto-api/reset), so the tests' read-only witness (0
mutating calls) and reset work on either engine without knowing which one answers.
"""

import asyncio
import base64
import json
import os
import re
import sys
import threading
import time

RECORDING = os.environ["WANZAMI_RECORDING"]
_ministack = None  # ministack.app, imported in main() once the environment is final
_recording_lock = threading.Lock()


# -- The recorder ---------------------------------------------------------------------------------

def _record(scope, body):
    headers = {}
    for name, value in scope.get("headers") or []:
        headers[name.decode("latin-1").title()] = value.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    host = headers.get("Host", "127.0.0.1")
    url = f"http://{host}{scope['path']}" + (f"?{query}" if query else "")
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    entry = {"module": "ministack", "method": scope["method"], "url": url, "headers": headers,
             "body": text, "body_encoded": encoded}
    with _recording_lock, open(RECORDING, "a", encoding="utf-8") as recording:
        recording.write(json.dumps(entry) + "\n")


async def _answer(send, status, body=b"", content_type="application/json"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive):
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replayed


def recording_app(inner):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return await inner(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if path == "/moto-api/recorder/download-recording":
            with _recording_lock, open(RECORDING, "rb") as recording:
                return await _answer(send, 200, recording.read(), "text/plain")
        if path == "/moto-api/recorder/reset-recording" and method == "POST":
            with _recording_lock:
                open(RECORDING, "w").close()
            return await _answer(send, 200)
        if path == "/moto-api/reset" and method == "POST":
            await asyncio.to_thread(_ministack._reset_all_state)
            _autoscaling.clear()
            with _recording_lock:
                open(RECORDING, "w").close()
            return await _answer(send, 200)
        if path.startswith(("/_ministack/", "/_localstack/")) or path == "/health":
            return await inner(scope, receive, send)
        body = await _read_body(receive)
        _record(scope, body)
        if _scope_of(scope) == "application-autoscaling":
            status, payload = _autoscaling.handle(scope, body)
            return await _answer(send, status, json.dumps(payload).encode(), "application/x-amz-json-1.1")
        return await inner(scope, _replay(body, receive), send)
    return app


def _scope_of(scope):
    for name, value in scope.get("headers") or []:
        if name.lower() == b"authorization":
            match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", value.decode("latin-1"))
            return match.group(1) if match else None
    return None


def _replace(module, name, new):
    """Put new in place of module.name, in the module and in its action tables (dicts of handlers
    built at import, which hold the function itself rather than its name)."""
    original = getattr(module, name)
    setattr(module, name, new)
    for table in vars(module).values():
        if isinstance(table, dict):
            for action, handler in list(table.items()):
                if handler is original:
                    table[action] = new


# -- DescribeTargetGroups(Names=[missing]) raises TargetGroupNotFound, as on AWS -------------------

def _patch_target_groups():
    from ministack.services import alb

    original = alb._describe_tgs

    def describe_tgs(params):
        names = alb._parse_member_list(params, "Names")
        known = {tg["TargetGroupName"] for tg in alb._tgs.values()}
        missing = [name for name in names if name not in known]
        if missing:
            return alb._error("TargetGroupNotFound", f"One or more target groups not found: {', '.join(missing)}", 400)
        return original(params)
    _replace(alb, "_describe_tgs", describe_tgs)


# -- A target group routed to by a listener rule belongs to that rule's load balancer ---------------

def _patch_rule_target_groups():
    from ministack.services import alb

    def forwarded(actions):
        for action in actions or []:
            if action.get("TargetGroupArn"):
                yield action["TargetGroupArn"]
            for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
                yield group.get("TargetGroupArn")

    def with_rule_load_balancers(original):
        def handler(params):
            response = original(params)
            # Inside MiniStack's dispatch, so the stores answer for the request's account and region.
            for rule in list(alb._rules.values()):
                listener = alb._listeners.get(rule.get("ListenerArn"))
                for tg_arn in forwarded(rule.get("Actions")):
                    group = alb._tgs.get(tg_arn)
                    if listener and group is not None and listener["LoadBalancerArn"] not in group["LoadBalancerArns"]:
                        group["LoadBalancerArns"].append(listener["LoadBalancerArn"])
            return response
        return handler
    for name in ("_create_rule", "_modify_rule"):
        _replace(alb, name, with_rule_load_balancers(getattr(alb, name)))


# -- A load balancer is in the VPC of its subnets --------------------------------------------------

def _patch_load_balancer_vpc():
    from ministack.services import alb
    from ministack.services import ec2

    create_lb = alb._create_lb

    def create_lb_in_its_subnets_vpc(params):
        # MiniStack puts every load balancer in vpc-00000001 (the default VPC) unless told a VpcId,
        # which CreateLoadBalancer does not take: AWS derives it from the subnets.
        subnets = alb._parse_member_list(params, "Subnets")
        vpcs = {(ec2._subnets.get(s) or {}).get("VpcId") for s in subnets} - {None}
        if len(vpcs) == 1 and "VpcId" not in params:
            params = dict(params, VpcId=[vpcs.pop()])
        return create_lb(params)
    _replace(alb, "_create_lb", create_lb_in_its_subnets_vpc)


# -- gp3 DB instances are described with the baseline AWS applies -----------------------------------

def _patch_gp3_baseline():
    from ministack.services import rds

    original = rds._instance_xml

    def instance_xml(instance):
        if instance.get("StorageType") == "gp3" and not instance.get("Iops"):
            small = int(instance.get("AllocatedStorage") or 0) < 400
            instance = dict(instance, Iops=3000 if small else 12000,
                            StorageThroughput=instance.get("StorageThroughput") or (125 if small else 500))
        return original(instance)
    _replace(rds, "_instance_xml", instance_xml)


# -- RDS: ModifyDBCluster(ManageMasterUserPassword) makes the managed secret ------------------------

def _patch_cluster_managed_password():
    from ministack.services import rds

    modify_db_cluster = rds._modify_db_cluster

    def modify_db_cluster_with_secret(params):
        response = modify_db_cluster(params)
        if response[0] != 200 or rds._p(params, "ManageMasterUserPassword") != "true":
            return response
        cluster = rds._clusters.get(rds._p(params, "DBClusterIdentifier"))
        if cluster is not None and not cluster.get("MasterUserSecret"):
            password = rds._generate_master_user_password()
            arn = rds.secretsmanager.create_secret_in_process(
                f"rds!cluster-{rds.new_uuid()}",
                json.dumps({"username": cluster.get("MasterUsername"), "password": password}),
                description=f"Secret managed by RDS for DB cluster {cluster['DBClusterIdentifier']}")
            cluster["MasterUserSecret"] = {
                "SecretArn": arn, "SecretStatus": "active",
                "KmsKeyId": rds._p(params, "MasterUserSecretKmsKeyId") or (
                    f"arn:aws:kms:{rds.get_region()}:{rds.get_account_id()}:key/aws-secretsmanager-default")}
            # The same change of password as a MasterUserPassword would make.
            rds._apply_cluster_master_password_change(cluster, password)
        return response
    _replace(rds, "_modify_db_cluster", modify_db_cluster_with_secret)


# -- RDS: an Aurora cluster keeps the endpoints it was first described with --------------------------

def _patch_cluster_endpoints():
    from ministack.services import rds

    cluster_xml = rds._cluster_xml

    def stable_cluster_xml(cluster):
        first = cluster.setdefault("_wanzami_first_endpoints", {})
        for key in ("Endpoint", "ReaderEndpoint"):
            if not first.get(key) and cluster.get(key):
                first[key] = cluster[key]
        return cluster_xml(dict(cluster, **first))
    _replace(rds, "_cluster_xml", stable_cluster_xml)


# -- CloudWatch: metric-math alarms keep their Metrics; dashboards take tags -------------------------

_SINGLE_METRIC_FIELDS = ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Dimensions", "Unit")


def _patch_cloudwatch():
    from ministack.services import cloudwatch

    put_metric_alarm = cloudwatch._put_metric_alarm

    def put_metric_alarm_with_metrics(params, cbor_data, is_cbor, is_json=False):
        response = put_metric_alarm(params, cbor_data, is_cbor, is_json)
        metrics = (cbor_data or {}).get("Metrics") if (is_cbor or is_json) else None
        alarm = cloudwatch._alarms.get((cbor_data or {}).get("AlarmName", ""))
        if metrics and alarm is not None:
            for field in _SINGLE_METRIC_FIELDS:
                alarm.pop(field, None)
            alarm["Metrics"] = metrics
        return response
    _replace(cloudwatch, "_put_metric_alarm", put_metric_alarm_with_metrics)

    validate_alarm_tag_arn = cloudwatch._validate_alarm_tag_arn

    def validate_tag_arn(arn, is_json=False, is_cbor=False):
        # A dashboard's ARN has no region: arn:aws:cloudwatch::ACCOUNT:dashboard/NAME.
        prefix = f"arn:aws:cloudwatch::{cloudwatch.get_account_id()}:dashboard/"
        if arn.startswith(prefix) and arn[len(prefix):] in cloudwatch._dashboards:
            return None
        return validate_alarm_tag_arn(arn, is_json=is_json, is_cbor=is_cbor)
    _replace(cloudwatch, "_validate_alarm_tag_arn", validate_tag_arn)

    put_dashboard = cloudwatch._put_dashboard

    def put_dashboard_with_tags(params, cbor_data, is_cbor, is_json=False):
        # PutDashboard's Tags apply when it creates the dashboard; later ones are ignored.
        name = (cbor_data or {}).get("DashboardName", "") if (is_cbor or is_json) else ""
        is_new = name not in cloudwatch._dashboards
        response = put_dashboard(params, cbor_data, is_cbor, is_json)
        tags = (cbor_data or {}).get("Tags") if (is_cbor or is_json) else None
        if is_new and tags and name in cloudwatch._dashboards:
            arn = f"arn:aws:cloudwatch::{cloudwatch.get_account_id()}:dashboard/{name}"
            cloudwatch._resource_tags[arn] = {t["Key"]: t.get("Value", "") for t in tags}
        return response
    _replace(cloudwatch, "_put_dashboard", put_dashboard_with_tags)


# -- EC2: one IpPermission per protocol and port range ------------------------------------------------

_SOURCES = ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs")


def _merged_permissions(permissions):
    merged = {}
    for permission in permissions or []:
        key = (permission.get("IpProtocol"), permission.get("FromPort"), permission.get("ToPort"))
        into = merged.setdefault(key, dict(permission, **{source: [] for source in _SOURCES}))
        for source in _SOURCES:
            into[source].extend(entry for entry in permission.get(source) or [] if entry not in into[source])
    return list(merged.values())


def _patch_security_group_permissions():
    from ministack.services import ec2

    sg_xml = ec2._sg_xml

    def merged_sg_xml(group):
        return sg_xml(dict(group, IpPermissions=_merged_permissions(group.get("IpPermissions")),
                           IpPermissionsEgress=_merged_permissions(group.get("IpPermissionsEgress"))))
    _replace(ec2, "_sg_xml", merged_sg_xml)


# -- EC2: NAT gateways are described with their addresses --------------------------------------------

def _patch_nat_gateway_addresses():
    from ministack.services import ec2

    def addresses_xml(nat):
        # The stores are scoped by the request's account and region: read their raw items.
        address = next((a for (_, _, allocation), a in ec2._addresses._data.items()
                        if allocation == nat.get("AllocationId")), None)
        if not nat.get("AllocationId") or address is None:
            return "<natGatewayAddressSet/>"
        # The private address and network interface AWS gives the gateway in its subnet.
        eni = "eni-" + nat["NatGatewayId"][4:21]
        return ("<natGatewayAddressSet><item>"
                f"<allocationId>{nat['AllocationId']}</allocationId><networkInterfaceId>{eni}</networkInterfaceId>"
                f"<privateIp>10.0.0.{int(nat['NatGatewayId'][-2:], 16) % 250 + 4}</privateIp>"
                f"<publicIp>{address['PublicIp']}</publicIp><isPrimary>true</isPrimary><status>succeeded</status>"
                "</item></natGatewayAddressSet>")

    def with_addresses(original):
        def handler(params):
            status, headers, body = original(params)
            if status != 200:
                return status, headers, body
            text = body.decode("utf-8")
            out, position = [], 0
            for match in re.finditer(r"<natGatewayId>([^<]+)</natGatewayId>", text):
                nat = next((n for (_, _, nat_id), n in ec2._nat_gateways._data.items() if nat_id == match.group(1)), None)
                empty = text.find("<natGatewayAddressSet/>", match.end())
                if nat is None or empty < 0:
                    continue
                out.append(text[position:empty] + addresses_xml(nat))
                position = empty + len("<natGatewayAddressSet/>")
            out.append(text[position:])
            return status, headers, "".join(out).encode("utf-8")
        return handler
    _replace(ec2, "_create_nat_gateway", with_addresses(ec2._create_nat_gateway))
    _replace(ec2, "_describe_nat_gateways", with_addresses(ec2._describe_nat_gateways))


# -- EC2: the default VPC's main route table sends 0.0.0.0/0 to its internet gateway ----------------

def _patch_default_vpc_internet_route():
    from ministack.services import ec2

    init_defaults = ec2._init_defaults

    def with_internet_route():
        init_defaults()
        table = ec2._route_tables.get(ec2._DEFAULT_RTB_ID)
        if table is not None and not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table["Routes"]):
            table["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": ec2._DEFAULT_IGW_ID,
                                    "State": "active", "Origin": "CreateRouteTable"})
    _replace(ec2, "_init_defaults", with_internet_route)
    # The scope made at import is made again, with the route, on its first request.
    ec2._default_initialized_scopes.clear()


# -- ECS: tasks a deployment replaced are stopped by the scheduler ---------------------------------

def _patch_replaced_tasks():
    from ministack.services import ecs

    mark_task_stopped = ecs._mark_task_stopped

    def mark_replaced_task_stopped(task_arn, task, reason, stop_code, exit_code=None):
        if reason == "Deployment completed" and stop_code == "UserInitiated":
            deployment = task.get("_deployment_id") or "ecs-svc/0"
            reason, stop_code = f"Scaling activity initiated by (deployment {deployment})", "ServiceSchedulerInitiated"
        return mark_task_stopped(task_arn, task, reason, stop_code, exit_code)
    _replace(ecs, "_mark_task_stopped", mark_replaced_task_stopped)


# -- ECS: UpdateService changes tag propagation ------------------------------------------------------

def _patch_service_tag_propagation():
    from ministack.services import ecs

    update_service = ecs._update_service

    def update_service_with_propagation(data):
        # UpdateService takes propagateTags and enableECSManagedTags (for tasks started afterwards);
        # MiniStack ignores both, so an adopted service never showed our propagation.
        fields = {k: data[k] for k in ("propagateTags", "enableECSManagedTags") if k in data}
        cluster = ecs._resolve_cluster_name(data.get("cluster", "default"))
        ref = ecs._resolve_service_ref(data.get("service", ""))
        service = ecs._services.get(f"{cluster}/{ref[0]}") if fields and cluster and ref else None
        if service is not None:
            service.update(fields)
        return update_service(data)
    _replace(ecs, "_update_service", update_service_with_propagation)


# -- Application Auto Scaling, which MiniStack lacks ----------------------------------------------

class AutoScaling:
    """Scalable targets, scaling policies and scheduled actions, in memory, per region."""

    def __init__(self):
        self.targets, self.policies, self.scheduled = {}, {}, {}

    def clear(self):
        self.__init__()

    @staticmethod
    def _region(scope):
        for name, value in scope.get("headers") or []:
            if name.lower() == b"authorization":
                match = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", value.decode("latin-1"))
                if match:
                    return match.group(1)
        return "us-east-1"

    def handle(self, scope, body):
        target = dict((k.decode().lower(), v.decode()) for k, v in scope.get("headers") or []).get("x-amz-target", "")
        operation = target.rsplit(".", 1)[-1]
        request = json.loads(body or b"{}")
        handler = getattr(self, f"op_{operation}", None)
        if handler is None:
            return 400, {"__type": "InvalidAction", "message": f"{operation} is not emulated"}
        try:
            return 200, handler(self._region(scope), request)
        except _Error as error:
            return 400, {"__type": error.code, "message": error.message}

    @staticmethod
    def _account():
        return os.environ.get("MINISTACK_ACCOUNT_ID", "000000000000")

    def _key(self, region, request):
        return (region, request["ServiceNamespace"], request["ResourceId"], request["ScalableDimension"])

    def _require_service(self, region, request):
        # AWS: RegisterScalableTarget of a missing ECS service raises ValidationException.
        if request["ServiceNamespace"] != "ecs":
            return
        _, cluster, service = request["ResourceId"].split("/", 2)
        from ministack.services import ecs
        # The store is scoped by the request's account and region, which only MiniStack's own
        # dispatch sets: read its raw items, keyed (account, region, name).
        found = [s for (_, in_region, _), s in ecs._services._data.items()
                 if in_region == region and s.get("serviceName") == service
                 and s.get("clusterArn", "").endswith(f"/{cluster}") and s.get("status") == "ACTIVE"]
        if not found:
            raise _Error("ValidationException", f"ECS service doesn't exist: {request['ResourceId']}")

    def op_RegisterScalableTarget(self, region, request):
        key = self._key(region, request)
        existing = self.targets.get(key)
        if existing is None:
            self._require_service(region, request)
            arn = (f"arn:aws:application-autoscaling:{region}:{self._account()}:scalable-target/"
                   f"{abs(hash(key)) % 10**20:020d}")
            existing = {"ServiceNamespace": request["ServiceNamespace"], "ResourceId": request["ResourceId"],
                        "ScalableDimension": request["ScalableDimension"], "CreationTime": time.time(),
                        "RoleARN": request.get("RoleARN") or (
                            f"arn:aws:iam::{self._account()}:role/aws-service-role/ecs.application-autoscaling."
                            "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"),
                        "SuspendedState": {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                           "ScheduledScalingSuspended": False},
                        "ScalableTargetARN": arn}
            if "MinCapacity" not in request or "MaxCapacity" not in request:
                raise _Error("ValidationException", "MinCapacity and MaxCapacity are required for a new target")
        for field in ("MinCapacity", "MaxCapacity"):
            if field in request:
                existing[field] = request[field]
        if "SuspendedState" in request:
            existing["SuspendedState"].update(request["SuspendedState"])
        if existing["MinCapacity"] > existing["MaxCapacity"]:
            raise _Error("ValidationException", "Minimum capacity cannot be greater than maximum capacity")
        self.targets[key] = existing
        return {"ScalableTargetARN": existing["ScalableTargetARN"]}

    def _matching(self, table, region, request):
        ids = set(request.get("ResourceIds") or ([request["ResourceId"]] if request.get("ResourceId") else []))
        return [item for key, item in sorted(table.items(), key=lambda kv: str(kv[0]))
                if key[0] == region and key[1] == request["ServiceNamespace"]
                and (not ids or item["ResourceId"] in ids)
                and (not request.get("ScalableDimension") or item["ScalableDimension"] == request["ScalableDimension"])]

    def op_DescribeScalableTargets(self, region, request):
        return {"ScalableTargets": self._matching(self.targets, region, request)}

    def op_DeregisterScalableTarget(self, region, request):
        key = self._key(region, request)
        if key not in self.targets:
            raise _Error("ObjectNotFoundException", "No scalable target registered for service namespace: "
                         f"{request['ServiceNamespace']}, resource ID: {request['ResourceId']}, "
                         f"scalable dimension: {request['ScalableDimension']}")
        del self.targets[key]
        # AWS deletes the target's policies and scheduled actions with it.
        for table in (self.policies, self.scheduled):
            for other in [k for k in table if k[:4] == key]:
                del table[other]
        return {}

    def op_PutScalingPolicy(self, region, request):
        key = self._key(region, request)
        if key not in self.targets:
            raise _Error("ObjectNotFoundException", f"No scalable target registered for {request['ResourceId']}")
        policy_key = key + (request["PolicyName"],)
        arn = self.policies.get(policy_key, {}).get("PolicyARN") or (
            f"arn:aws:autoscaling:{region}:{self._account()}:scalingPolicy:{abs(hash(policy_key)) % 10**12:012d}:"
            f"resource/{request['ServiceNamespace']}/{request['ResourceId']}:policyName/{request['PolicyName']}")
        policy = {k: v for k, v in request.items()}
        policy.update(PolicyARN=arn, CreationTime=time.time(), Alarms=[],
                      PolicyType=request.get("PolicyType", "StepScaling"))
        self.policies[policy_key] = policy
        return {"PolicyARN": arn, "Alarms": []}

    def op_DescribeScalingPolicies(self, region, request):
        policies = self._matching(self.policies, region, request)
        names = set(request.get("PolicyNames") or [])
        return {"ScalingPolicies": [p for p in policies if not names or p["PolicyName"] in names]}

    def op_DeleteScalingPolicy(self, region, request):
        policy_key = self._key(region, request) + (request["PolicyName"],)
        if policy_key not in self.policies:
            raise _Error("ObjectNotFoundException", f"No scaling policy found for {request['PolicyName']}")
        del self.policies[policy_key]
        return {}

    def op_PutScheduledAction(self, region, request):
        key = self._key(region, request)
        if key not in self.targets:
            raise _Error("ObjectNotFoundException", f"No scalable target registered for {request['ResourceId']}")
        action_key = key + (request["ScheduledActionName"],)
        action = dict(request, CreationTime=time.time(), ScheduledActionARN=(
            f"arn:aws:autoscaling:{region}:{self._account()}:scheduledAction:{abs(hash(action_key)) % 10**12:012d}:"
            f"resource/{request['ServiceNamespace']}/{request['ResourceId']}:"
            f"scheduledActionName/{request['ScheduledActionName']}"))
        self.scheduled[action_key] = action
        return {}

    def op_DescribeScheduledActions(self, region, request):
        actions = self._matching(self.scheduled, region, request)
        names = set(request.get("ScheduledActionNames") or [])
        return {"ScheduledActions": [a for a in actions if not names or a["ScheduledActionName"] in names]}

    def op_DeleteScheduledAction(self, region, request):
        action_key = self._key(region, request) + (request["ScheduledActionName"],)
        if action_key not in self.scheduled:
            raise _Error("ObjectNotFoundException", f"No scheduled action found for {request['ScheduledActionName']}")
        del self.scheduled[action_key]
        return {}


class _Error(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


_autoscaling = AutoScaling()


def main():
    global _ministack
    import ministack.app as ministack_app

    _ministack = ministack_app
    for patch, says in (
        (_patch_target_groups, "DescribeTargetGroups raises TargetGroupNotFound for a missing name"),
        (_patch_rule_target_groups, "a target group a listener rule forwards to lists that rule's load balancer"),
        (_patch_load_balancer_vpc, "a load balancer is in the VPC of its subnets"),
        (_patch_gp3_baseline, "gp3 DB instances are described with AWS's baseline IOPS and throughput"),
        (_patch_cluster_managed_password, "ModifyDBCluster(ManageMasterUserPassword) makes the managed secret"),
        (_patch_cluster_endpoints, "an Aurora cluster keeps the endpoints it was first described with"),
        (_patch_cloudwatch, "metric-math alarms keep their Metrics; dashboards take tags"),
        (_patch_security_group_permissions, "security group rules are described one IpPermission per port range"),
        (_patch_nat_gateway_addresses, "NAT gateways are described with their addresses"),
        (_patch_default_vpc_internet_route, "the default VPC's main route table sends 0.0.0.0/0 to its internet gateway"),
        (_patch_replaced_tasks, "tasks a deployment replaced are stopped by the service scheduler"),
        (_patch_service_tag_propagation, "UpdateService changes a service's tag propagation"),
    ):
        patch()
        print(f"wanzami: {says}, as on AWS", flush=True)
    print("wanzami: Application Auto Scaling served in memory (MiniStack has none)", flush=True)
    # main() serves the module's global `app`: wrap it with the recorder.
    ministack_app.app = recording_app(ministack_app.app)
    print(f"wanzami: every request recorded to {RECORDING}", flush=True)
    sys.argv = [sys.argv[0]]
    ministack_app.main()


if __name__ == "__main__":
    main()
