"""The local environment's journey on one emulator, from an empty account to day 2: provisioning, release,
on-call and the day-2 verbs share one provisioning and one release, in order.

Provisioning: a dry run on an empty account and dry-run releases there, provision (the services wait at 0 tasks
for their first image), re-provision (changed=0), a dry run of the converged account, everything checked against
the inventory and seed 000, the env file role alone, drift shown exactly and repaired.
Release: dry run, release, re-release, re-provision, a failing smoke test, a circuit-breaker rollback, a failing
and a passing migration, a held lock, two releases at once, rollback.yml, no secret at -vvv.
Then the runbooks and the day-2 verbs (status.yml, logs.yml, summary.yml, the alarm topic changing hands) on the
released environment; and last, every call of it against the operator's IAM policy. Each step is judged by what
the emulator holds and the calls it received. (site.yml releasing the first image in the same run is part of
test_init.py's journey, where the services wait for theirs.)

The emulator rolls deployments out at once and fails the ones a test asks it to (scripts/emulator_server.py,
Emulator.set_faults)."""

import json
import os
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import assert_the_operator_policy_allows_everything_recorded
from tests.conftest import run_playbook
from tests.system.test_secrets import vault_values

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"
PREFIX = "wanzami-local"
CLUSTER = f"{PREFIX}-cluster"
REPOSITORY = "wanzami-backend"
SERVICES = {f"{PREFIX}-backend-service": f"{PREFIX}-backend-task",
            f"{PREFIX}-worker-transcode-svc": f"{PREFIX}-worker-transcode",
            f"{PREFIX}-worker-cron-svc": f"{PREFIX}-worker-cron"}
RECORD = "/wanzami/local/release"
LOCK = "/wanzami/local/release-lock"
DEPLOY = "playbooks/deploy.yml"
ROLLBACK = "playbooks/rollback.yml"
DIGESTS = {}
VERBOSE = {}  # playbook -> the output of its run at -vvv


class Health:
    """A local HTTP server standing in for the load balancer: answers `status` once `gate` is open."""

    def __init__(self):
        self.status = 200
        self.gate = threading.Event()
        self.gate.set()
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                health.gate.wait(timeout=600)
                self.send_response(health.status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def health():
    server = Health()
    yield server
    server.server.shutdown()


def deploy(emulator, *args, playbook=DEPLOY, check=True):
    return run_playbook(playbook, *args, env=emulator.env(), check=check)


def revisions(emulator):
    """service -> family:revision it runs, and the PRIMARY deployment's."""
    ecs = emulator.client("ecs")
    found = ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]
    result = {}
    for service in found:
        primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
        assert primary["taskDefinition"] == service["taskDefinition"], service
        result[service["serviceName"]] = service["taskDefinition"].split("/")[-1]
    return result


def image_of(emulator, family_revision):
    definition = emulator.client("ecs").describe_task_definition(taskDefinition=family_revision)["taskDefinition"]
    return definition["containerDefinitions"][0]["image"]


def record(emulator):
    return json.loads(emulator.client("ssm").get_parameter(Name=RECORD)["Parameter"]["Value"])


def lock_exists(emulator):
    return bool(emulator.client("ssm").get_parameters(Names=[LOCK])["Parameters"])


COUNTS = {f"{PREFIX}-backend-service": 2, f"{PREFIX}-worker-transcode-svc": 1, f"{PREFIX}-worker-cron-svc": 1}


def counts(emulator):
    """service -> (desiredCount, runningCount), as the emulator holds them."""
    found = emulator.client("ecs").describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]
    return {s["serviceName"]: (s["desiredCount"], s["runningCount"]) for s in found}


def changed_tasks(run):
    """The names of the tasks a run reports as changed."""
    names, task = [], None
    for line in run.output.splitlines():
        if line.startswith("TASK ["):
            task = line[6:line.rindex("]")]
        elif line.startswith("changed: ") and task and (not names or names[-1] != task):
            names.append(task)
    return names


