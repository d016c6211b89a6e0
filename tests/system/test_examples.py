"""The example inventories (inventories/examples), each the system of one seed on the same
roles by data alone. Each, on its own emulator: a dry run on the empty account only reads,
site.yml converges, converges again with nothing changed, a dry run of the converged account
changes nothing and only reads; then what the emulator holds is checked against the seed.

One class per example: `make test` gives each class to one xdist worker (--dist loadscope)
and runs its tests in order."""

import base64
import json

import pytest

from tests.conftest import run_playbook
from tests.emulator import Emulator

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"

# What the emulator cannot do as AWS does, worked around here and not in the inventories
# (docs/emulator.md, "Emulator notes"): it applies the TLS-only bucket policy to its own plain-HTTP
# requests, keeps no tags on CloudWatch dashboards, rejects backup and maintenance windows
# that merely touch (seed 003's 03:00-04:00 and Sun 04:00-05:00), and leaves gp3's baseline
# IOPS and throughput out of its answers unless they were given (AWS refuses them below 400 GB).
EMULATOR_VARS = {"s3_envfile_tls_only": False, "observability_dashboard_tags": {}, "rds_backup_window": "02:00-03:00",
                 "rds_iops": 3000, "rds_storage_throughput": 125}


@pytest.fixture(scope="class")
def emulator(request, tmp_path_factory):
    """The example's own emulator (moto, or the class's engine), for its class."""
    emu = Emulator(tmp_path_factory.mktemp(f"emulator-{request.cls.example}"), engine=request.cls.engine).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="class")
def extra_vars(request, emulator):
    # MiniStack needs none of moto's workarounds: the inventory goes as it is.
    extra = dict(EMULATOR_VARS if request.cls.engine == "moto" else {}, **request.cls.extra)
    # The examples' journeys judge the environment at its inventory's counts, autoscaling registered; nothing is
    # pushed, so without this every service would wait at 0 tasks for its first image (test_site.py's journey).
    extra.setdefault("ecs_service_wait_for_first_image", False)
    if request.cls.certificate_domain:
        # The example's HTTPS listener takes a certificate the emulator's ACM issued.
        acm = emulator.client("acm", request.cls.region)
        domain = request.cls.certificate_domain
        certificate = acm.request_certificate(DomainName=domain, SubjectAlternativeNames=[f"*.{domain}"])["CertificateArn"]
        extra.update(ecs_service_certificate_arn=certificate, ec2_asg_certificate_arn=certificate)
    return ["--extra-vars", json.dumps(extra)]


@pytest.fixture(scope="class")
def runs():
    """The runs of one class, by name, for the checks that read their output."""
    return {}