def by_name(items):
    return {next(t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"): item for item in items}


def test_dry_run_on_an_empty_account_is_read_only(emulator):
    emulator.reset()
    run = run_playbook(SITE, "--check", "--diff", env=emulator.env())
    assert run.failed == 0
    assert run.changed > 0, "a dry run of a new environment should report what it would create"
    assert emulator.mutating_calls() == []
    assert emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"] == []


@pytest.mark.parametrize(("playbook", "extra", "blockers"), [
    ("playbooks/deploy.yml", ["-e", "release_image_tag=v1", "-e", "release_smoke_test_url=auto"],
     ["image wanzami-backend:v1 is not in ECR repository wanzami-backend in us-east-2",
      "cluster wanzami-local-cluster does not exist"]),
    ("playbooks/rollback.yml", [], ["to_previous: there is no release record /wanzami/local/release: nothing to go back to"]),
])
def test_a_dry_run_release_on_an_empty_account_says_what_a_run_would_stop_at(emulator, playbook, extra, blockers):
    emulator.clear_recording()
    run = run_playbook(playbook, "--check", "--diff", *extra, env=emulator.env())
    assert run.failed == 0 and run.changed == 0, run
    text = " ".join(run.output.split())
    for blocker in blockers:
        assert f"A real run would fail now: {blocker}" in text, run
    assert emulator.mutating_calls() == []
    assert emulator.calls(), "the dry run should have read the account"


def test_provision_then_reprovision_changes_nothing_and_the_services_wait_for_their_first_image(emulator):
    # The database password reaches SSM from ansible-vault first, as in make demo.
    run_playbook("playbooks/secrets.yml", "--vault-password-file", "vault/local.password", env=emulator.env())
    first = run_playbook(SITE, env=emulator.env())
    assert first.changed > 0
    # The repository is empty: no service starts tasks that could only fail to pull.
    assert counts(emulator) == {name: (0, 0) for name in SERVICES}
    text = " ".join(first.output.split())
    assert f"Waiting for their first image (desired count 0, nothing pulls yet): {', '.join(SERVICES)}" in text, first
    assert "ansible-playbook playbooks/deploy.yml -i inventories/local -e release_image_tag=TAG" in text, first
    second = run_playbook(SITE, env=emulator.env())
    assert second.changed == 0, second
    assert counts(emulator) == {name: (0, 0) for name in SERVICES}


def test_dry_run_on_a_converged_account_is_read_only_and_clean(emulator):
    emulator.clear_recording()
    run = run_playbook(SITE, "--check", "--diff", env=emulator.env())
    assert run.changed == 0, run
    assert emulator.mutating_calls() == []
    assert emulator.calls(), "the dry run should have read the account"


def test_network_matches_the_local_inventory(emulator):
    ec2 = emulator.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]

    subnets = by_name(ec2.describe_subnets(Filters=in_vpc)["Subnets"])
    assert {name: (s["CidrBlock"], s["AvailabilityZone"], s["MapPublicIpOnLaunch"]) for name, s in subnets.items()} == {
        f"{PREFIX}-vpc-public-us-east-2a": ("172.31.0.0/20", "us-east-2a", True),
        f"{PREFIX}-vpc-public-us-east-2b": ("172.31.16.0/20", "us-east-2b", True),
        f"{PREFIX}-vpc-private-us-east-2a": ("172.31.32.0/20", "us-east-2a", False),
        f"{PREFIX}-vpc-private-us-east-2b": ("172.31.48.0/20", "us-east-2b", False),
    }

    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
    assert len(igws["InternetGateways"]) == 1
    igw_id = igws["InternetGateways"][0]["InternetGatewayId"]

    nats = [n for n in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"] if n["State"] != "deleted"]
    assert len(nats) == 1, "one NAT gateway in single mode, and none duplicated by the re-run"
    nat = nats[0]
    assert nat["SubnetId"] == subnets[f"{PREFIX}-vpc-public-us-east-2a"]["SubnetId"]
    eips = ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc-nat-eip"]}])["Addresses"]
    assert [e["AllocationId"] for e in eips] == [nat["NatGatewayAddresses"][0]["AllocationId"]]

    tables = by_name(t for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"] if t.get("Tags"))
    assert set(tables) == {f"{PREFIX}-vpc-public", f"{PREFIX}-vpc-private"}

    def default_route(table):
        return next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")

    def associated(table):
        return {a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")}

    assert default_route(tables[f"{PREFIX}-vpc-public"])["GatewayId"] == igw_id
    assert default_route(tables[f"{PREFIX}-vpc-private"])["NatGatewayId"] == nat["NatGatewayId"]
    assert associated(tables[f"{PREFIX}-vpc-public"]) == {
        s["SubnetId"] for n, s in subnets.items() if "-public-" in n}
    assert associated(tables[f"{PREFIX}-vpc-private"]) == {
        s["SubnetId"] for n, s in subnets.items() if "-private-" in n}


def test_security_groups_reference_each_other_not_cidrs(emulator):
    ec2 = emulator.client("ec2")
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups()["SecurityGroups"]
              if g["GroupName"].startswith(PREFIX)}
    assert set(groups) == {f"{PREFIX}-{k}" for k in ("alb", "api", "workers", "valkey", "db")}
    gid = {name.removeprefix(f"{PREFIX}-"): g["GroupId"] for name, g in groups.items()}

    def ingress(key):
        rules = set()
        for perm in groups[f"{PREFIX}-{key}"]["IpPermissions"]:
            for source in perm.get("IpRanges", []):
                rules.add((perm["FromPort"], perm["ToPort"], source["CidrIp"]))
            for source in perm.get("UserIdGroupPairs", []):
                rules.add((perm["FromPort"], perm["ToPort"], source["GroupId"]))
        return rules

    assert ingress("alb") == {(80, 80, "0.0.0.0/0")}
    assert ingress("api") == {(4000, 4000, gid["alb"])}
    assert ingress("workers") == set()
    assert ingress("valkey") == {(6379, 6379, gid["api"]), (6379, 6379, gid["workers"])}
    assert ingress("db") == {(5432, 5432, gid["api"]), (5432, 5432, gid["workers"])}


def test_data_layer_matches_seed_000(emulator):
    groups = {g["GroupName"]: g["GroupId"] for g in emulator.client("ec2").describe_security_groups()["SecurityGroups"]}
    (db,) = [d for d in emulator.client("rds").describe_db_instances()["DBInstances"]
             if d["DBInstanceIdentifier"] == f"{PREFIX}-db"]
    assert (db["Engine"], db["DBName"], db["MasterUsername"], db["Endpoint"]["Port"]) == ("postgres", "wanzami", "wanzami", 5432)
    assert db["StorageEncrypted"] and not db["PubliclyAccessible"]
    assert (db["StorageType"], db["AllocatedStorage"], db["MaxAllocatedStorage"]) == ("gp3", 20, 100)
    assert db["BackupRetentionPeriod"] == 7
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [groups[f"{PREFIX}-db"]]

    # DATABASE_URL is composed from the vaulted password and stored as a secret, never in the env file.
    url = emulator.client("ssm").get_parameter(Name="/wanzami/local/DATABASE_URL", WithDecryption=True)["Parameter"]
    password = vault_values()["DATABASE_PASSWORD"]
    assert url["Type"] == "SecureString"
    assert url["Value"] == f"postgresql://wanzami:{password}@{db['Endpoint']['Address']}:5432/wanzami"

    (cache,) = emulator.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    assert cache["ReplicationGroupId"] == f"{PREFIX}-cache"
    assert cache["TransitEncryptionEnabled"] and cache["AtRestEncryptionEnabled"]


def test_registry_and_env_file_are_in_place(emulator):
    repos = emulator.client("ecr").describe_repositories()["repositories"]
    assert [(r["repositoryName"], r["imageTagMutability"], r["imageScanningConfiguration"]["scanOnPush"]) for r in repos] == [
        ("wanzami-backend", "MUTABLE", True)]

    s3 = emulator.client("s3")
    bucket = f"{PREFIX}-ecs-config-us-east-2"
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "us-east-2"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_bucket_location(Bucket=f"{PREFIX}-media")["LocationConstraint"] == "eu-north-1"

    envfile = s3.get_object(Bucket=bucket, Key="wanzami_assets/.env")["Body"].read().decode()
    lines = [line for line in envfile.splitlines() if line and not line.startswith("#")]
    names = [line.split("=", 1)[0] for line in lines]
    app_yml = yaml.safe_load((REPO / "group_vars/all/app.yml").read_text())
    app = {**app_yml["wanzami_app_base"], **app_yml["wanzami_app_settings"]}
    assert names == sorted(app), "every non-secret variable, once, sorted"
    assert "PORT=4000" in lines and "S3_REGION=eu-north-1" in lines and f"S3_BUCKET={PREFIX}-media" in lines
    redis = next(line for line in lines if line.startswith("REDIS_URL="))
    assert redis.startswith("REDIS_URL=rediss://") and redis.endswith(":6379")
    for secret in vault_values().values():
        assert secret not in envfile
    for name in ("JWT_ACCESS_SECRET", "SMTP_PASS", "S3_SECRET_KEY", "GOOGLE_CLIENT_SECRET", "DATABASE_URL"):
        assert name not in names


def test_cluster_roles_read_exactly_what_the_tasks_need(emulator):
    (cluster,) = emulator.client("ecs").describe_clusters(clusters=[f"{PREFIX}-cluster"], include=["SETTINGS"])["clusters"]
    assert cluster["status"] == "ACTIVE"
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    logs = {g["logGroupName"]: g.get("retentionInDays") for g in emulator.client("logs").describe_log_groups()["logGroups"]}
    assert logs == {f"/ecs/{PREFIX}-backend": 7, f"/ecs/{PREFIX}-backend-workers": 7}

    iam = emulator.client("iam")
    role = f"{PREFIX}-ecs-execution"
    statements = [s for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
                  for s in iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]["Statement"]]
    resources = {r for s in statements for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert f"arn:aws:s3:::{PREFIX}-ecs-config-us-east-2/wanzami_assets/.env" in resources
    parameters = {r.rsplit("/", 1)[-1] for r in resources if ":parameter/" in r}
    assert parameters == {"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "SMTP_PASS", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                          "GOOGLE_CLIENT_SECRET", "DATABASE_URL"}
    assert [s["Action"] for s in statements if s["Resource"] == "*"] in ([["ecr:GetAuthorizationToken"]],
                                                                          ["ecr:GetAuthorizationToken"])


def test_services_match_seed_000(emulator):
    groups = {g["GroupName"]: g["GroupId"] for g in emulator.client("ec2").describe_security_groups()["SecurityGroups"]}
    ecs = emulator.client("ecs")
    cluster = f"{PREFIX}-cluster"
    names = [f"{PREFIX}-backend-service", f"{PREFIX}-worker-transcode-svc", f"{PREFIX}-worker-cron-svc"]
    services = {s["serviceName"]: s for s in ecs.describe_services(cluster=cluster, services=names)["services"]}
    # The repository holds no image yet: every service waits at 0 tasks for its first release (the release below
    # starts them at 2, 1 and 1).
    assert {n: services[n]["desiredCount"] for n in names} == dict.fromkeys(names, 0)

    def container(service):
        definition = ecs.describe_task_definition(taskDefinition=services[service]["taskDefinition"])["taskDefinition"]
        (only,) = definition["containerDefinitions"]
        return definition, only

    api_def, api = container(names[0])
    assert api_def["family"] == f"{PREFIX}-backend-task"
    assert (api_def["cpu"], api_def["memory"], api_def["networkMode"]) == ("512", "1024", "awsvpc")
    assert api["portMappings"] == [{"containerPort": 4000, "hostPort": 4000, "protocol": "tcp"}]
    assert api["healthCheck"]["command"] == ["CMD-SHELL", "wget -qO- http://localhost:4000/health || exit 1"]
    assert api["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/{PREFIX}-backend"
    assert api["logConfiguration"]["options"]["awslogs-stream-prefix"] == "backend"
    assert api["environmentFiles"] == [
        {"value": f"arn:aws:s3:::{PREFIX}-ecs-config-us-east-2/wanzami_assets/.env", "type": "s3"}]
    assert "DATABASE_URL" in {secret["name"] for secret in api["secrets"]}
    assert services[names[0]]["healthCheckGracePeriodSeconds"] == 60
    deployment = services[names[0]]["deploymentConfiguration"]
    assert (deployment["minimumHealthyPercent"], deployment["maximumPercent"]) == (100, 200)
    assert deployment["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    network = services[names[0]]["networkConfiguration"]["awsvpcConfiguration"]
    assert network["securityGroups"] == [groups[f"{PREFIX}-api"]] and network["assignPublicIp"] == "DISABLED"

    for worker, command, sizes in ((names[1], ["node", "dist/worker/transcodeWorker.js"], ("1024", "2048")),
                                   (names[2], ["node", "dist/worker/cron.js"], ("512", "1024"))):
        definition, only = container(worker)
        assert only["command"] == command and (definition["cpu"], definition["memory"]) == sizes
        assert "portMappings" not in only or only["portMappings"] == []
        assert only["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/{PREFIX}-backend-workers"
        assert only["logConfiguration"]["options"]["awslogs-stream-prefix"] == "worker"
        assert services[worker]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"] == [
            groups[f"{PREFIX}-workers"]]

    elbv2 = emulator.client("elbv2")
    (alb,) = elbv2.describe_load_balancers(Names=[f"{PREFIX}-backend-alb"])["LoadBalancers"]
    assert alb["Scheme"] == "internet-facing" and alb["SecurityGroups"] == [groups[f"{PREFIX}-alb"]]
    (tg,) = elbv2.describe_target_groups(Names=[f"{PREFIX}-backend-tg"])["TargetGroups"]
    assert (tg["TargetType"], tg["Protocol"], tg["Port"], tg["HealthCheckPath"]) == ("ip", "HTTP", 4000, "/health")
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert (listener["Port"], listener["DefaultActions"][0]["TargetGroupArn"]) == (80, tg["TargetGroupArn"])


def test_the_env_file_role_alone_never_blanks_what_the_cache_publishes(emulator):
    # (A dry run showing this drift is part of the next test.)
    s3 = emulator.client("s3")
    bucket, key = f"{PREFIX}-ecs-config-us-east-2", "wanzami_assets/.env"
    good = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    s3.put_object(Bucket=bucket, Key=key, Body=good.replace("DEVICE_LIMIT=4", "DEVICE_LIMIT=99").encode())
    alone = run_playbook(SITE, "--tags", "s3_envfile", env=emulator.env(), check=False)
    assert alone.rc != 0 and "REDIS_URL would be written empty" in alone.output, "never blank what valkey publishes"
    run_playbook(SITE, "--tags", "valkey,s3_envfile", env=emulator.env())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() == good


def test_drift_in_a_rule_a_count_and_an_env_value_is_shown_exactly_and_repaired(emulator):
    ec2, ecs, s3 = emulator.client("ec2"), emulator.client("ecs"), emulator.client("s3")
    (api,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{PREFIX}-api"]}])["SecurityGroups"]
    bucket, key = f"{PREFIX}-ecs-config-us-east-2", "wanzami_assets/.env"
    good = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    # Behind the playbook's back: SSH open to the world, the cron worker scaled to 3, an env value changed.
    ec2.authorize_security_group_ingress(GroupId=api["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ecs.update_service(cluster=f"{PREFIX}-cluster", service=f"{PREFIX}-worker-cron-svc", desiredCount=3)
    s3.put_object(Bucket=bucket, Key=key, Body=good.replace("DEVICE_LIMIT=4", "DEVICE_LIMIT=99").encode())
    emulator.clear_recording()
    dry = run_playbook(SITE, "--check", "--diff", env=emulator.env())
    assert emulator.mutating_calls() == []
    # Exactly three tasks would change: the group's rules, the service, the env file; each with a diff.
    assert dry.changed == 3, changed_tasks(dry)
    changed_items = [line for line in dry.output.splitlines() if line.startswith("changed: ")]
    assert any(f"{PREFIX}-api" in line for line in changed_items), changed_items
    assert any(f"{PREFIX}-worker-cron-svc" in line for line in changed_items), changed_items
    assert "22" in dry.output and "0.0.0.0/0" in dry.output
    assert "desiredCount" in dry.output
    assert "-DEVICE_LIMIT=99" in dry.output and "+DEVICE_LIMIT=4" in dry.output
    repair = run_playbook(SITE, env=emulator.env())
    # The same three, plus the upload: a dry run stops at rendering the env file, which shows the diff.
    upload = "wanzami.infra.s3_envfile : Env file | Upload it where ECS reads it"
    assert sorted(changed_tasks(repair)) == sorted(changed_tasks(dry) + [upload]), (changed_tasks(dry), changed_tasks(repair))
    (api,) = ec2.describe_security_groups(GroupIds=[api["GroupId"]])["SecurityGroups"]
    assert not [p for p in api["IpPermissions"] if p.get("FromPort") == 22]
    (cron,) = ecs.describe_services(cluster=f"{PREFIX}-cluster", services=[f"{PREFIX}-worker-cron-svc"])["services"]
    assert cron["desiredCount"] == 1
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() == good



# --- release ---------------------------------------------------------------------------------------------------

def test_provision_and_push_three_images(emulator):
    for tag in ("v1", "v2", "v3"):
        DIGESTS[tag] = emulator.push_image(REPOSITORY, tag)
    assert set(revisions(emulator)) == set(SERVICES)


def test_a_dry_run_release_only_reads(emulator):
    before = revisions(emulator)
    emulator.clear_recording()
    # auto: the smoke test's load balancer is found by name (a dry run does not GET it).
    run = deploy(emulator, "--check", "-e", "release_image_tag=v1", "-e", "release_smoke_test_url=auto")
    assert run.changed > 0
    assert "A real run would fail now" not in run.output, run
    assert "DescribeLoadBalancers" in [operation for _, operation, _ in emulator.calls()]
    assert emulator.mutating_calls() == []
    assert revisions(emulator) == before


def test_a_release_pins_the_digest_in_every_task_definition_and_moves_every_service(emulator):
    before = revisions(emulator)
    account = emulator.client("sts").get_caller_identity()["Account"]
    pinned = f"{account}.dkr.ecr.us-east-2.amazonaws.com/{REPOSITORY}@{DIGESTS['v1']}"
    ecs = emulator.client("ecs")
    run = deploy(emulator, "-e", "release_image_tag=v1")
    after = revisions(emulator)
    for service, family in SERVICES.items():
        old, new = before[service], after[service]
        assert new.split(":")[0] == family and int(new.split(":")[1]) == int(old.split(":")[1]) + 1, (old, new)
        was = ecs.describe_task_definition(taskDefinition=old)["taskDefinition"]
        now = ecs.describe_task_definition(taskDefinition=new)["taskDefinition"]
        assert now["containerDefinitions"][0]["image"] == pinned
        # Exactly the image changed: everything else is the previous revision's.
        for definition in (was, now):
            definition["containerDefinitions"][0].pop("image")
            for key in ("taskDefinitionArn", "revision", "registeredAt", "registeredBy", "deregisteredAt", "status"):
                definition.pop(key, None)
        assert now == was
    saved = record(emulator)
    assert (saved["tag"], saved["digest"], saved["image"]) == ("v1", DIGESTS["v1"], pinned)
    assert saved["services"] == after
    assert saved["who"] and saved["time"]
    assert not lock_exists(emulator)
    assert pinned in run.output
    # The first release started every service at its inventory count, on the new revision.
    assert counts(emulator) == {name: (count, count) for name, count in COUNTS.items()}
    assert "started: 0 -> 2 tasks (first release)" in run.output, run


def test_releasing_the_same_image_again_changes_nothing(emulator):
    before = revisions(emulator)
    emulator.clear_recording()
    run = deploy(emulator, "-e", "release_image_tag=v1")
    assert run.changed == 0
    assert revisions(emulator) == before
    # Only the lock was taken and given back.
    assert sorted(set(emulator.mutating_calls())) == ["ssm:DeleteParameter", "ssm:PutParameter"]


def test_provisioning_again_keeps_the_released_image(emulator):
    before = revisions(emulator)
    # At -vvv: its output is also searched for secrets (test_no_secret_value_appears_in_any_output_even_at_vvv).
    run = run_playbook("playbooks/site.yml", "-vvv", env=emulator.env())
    VERBOSE["site"] = run.output
    assert run.changed == 0, run
    assert revisions(emulator) == before


def test_a_failing_smoke_test_puts_every_service_back(emulator, health):
    before = revisions(emulator)
    health.status = 500
    run = deploy(emulator, "-e", "release_image_tag=v2", "-e", f"release_smoke_test_url={health.url}",
                 "-e", "release_smoke_test_timeout=2", check=False)
    health.status = 200
    assert run.rc != 0
    assert "smoke test" in run.output and "500" in run.output, run
    assert "Rolled back" in run.output, run
    assert revisions(emulator) == before
    assert record(emulator)["tag"] == "v1"
    assert not lock_exists(emulator)


def test_a_deployment_the_circuit_breaker_rolled_back_is_a_failure(emulator):
    before = revisions(emulator)
    emulator.set_faults(failing_images=DIGESTS["v2"])
    try:
        run = deploy(emulator, "-e", "release_image_tag=v2", check=False)
    finally:
        emulator.set_faults()
    assert run.rc != 0
    assert "v2" in run.output and "Rolled back" in run.output, run
    # Stable again, but on the old revision: that is a failed release.
    assert {s: image_of(emulator, r) for s, r in revisions(emulator).items()} == \
        {s: image_of(emulator, r) for s, r in before.items()}
    assert record(emulator)["tag"] == "v1"


def test_a_failing_migration_stops_the_release_before_any_service_moves(emulator):
    before = revisions(emulator)
    emulator.set_faults(failing_commands="migrate")
    try:
        run = deploy(emulator, "-e", "release_image_tag=v2", "-e",
                     json.dumps({"release_migration_command": ["npx", "prisma", "migrate", "deploy"]}), check=False)
    finally:
        emulator.set_faults()
    assert run.rc != 0
    assert "exited with 1" in run.output, run
    assert revisions(emulator) == before


def test_a_passing_migration_runs_on_the_new_image_then_the_release_goes_on(emulator):
    run = deploy(emulator, "-e", "release_image_tag=v2", "-e",
                 json.dumps({"release_migration_command": ["npx", "prisma", "migrate", "deploy"]}))
    assert run.changed > 0
    ecs = emulator.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER)["taskArns"] + ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=list(set(arns)))["tasks"]
    # The failed migration of the test before, then this one.
    assert len(tasks) == 2
    (task,) = [t for t in tasks if t.get("containers", [{}])[0].get("exitCode") == 0]
    assert task["overrides"]["containerOverrides"][0]["command"] == ["npx", "prisma", "migrate", "deploy"]
    assert DIGESTS["v2"] in image_of(emulator, task["taskDefinitionArn"].split("/")[-1])
    assert record(emulator)["tag"] == "v2"
    assert all(DIGESTS["v2"] in image_of(emulator, r) for r in revisions(emulator).values())


def test_a_held_lock_fails_the_release_and_names_its_holder(emulator):
    before = revisions(emulator)
    ssm = emulator.client("ssm")
    ssm.put_parameter(Name=LOCK, Type="String", Value=json.dumps(
        {"holder": "alice@ci-runner-7", "since": "2026-11-22T10:00:00Z", "release": "v9", "token": "x"}))
    run = deploy(emulator, "-e", "release_image_tag=v3", check=False)
    assert run.rc != 0
    assert "alice@ci-runner-7" in run.output and "release_break_lock" in run.output, run
    assert revisions(emulator) == before
    assert lock_exists(emulator), "someone else's lock is not ours to remove"
    run = deploy(emulator, "-e", "release_image_tag=v3", "-e", "release_break_lock=true")
    assert record(emulator)["tag"] == "v3"
    assert not lock_exists(emulator)


def test_two_releases_at_once_one_fails_clearly_and_nothing_is_half_applied(emulator, health):
    # The first release holds the lock until its smoke test is answered, which is once the second ended:
    # however slow the machine, the second meets the lock.
    health.gate.clear()
    env = dict(os.environ, **emulator.env(), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    first = subprocess.Popen([str(BIN / "ansible-playbook"), "-i", "inventories/local", DEPLOY, "-e", "release_image_tag=v1",
                              "-e", f"release_smoke_test_url={health.url}", "-e", "release_smoke_test_timeout=900"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not lock_exists(emulator) and time.monotonic() < deadline:
            time.sleep(0.2)
        second = deploy(emulator, "-e", "release_image_tag=v2", check=False)
        health.gate.set()
        first_output = first.communicate(timeout=600)[0]
    finally:
        health.gate.set()
        first.kill() if first.poll() is None else None
    assert first.returncode == 0, first_output
    assert second.rc != 0 and "locked by" in second.output, second
    now = revisions(emulator)
    assert {DIGESTS["v1"]} == {image_of(emulator, r).split("@")[1] for r in now.values()}
    assert record(emulator)["tag"] == "v1"


def test_rollback_returns_to_the_previous_release_and_back(emulator):
    assert record(emulator)["tag"] == "v1"
    previous = record(emulator)["previous"]
    assert previous["tag"] == "v3"
    deploy(emulator, playbook=ROLLBACK)
    assert record(emulator)["tag"] == "v3"
    assert revisions(emulator) == previous["services"]
    assert all(DIGESTS["v3"] in image_of(emulator, r) for r in revisions(emulator).values())
    deploy(emulator, playbook=ROLLBACK)
    assert record(emulator)["tag"] == "v1"
    assert all(DIGESTS["v1"] in image_of(emulator, r) for r in revisions(emulator).values())


def test_no_secret_value_appears_in_any_output_even_at_vvv(emulator):
    values = [v for v in vault_values().values() if v]
    release = deploy(emulator, "-vvv", "-e", "release_image_tag=v2")
    back = deploy(emulator, "-vvv", playbook=ROLLBACK)
    # site.yml at -vvv is the converged run of test_provisioning_again_keeps_the_released_image.
    output = VERBOSE["site"] + release.output + back.output
    assert "ESTABLISH LOCAL CONNECTION" in output, "the runs were verbose"
    # DATABASE_URL embeds the password: neither may show.
    for value in values:
        assert value not in output


# --- on-call: the runbooks on the released environment (playbooks/runbooks) ----------------------------------------

RUNBOOKS = "playbooks/runbooks"
ENV_BUCKET, ENV_KEY = f"{PREFIX}-ecs-config-us-east-2", "wanzami_assets/.env"
TRANSCODE = f"{PREFIX}-worker-transcode-svc"


def runbook(emulator, name, *args, check=True):
    return run_playbook(f"{RUNBOOKS}/{name}.yml", *args, env=emulator.env(), check=check)


def diagnosis(run):
    """The FIX lines and the last line of the Diagnosis task, each on one line."""
    text = " ".join(run.output.split())
    block = text.split("TASK [Diagnosis]", 1)[1].split("TASK [", 1)[0]
    return block


@pytest.mark.parametrize(("name", "args", "expect"), [
    ("api_unhealthy", [], ["OK security group wanzami-local-api lets the ALB reach port 4000",
                           "OK execution role wanzami-local-ecs-execution may read the env file",
                           "OK REDIS_URL uses TLS (rediss://)"]),
    ("worker_failing", [], ["OK wanzami-local-worker-transcode-svc: runs `node dist/worker/transcodeWorker.js`",
                            "Nothing to fix."]),
    ("ecr_auth", ["-e", "runbook_image_tag=v2"], ["OK execution role wanzami-local-ecs-execution may pull from wanzami-backend",
                                                   "OK wanzami-backend:v2 is sha256:", "Nothing to fix."]),
    ("env_file", [], ["OK REDIS_URL=rediss://", "OK PORT=4000", "Nothing to fix."]),
])
def test_each_runbook_prints_its_diagnosis_and_only_reads(emulator, name, args, expect):
    emulator.clear_recording()
    run = runbook(emulator, name, *args)
    assert run.changed == 0
    found = diagnosis(run)
    for line in expect:
        assert line in " ".join(found.replace("'", "").split()), found
    assert emulator.mutating_calls() == []


def test_a_broken_env_file_is_found_and_uploading_it_again_repairs_it(emulator):
    s3 = emulator.client("s3")
    good = s3.get_object(Bucket=ENV_BUCKET, Key=ENV_KEY)["Body"].read().decode()
    broken = "\n".join(line for line in good.splitlines() if not line.startswith(("PORT=", "REDIS_URL=")))
    s3.put_object(Bucket=ENV_BUCKET, Key=ENV_KEY, Body=(broken + "\nREDIS_URL=redis://cache:6379\n").encode())

    shown = diagnosis(runbook(emulator, "env_file"))
    assert "FIX missing: PORT" in shown and "FIX REDIS_URL is not rediss://" in shown, shown
    assert "FIX REDIS_URL is not rediss://" in diagnosis(runbook(emulator, "api_unhealthy"))

    repaired = runbook(emulator, "env_file", "-e", "env_file_action=upload")
    assert repaired.changed > 0
    assert s3.get_object(Bucket=ENV_BUCKET, Key=ENV_KEY)["Body"].read().decode() == good
    assert "Nothing to fix." in diagnosis(repaired)


def test_scale_and_restart_change_exactly_that(emulator):
    ecs = emulator.client("ecs")
    cron = f"{PREFIX}-worker-cron-svc"
    before = {s["serviceName"]: s for s in ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]}
    runbook(emulator, "scale", "-e", f"scale_service={cron}", "-e", "scale_desired_count=3")
    emulator.clear_recording()
    runbook(emulator, "restart", "-e", f"restart_service={TRANSCODE}")
    assert [op for _, op, mutating in emulator.calls() if mutating] == ["UpdateService"]
    after = {s["serviceName"]: s for s in ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]}
    assert after[cron]["desiredCount"] == 3
    assert {n: s["taskDefinition"] for n, s in after.items()} == {n: s["taskDefinition"] for n, s in before.items()}
    assert after[TRANSCODE]["deployments"][0]["id"] != before[TRANSCODE]["deployments"][0]["id"], "a new deployment"
    runbook(emulator, "scale", "-e", f"scale_service={cron}", "-e", "scale_desired_count=1")


# --- day 2: status.yml, logs.yml and summary.yml on the released environment, the alarm topic changing hands -------
# (This was test_day2.py's journey, on a provisioning and a release of its own: the same environment, so it shares
# this module's.)

API_GROUP = f"/ecs/{PREFIX}-backend"
WORKERS_GROUP = f"/ecs/{PREFIX}-backend-workers"


def put_events(emulator, group, stream, messages):
    logs = emulator.client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now - (len(messages) - i) * 60_000, "message": m} for i, m in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def logs_of(emulator, *extra, check=True):
    args = [a for pair in extra for a in ("-e", pair)]
    return run_playbook("playbooks/logs.yml", *args, env=emulator.env(), check=check)


def printed(run, *messages):
    """The positions of the lines holding each message in the playbook's output (-1: absent)."""
    return [run.output.find(m) for m in messages]


def test_status_shows_each_service_and_the_release_and_only_reads(emulator):
    saved = record(emulator)
    emulator.clear_recording()
    run = run_playbook("playbooks/status.yml", env=emulator.env())
    assert emulator.mutating_calls() == []
    digest = saved["digest"]
    assert digest == DIGESTS[saved["tag"]]
    for service, desired in COUNTS.items():
        row = rf"{service}\s+{desired}\s+{desired}\s+0\s+\S+:\d+\s+COMPLETED\s+{re.escape(digest[:19])}\s"
        assert re.search(row, run.output), (row, run)
    assert re.search(rf"{PREFIX}-backend-service\s.*\s0/0/0 \({PREFIX}-backend-tg\)", run.output), run
    assert f"Last release: {saved['tag']} {digest} at " in run.output, run


def test_status_names_each_scheduled_task_with_its_schedule_and_state(emulator):
    emulator.client("events").put_rule(Name=f"{PREFIX}-nightly", ScheduleExpression="rate(1 hour)", State="DISABLED")
    tasks = [{"name": f"{PREFIX}-nightly", "schedule": "cron(0 3 * * ? *)"},
             {"name": f"{PREFIX}-weekly", "schedule": "rate(7 days)"}]
    emulator.clear_recording()
    run = run_playbook("playbooks/status.yml", "-e", json.dumps({"ecs_service_scheduled_tasks": tasks}), env=emulator.env())
    assert emulator.mutating_calls() == []
    # What EventBridge holds, not what the inventory says; a rule that is not there is named so.
    assert re.search(rf"\n\s*{PREFIX}-nightly\s+DISABLED\s+rate\(1 hour\)\n", run.output), run
    assert re.search(rf"\n\s*{PREFIX}-weekly\s+MISSING\s+rate\(7 days\)", run.output), run
    emulator.client("events").delete_rule(Name=f"{PREFIX}-nightly")


def test_logs_prints_a_services_lines_oldest_first_and_only_reads(emulator):
    put_events(emulator, API_GROUP, "backend/api/task-one", ["api first", "api ERROR second", "api third"])
    put_events(emulator, WORKERS_GROUP, "worker/worker-cron/task-two", ["cron line"])
    put_events(emulator, WORKERS_GROUP, "worker/worker-transcode/task-three", ["transcode line"])
    emulator.clear_recording()
    run = logs_of(emulator, f"logs_service={PREFIX}-backend-service")
    assert emulator.mutating_calls() == []
    first, second, third = printed(run, "backend/api/task-one api first", "api ERROR second", "api third")
    assert -1 < first < second < third, run
    assert "cron line" not in run.output
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z backend/api/task-one api third", run.output), run


def test_logs_filter_lines_minutes_and_a_worker_apart_from_the_other(emulator):
    run = logs_of(emulator, f"logs_service={PREFIX}-backend-service", "logs_filter=ERROR")
    assert printed(run, "api first", "api third") == [-1, -1] and "api ERROR second" in run.output, run
    run = logs_of(emulator, f"logs_service={PREFIX}-backend-service", "logs_lines=2", "logs_minutes=60")
    assert printed(run, "api first")[0] == -1 and "api ERROR second" in run.output and "api third" in run.output, run
    assert "the last 60 minutes: 2 line(s)" in run.output, run
    run = logs_of(emulator, f"logs_service={PREFIX}-worker-cron-svc")
    assert "cron line" in run.output and "transcode line" not in run.output, run


def test_logs_refuses_an_unknown_service_before_any_request(emulator):
    emulator.clear_recording()
    run = logs_of(emulator, "logs_service=nope", check=False)
    assert run.rc != 0
    assert (f"logs_service must be one of {PREFIX}-backend-service, {PREFIX}-worker-transcode-svc, "
            f"{PREFIX}-worker-cron-svc (got 'nope')") in " ".join(run.output.split()), run
    assert emulator.calls() == []


def test_summary_names_each_service_and_only_reads(emulator):
    emulator.clear_recording()
    run = run_playbook("playbooks/summary.yml", env=emulator.env())
    assert emulator.mutating_calls() == []
    for service in COUNTS:
        assert service in run.output, run


def test_the_alarm_topic_mails_whom_the_inventory_names(emulator):
    """On-call changes hands: the role subscribes the new address and unsubscribes the one it had subscribed."""
    sns = emulator.client("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{PREFIX}-alarms")]
    for emails in (["a@example.com"], ["b@example.com"]):
        run_playbook("playbooks/site.yml", "--tags", "observability", "-e", json.dumps({"observability_alarm_emails": emails}),
                     env=emulator.env())
        subscribed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert sorted(s["Endpoint"] for s in subscribed if s["Protocol"] == "email") == emails


def test_a_wrong_worker_command_is_found_by_its_runbook(emulator):
    """Last in the module: it leaves the transcode worker on a broken revision."""
    ecs, logs = emulator.client("ecs"), emulator.client("logs")
    (service,) = ecs.describe_services(cluster=CLUSTER, services=[TRANSCODE])["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    container = definition["containerDefinitions"][0]
    container["command"] = ["node", "dist/wrker/transcodeWorker.js"]
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "requiresCompatibilities",
            "cpu", "memory")
    registered = ecs.register_task_definition(**{k: definition[k] for k in keep if k in definition})
    arn = registered["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=TRANSCODE, taskDefinition=arn)
    options = container["logConfiguration"]["options"]
    stream = f"{options['awslogs-stream-prefix']}/{container['name']}/0123456789abcdef"
    logs.create_log_stream(logGroupName=options["awslogs-group"], logStreamName=stream)
    logs.put_log_events(logGroupName=options["awslogs-group"], logStreamName=stream, logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "Error: Cannot find module '/app/dist/wrker/transcodeWorker.js'"}])

    run = runbook(emulator, "worker_failing", "-e", f"runbook_service={TRANSCODE}")
    found = " ".join(diagnosis(run).replace("'", "").split())
    assert (f"FIX {TRANSCODE}: the task definition runs `node dist/wrker/transcodeWorker.js` "
            "but the inventory says `node dist/worker/transcodeWorker.js`") in found, found
    assert f"FIX {TRANSCODE}: Node cannot find a module (MODULE_NOT_FOUND)" in found
    assert "Cannot find module" in run.output, "the last log lines are printed"


# Every service the roles call in the local journeys; the examples' journeys add seed 002's Auto Scaling group,
# its DLM snapshot policies and Route 53 health check (tests/system/test_iam_policy.py).
SERVICES_OF_THE_LOCAL_JOURNEYS = {"application-autoscaling", "cloudwatch", "ec2", "ecr", "ecs", "elasticache",
                                  "elasticloadbalancing", "events", "iam", "logs", "rds", "s3", "sns", "ssm", "sts"}


def test_the_operator_policy_allows_every_call_of_this_journey(emulator):
    """docs/iam/operator-policy.json against what this module's runs asked of the emulator: secrets, the dry runs
    of an empty and a converged account, provisioning, drift repaired, the dry-run releases, releases (one with a
    migration), rollback, every runbook, status, logs, the summary and the alarm topic changing hands."""
    actions = assert_the_operator_policy_allows_everything_recorded(emulator)
    assert {action.split(":")[0] for action in actions} == SERVICES_OF_THE_LOCAL_JOURNEYS
    assert {"ec2:CreateVpc", "ecs:CreateService", "iam:PassRole", "sts:GetCallerIdentity", "ecs:RunTask"} <= actions
    assert {"sns:Subscribe", "sns:Unsubscribe", "logs:FilterLogEvents", "ecs:DescribeServices"} <= actions