def journey(example, region, checks, certificate_domain=None, before_converge=None, after_converge=None, engine="moto",
            gaps="", **extra):
    """The test class of one example: the journey, then `checks(emulator, converge_run, region)`.
    before_converge(emulator, region) does what a person does first (secrets.yml's parameters);
    after_converge(emulator, region) changes the account behind the playbook's back, as AWS or a
    person would, before the second converge and the dry run, which must leave it alone. engine: the
    emulator (moto, or ministack: scripts/emulator --engine ministack); gaps: that engine's known gaps
    (docs/emulator.md, "Emulator notes") that make a second converge change things, which skip the two
    converged-account tests with that reason. extra:
    more extra vars (what a person gives on the command line)."""

    class Journey:
        def site(self, emulator, extra_vars, *args):
            env = dict(emulator.env(), AWS_DEFAULT_REGION=region)
            return run_playbook(SITE, *extra_vars, *args, inventory=f"inventories/examples/{example}", env=env)

        def test_a_dry_run_on_the_empty_account_only_reads(self, emulator, extra_vars):
            emulator.clear_recording()
            run = self.site(emulator, extra_vars, "--check")
            assert run.failed == 0 and run.changed > 0, run
            assert emulator.mutating_calls() == []

        def test_it_converges(self, emulator, extra_vars, runs):
            if before_converge:
                before_converge(emulator, region)
            runs["converge"] = self.site(emulator, extra_vars)
            assert runs["converge"].changed > 0
            if after_converge:
                after_converge(emulator, region)

        def test_it_converges_again_with_nothing_changed(self, emulator, extra_vars):
            if gaps:
                pytest.skip(f"{engine} cannot hold a converged account still yet: {gaps}")
            run = self.site(emulator, extra_vars)
            assert run.changed == 0, run

        def test_a_dry_run_of_the_converged_account_changes_nothing_and_only_reads(self, emulator, extra_vars):
            if gaps:
                pytest.skip(f"{engine} cannot hold a converged account still yet: {gaps}")
            emulator.clear_recording()
            run = self.site(emulator, extra_vars, "--check", "--diff")
            assert run.changed == 0, run
            assert emulator.mutating_calls() == []
            assert emulator.calls(), "the dry run should have read the account"

        def test_the_account_holds_what_the_seed_describes(self, emulator, runs):
            checks(emulator, runs["converge"], region)

    Journey.example, Journey.region, Journey.certificate_domain, Journey.extra = example, region, certificate_domain, extra
    Journey.engine = engine
    Journey.__name__ = Journey.__qualname__ = f"TestExample_{example}" + ("" if engine == "moto" else f"_on_{engine}")
    return Journey


def by_name(items):
    return {next(t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"): item for item in items}


def vpc_of(ec2, name):
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    tiers = {}
    for subnet in subnets:
        tier = next(t["Value"] for t in subnet["Tags"] if t["Key"] == "tier")
        tiers.setdefault(tier, set()).add(subnet["CidrBlock"])
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]}
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["VpcId"] == vpc["VpcId"] and n["State"] != "deleted"]
    return vpc, subnets, tiers, groups, nats


def listeners_of(elbv2, alb_name):
    (alb,) = elbv2.describe_load_balancers(Names=[alb_name])["LoadBalancers"]
    found = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    return alb, {listener["Port"]: listener for listener in found}


def assert_https_with_redirect(listeners, certificate_arn):
    assert sorted(listeners) == [80, 443]
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert {k: redirect["RedirectConfig"][k] for k in ("Protocol", "Port", "StatusCode")} == {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    assert listeners[443]["Protocol"] == "HTTPS"
    assert [c["CertificateArn"] for c in listeners[443]["Certificates"]] == [certificate_arn]


def tracked(scaling, resource):
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
    return sorted((p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"],
                   p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
                   p["TargetTrackingScalingPolicyConfiguration"].get("ScaleOutCooldown"),
                   p["TargetTrackingScalingPolicyConfiguration"].get("ScaleInCooldown")) for p in policies)


def capacity(scaling, resource):
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in scaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]]


def secret_refs(ecs, family):
    container = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["containerDefinitions"][0]
    return {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}


def check_seed_003(emulator, converge, region):
    ec2, elbv2, ecs, rds, ecr, logs, scaling, cloudwatch = (emulator.client(s, region) for s in (
        "ec2", "elbv2", "ecs", "rds", "ecr", "logs", "application-autoscaling", "cloudwatch"))
    # Network: public 10.0.1-2, private 10.0.10-11, one NAT gateway that the private route goes through.
    vpc, _, tiers, groups, nats = vpc_of(ec2, "fckdoomscroll-vpc")
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert tiers == {"public": {"10.0.1.0/24", "10.0.2.0/24"}, "private": {"10.0.10.0/24", "10.0.11.0/24"}}
    assert len(nats) == 1
    routes = [r for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
              for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert nats[0]["NatGatewayId"] in [r.get("NatGatewayId") for r in routes]
    # Tasks: 3000 from the ALB only; out only 443 anywhere and 5432 to the database; the database sends nothing.
    api, db, alb_group = groups["fckdoomscroll-api"], groups["fckdoomscroll-db"], groups["fckdoomscroll-alb"]
    assert [(p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in api["IpPermissions"]] == [
        (3000, [alb_group["GroupId"]])]
    egress = {(p["FromPort"], tuple(r["CidrIp"] for r in p["IpRanges"]), tuple(g["GroupId"] for g in p["UserIdGroupPairs"]))
              for p in api["IpPermissionsEgress"]}
    assert egress == {(443, ("0.0.0.0/0",), ()), (5432, (), (db["GroupId"],))}
    assert "fckdoomscroll-valkey" not in groups, "no cache, no cache group"
    assert db["IpPermissionsEgress"] == []
    assert sorted(p["FromPort"] for p in alb_group["IpPermissions"]) == [80, 443]
    # HTTPS with the certificate, :80 redirected; target group ecs-targets on 3000, /api/health 30/5/2/3.
    certificate = emulator.client("acm", region).list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    _, listeners = listeners_of(elbv2, "fckdoomscroll-alb")
    assert_https_with_redirect(listeners, certificate)
    (tg,) = elbv2.describe_target_groups(Names=["ecs-targets"])["TargetGroups"]
    assert (tg["Port"], tg["TargetType"], tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"],
            tg["HealthCheckTimeoutSeconds"], tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (
        3000, "ip", "/api/health", 30, 5, 2, 3)
    assert listeners[443]["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    # The service: 2 tasks of fckdoomscroll (0.5 vCPU / 1 GB, app on 3000), private subnets, CPU 70 % for 2-10.
    (service,) = ecs.describe_services(cluster="fckdoomscroll-prod", services=["fckdoomscroll-service"])["services"]
    assert service["desiredCount"] == 2
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    definition = ecs.describe_task_definition(taskDefinition="fckdoomscroll")["taskDefinition"]
    container = definition["containerDefinitions"][0]
    assert (definition["cpu"], definition["memory"], container["name"], container["portMappings"][0]["containerPort"]) == (
        "512", "1024", "app", 3000)
    resource = "service/fckdoomscroll-prod/fckdoomscroll-service"
    assert capacity(scaling, resource) == [(2, 10)]
    assert tracked(scaling, resource) == [("ECSServiceAverageCPUUtilization", 70.0, 60, 300)]
    # PostgreSQL 16 Multi-AZ on gp3, the seed's maintenance window (the backup one moved: EMULATOR_VARS), parameters.
    (database,) = rds.describe_db_instances(DBInstanceIdentifier="fckdoomscroll-db")["DBInstances"]
    assert (database["Engine"], database["EngineVersion"].split(".")[0], database["DBInstanceClass"], database["MultiAZ"]) == (
        "postgres", "16", "db.t4g.micro", True)
    assert (database["StorageType"], database["AllocatedStorage"], database["MaxAllocatedStorage"]) == ("gp3", 20, 100)
    assert (database["BackupRetentionPeriod"], database["PreferredMaintenanceWindow"], database["StorageEncrypted"],
            database["DeletionProtection"], database["MasterUsername"]) == (7, "sun:04:00-sun:05:00", True, True, "fckadmin")
    (group,) = database["DBParameterGroups"]
    parameters = {p["ParameterName"]: p.get("ParameterValue") for p in rds.describe_db_parameters(
        DBParameterGroupName=group["DBParameterGroupName"], Source="user")["Parameters"]}
    wanted = {"max_connections": "100", "log_statement": "ddl", "log_min_duration_statement": "1000", "rds.force_ssl": "1"}
    assert {k: parameters.get(k) for k in wanted} == wanted
    # Secrets Manager: the database's password (RDS's own secret) and the app's two, by reference.
    secret = database["MasterUserSecret"]["SecretArn"]
    app = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fckdoomscroll"
    assert secret_refs(ecs, "fckdoomscroll") == {
        "DATABASE_USERNAME": f"{secret}:username::", "DATABASE_PASSWORD": f"{secret}:password::",
        "COGNITO_CLIENT_SECRET": f"{app}/cognito-AbCdEf:client_secret::", "SESSION_SECRET": f"{app}/jwt-AbCdEf:session_secret::"}
    # ECR immutable, scanned, with its lifecycle; 30-day logs; the dashboard and seed 003's alarms.
    (repository,) = ecr.describe_repositories(repositoryNames=["fckdoomscroll/app"])["repositories"]
    assert (repository["imageTagMutability"], repository["imageScanningConfiguration"]["scanOnPush"]) == ("IMMUTABLE", True)
    rules = json.loads(ecr.get_lifecycle_policy(repositoryName="fckdoomscroll/app")["lifecyclePolicyText"])["rules"]
    assert sorted(r["selection"]["countNumber"] for r in rules) == [7, 10]
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/ecs/fckdoomscroll")["logGroups"]
    assert group["retentionInDays"] == 30
    assert [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]] == ["fckdoomscroll-dashboard"]
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert any(a["MetricName"] == "CPUUtilization" and a["Threshold"] == 80 for a in alarms.values())


CLOUDFLARE_V4 = {"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
                 "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17",
                 "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22"}


def check_seed_004(emulator, converge, region):
    ec2, elbv2, ecs, rds, events, scaling, logs = (emulator.client(s, region) for s in (
        "ec2", "elbv2", "ecs", "rds", "events", "application-autoscaling", "logs"))
    prefix, cluster = "revendiste-production", "revendiste-production-cluster"
    account = emulator.client("sts", region).get_caller_identity()["Account"]
    # No NAT: public/private/database subnets, the tasks in the public ones with public IPs.
    _, subnets, tiers, groups, nats = vpc_of(ec2, f"{prefix}-vpc")
    assert nats == []
    assert set(tiers) == {"public", "private", "database"}
    public = sorted(s["SubnetId"] for s in subnets if {"Key": "tier", "Value": "public"} in s["Tags"])
    # The ALB takes 80 and 443 from Cloudflare's ranges only.
    alb_group = groups[f"{prefix}-alb"]
    for permission in alb_group["IpPermissions"]:
        assert {r["CidrIp"] for r in permission["IpRanges"]} == CLOUDFLARE_V4, permission
        assert len(permission["Ipv6Ranges"]) == 7
    assert sorted(p["FromPort"] for p in alb_group["IpPermissions"]) == [80, 443]
    # HTTPS, :80 redirected, api.<domain> to the backend (/api/health), everything else to the frontend (/).
    certificate = emulator.client("acm", region).list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    alb, listeners = listeners_of(elbv2, f"{prefix}-alb")
    assert_https_with_redirect(listeners, certificate)
    groups_by_name = {t["TargetGroupName"]: t for t in elbv2.describe_target_groups()["TargetGroups"]}
    frontend, backend = groups_by_name["revendiste-prod-frontend"], groups_by_name["revendiste-prod-backend"]
    assert (frontend["Port"], frontend["HealthCheckPath"]) == (3000, "/")
    assert (backend["Port"], backend["HealthCheckPath"]) == (4000, "/api/health")
    assert listeners[443]["DefaultActions"][0]["TargetGroupArn"] == frontend["TargetGroupArn"]
    rules = [r for r in elbv2.describe_rules(ListenerArn=listeners[443]["ListenerArn"])["Rules"] if not r["IsDefault"]]
    assert [([c.get("Values") or c["HostHeaderConfig"]["Values"] for c in r["Conditions"]], r["Actions"][0]["TargetGroupArn"])
            for r in rules] == [([["api.revendiste.example"]], backend["TargetGroupArn"])]
    # Both services: public IPs, one on-demand task then Spot, CPU 70 / memory 80 between 1 and 10.
    services = ecs.describe_services(cluster=cluster, services=[f"{prefix}-frontend", f"{prefix}-backend"])["services"]
    assert [s["desiredCount"] for s in services] == [1, 5], "the autoscaler's count survives provisioning"
    for service in services:
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert (sorted(network["subnets"]), network["assignPublicIp"]) == (public, "ENABLED")
        assert service["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                                                        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0}]
        resource = f"service/{cluster}/{service['serviceName']}"
        assert capacity(scaling, resource) == [(1, 10)]
        assert [t[:2] for t in tracked(scaling, resource)] == [("ECSServiceAverageCPUUtilization", 70.0),
                                                               ("ECSServiceAverageMemoryUtilization", 80.0)]
    # Aurora Serverless v2 from 0.5 to 16 ACU in the database subnets, Performance Insights, its secret.
    (aurora,) = rds.describe_db_clusters(DBClusterIdentifier=f"{prefix}-db")["DBClusters"]
    assert aurora["Engine"] == "aurora-postgresql"
    assert aurora["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 16}
    (instance,) = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [f"{prefix}-db"]}])["DBInstances"]
    assert (instance["DBInstanceClass"], instance["PerformanceInsightsEnabled"]) == ("db.serverless", True)
    (subnet_group,) = rds.describe_db_subnet_groups(DBSubnetGroupName=aurora["DBSubnetGroup"])["DBSubnetGroups"]
    assert {s["SubnetIdentifier"] for s in subnet_group["Subnets"]} == {
        s["SubnetId"] for s in subnets if {"Key": "tier", "Value": "database"} in s["Tags"]}
    secret = aurora["MasterUserSecret"]["SecretArn"]
    assert secret_refs(ecs, f"{prefix}-backend")["DATABASE_PASSWORD"] == f"{secret}:password::"
    # The cron jobs: a light one on Spot every 15 minutes, a heavy one on demand daily, run by
    # EventBridge's own role, which may run tasks on this cluster only.
    iam = emulator.client("iam", region)
    events_role = iam.get_role(RoleName=f"{prefix}-ecs-events")["Role"]
    assert [s["Principal"] for s in events_role["AssumeRolePolicyDocument"]["Statement"]] == [{"Service": "events.amazonaws.com"}]
    statements = {s["Sid"]: s for s in iam.get_role_policy(
        RoleName=f"{prefix}-ecs-events", PolicyName="run-scheduled-tasks")["PolicyDocument"]["Statement"]}
    assert statements["RunTasksOnThisCluster"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{region}:{account}:cluster/{cluster}"}}
    jobs = {f"{prefix}-sync-payments": ("cron(0/15 * * * ? *)", ("256", "512"), "FARGATE_SPOT"),
            f"{prefix}-scrape-events": ("cron(0 6 * * ? *)", ("1024", "2048"), "FARGATE")}
    for rule_name, (schedule, size, provider) in jobs.items():
        assert events.describe_rule(Name=rule_name)["ScheduleExpression"] == schedule
        (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        assert target["RoleArn"] == events_role["Arn"]
        parameters = target["EcsParameters"]
        assert parameters["NetworkConfiguration"]["awsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
        assert [s["capacityProvider"] for s in parameters["CapacityProviderStrategy"]] == [provider]
        definition = ecs.describe_task_definition(taskDefinition=parameters["TaskDefinitionArn"])["taskDefinition"]
        assert (definition["cpu"], definition["memory"]) == size
    # 7-day logs; and the seed's outputs at the end of the run.
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{prefix}-")["logGroups"]
    assert sorted((g["logGroupName"], g["retentionInDays"]) for g in groups) == [
        (f"/ecs/{prefix}-{name}", 7) for name in ("backend", "cronjobs", "frontend")]
    summary = " ".join(converge.output.split())
    for output in (alb["DNSName"], aurora["Endpoint"], secret, f"Cluster {cluster}",
                   f"{account}.dkr.ecr.{region}.amazonaws.com/revendiste-backend",
                   f"{account}.dkr.ecr.{region}.amazonaws.com/revendiste-frontend"):
        assert output in summary, output


TestExample_private_nat_https = journey("private_nat_https", "us-east-1", check_seed_003, certificate_domain="example.com")
def autoscale_the_backend(emulator, region):
    """The autoscaler raises the backend to 5 tasks: provisioning must leave its count alone."""
    emulator.client("ecs", region).update_service(
        cluster="revendiste-production-cluster", service="revendiste-production-backend", desiredCount=5)


TestExample_public_aurora_cron = journey("public_aurora_cron", "sa-east-1", check_seed_004,
                                         certificate_domain="revendiste.example", after_converge=autoscale_the_backend)
# The same example on MiniStack, a second emulator written by others, with none of moto's workarounds.
TestExample_public_aurora_cron_on_ministack = journey("public_aurora_cron", "sa-east-1", check_seed_004,
                                                      certificate_domain="revendiste.example",
                                                      after_converge=autoscale_the_backend, engine="ministack")


def store_the_database_password(emulator, region):
    """What playbooks/secrets.yml does before the first site.yml of an environment (vault/asg.yml)."""
    emulator.client("ssm", region).put_parameter(
        Name="/wanzami/asg/DATABASE_PASSWORD", Value="not-a-real-password-1", Type="SecureString")


def check_seed_002_phase_2(emulator, converge, region):
    ec2, elbv2, autoscaling, rds, elasticache, iam = (emulator.client(s, region) for s in (
        "ec2", "elbv2", "autoscaling", "rds", "elasticache", "iam"))
    prefix = "wanzami-asg"
    _, subnets, tiers, groups, nats = vpc_of(ec2, f"{prefix}-vpc")
    assert nats == [] and set(tiers) == {"public", "private"}
    public = {s["SubnetId"] for s in subnets if {"Key": "tier", "Value": "public"} in s["Tags"]}
    # Two instances (min 2, max 4) on the pinned launch template version, behind the ALB with ELB health.
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{prefix}-api"])["AutoScalingGroups"]
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"], group["HealthCheckType"]) == (2, 2, 4, "ELB")
    assert set(group["VPCZoneIdentifier"].split(",")) == public
    template = group["LaunchTemplate"]
    (version,) = ec2.describe_launch_template_versions(
        LaunchTemplateName=f"{prefix}-api", Versions=[template["Version"]])["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert (data["InstanceType"], data["MetadataOptions"]["HttpTokens"]) == ("t4g.small", "required")
    assert "KeyName" not in data, "no SSH key: Session Manager"
    user_data = base64.b64decode(data["UserData"]).decode()
    assert f"IMAGE=123456789012.dkr.ecr.{region}.amazonaws.com/wanzami-backend:v1" in user_data
    assert "--env-file" in user_data and "-p 4000:4000" in user_data
    (tg,) = elbv2.describe_target_groups(Names=[f"{prefix}-api-tg"])["TargetGroups"]
    assert (tg["TargetType"], tg["Port"], tg["HealthCheckPath"]) == ("instance", 4000, "/api/health")
    assert group["TargetGroupARNs"] == [tg["TargetGroupArn"]]
    assert len(group["Instances"]) == 2
    certificate = emulator.client("acm", region).list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    alb, listeners = listeners_of(elbv2, f"{prefix}-api-alb")
    assert_https_with_redirect(listeners, certificate)
    # The instances may read the env file and exactly the secrets (DATABASE_URL and the app's).
    role = f"{prefix}-api-instance"
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    statements = {s["Sid"]: s for s in iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]["Statement"]}
    assert f"arn:aws:ssm:{region}:123456789012:parameter/wanzami/asg/DATABASE_URL" in statements["Secrets"]["Resource"]
    assert not [r for r in statements["Secrets"]["Resource"] if r.endswith("/DATABASE_PASSWORD")]
    # One db.t4g.micro, single-AZ, 7 days of backups, reachable from the instances' group only.
    (database,) = rds.describe_db_instances(DBInstanceIdentifier=f"{prefix}-db")["DBInstances"]
    assert (database["DBInstanceClass"], database["MultiAZ"], database["BackupRetentionPeriod"]) == ("db.t4g.micro", False, 7)
    db_group = groups[f"{prefix}-db"]
    assert groups[f"{prefix}-api"]["GroupId"] in [g["GroupId"] for p in db_group["IpPermissions"] for g in p["UserIdGroupPairs"]]
    # A small cache node, single-AZ, over TLS.
    (cache,) = elasticache.describe_replication_groups(ReplicationGroupId=f"{prefix}-cache")["ReplicationGroups"]
    assert (cache["CacheNodeType"], cache["TransitEncryptionEnabled"], cache["MultiAZ"]) == ("cache.t4g.micro", True, "disabled")
    assert f"ALB http://{alb['DNSName']}" in " ".join(converge.output.split())


TestExample_ec2_asg = journey("ec2_asg", "us-east-2", check_seed_002_phase_2, certificate_domain="wanzami.example",
                              before_converge=store_the_database_password, ec2_asg_image_tag="v1")


def check_seed_002_phase_1(emulator, converge, region):
    ec2, iam, dlm, route53 = (emulator.client(s, region) for s in ("ec2", "iam", "dlm", "route53"))
    name = "wanzami-phase1-api"
    vpc, _, tiers, groups, nats = vpc_of(ec2, "wanzami-phase1-vpc")
    assert nats == [] and set(tiers) == {"public"}
    # One instance reached through Session Manager: an instance profile with SSM's policy, no key pair, no port 22.
    (instance,) = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
                   for i in r["Instances"]]
    assert "KeyName" not in instance and instance["MetadataOptions"]["HttpTokens"] == "required"
    role = iam.list_instance_profiles_for_role(RoleName=f"{name}-instance")["InstanceProfiles"][0]
    assert instance["IamInstanceProfile"]["Arn"] == role["Arn"]
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=f"{name}-instance")["AttachedPolicies"]] == [
        "AmazonSSMManagedInstanceCore"]
    assert not [p for g in groups.values() for p in g["IpPermissions"] if p.get("FromPort", 0) <= 22 <= p.get("ToPort", -1)]
    assert sorted(p["FromPort"] for p in groups[name]["IpPermissions"]) == [80, 443]
    # Its Elastic IP, which site.yml prints for the DNS name.
    (address,) = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance["InstanceId"]]}])["Addresses"]
    assert f"at {address['PublicIp']}" in " ".join(converge.output.split())
    # The database's data volume: 50 GB, encrypted, at /dev/sdf; daily snapshots of both volumes on their own schedules.
    (data,) = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": [f"{name}-data"]}])["Volumes"]
    assert (data["Size"], data["Encrypted"], data["Attachments"][0]["Device"]) == (50, True, "/dev/sdf")
    schedules = {}
    for summary in dlm.get_lifecycle_policies()["Policies"]:
        details = dlm.get_lifecycle_policy(PolicyId=summary["PolicyId"])["Policy"]["PolicyDetails"]
        (schedule,) = details["Schedules"]
        schedules[details["TargetTags"][0]["Value"]] = (schedule["CreateRule"]["Times"], schedule["RetainRule"]["Count"])
    assert schedules == {f"{name}-root": (["05:00"], 7), f"{name}-data": (["03:00"], 14)}
    # GET /api/health on the Elastic IP every 30 s, and an alarm in us-east-1 after three failing minutes.
    (check,) = route53.list_health_checks()["HealthChecks"]
    config = check["HealthCheckConfig"]
    assert (config["IPAddress"], config["Port"], config["ResourcePath"], config["RequestInterval"]) == (
        address["PublicIp"], 80, "/api/health", 30)
    (alarm,) = emulator.client("cloudwatch", "us-east-1").describe_alarms()["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Period"], alarm["EvaluationPeriods"]) == (
        "AWS/Route53", "HealthCheckStatus", 60, 3)
    assert alarm["Dimensions"] == [{"Name": "HealthCheckId", "Value": check["Id"]}]


TestExample_ec2_phase1 = journey("ec2_phase1", "us-east-2", check_seed_002_phase_1)
