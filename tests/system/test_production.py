"""Seed 000's production inventory as it is (Valkey Serverless, us-east-2, names without an
environment), end to end, on MiniStack: a second emulator, written by others, that has the
ElastiCache Serverless API moto lacks and checks what our moto patches believe about AWS.

The journey a person takes: a dry run of the empty account, secrets.yml from a throwaway vault,
site.yml, site.yml again (nothing changed), a dry run of the converged account (nothing changed,
only reads); a release of an image put into its ECR, a rollback, the read-only runbooks; the
teardown (refused while the database is protected, then with its confirmation), and a second
teardown that changes nothing. Every fact of seed 000 is read back from what MiniStack holds.

One module, one MiniStack: `make test` gives the module to one worker (--dist loadscope)."""

import json
import secrets
import subprocess

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import run_playbook
from tests.emulator import ACCOUNT
from tests.emulator import Emulator
from tests.system.test_site import image_of

pytestmark = pytest.mark.system

INVENTORY = "inventories/production"
SITE = "playbooks/site.yml"
CLUSTER = "wanzami-cluster"
SERVICES = {"wanzami-backend-service": "wanzami-backend-task",
            "wanzami-worker-transcode-svc": "wanzami-worker-transcode",
            "wanzami-worker-cron-svc": "wanzami-worker-cron"}
ENV_BUCKET, ENV_KEY = "wanzami-ecs-config-us-east-2", "wanzami_assets/.env"
SECRETS_PATH = "/wanzami/production"
RECORD = f"{SECRETS_PATH}/release"
DIGESTS = {}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """MiniStack (scripts/emulator --engine ministack) for this module, stopped afterwards."""
    emu = Emulator(tmp_path_factory.mktemp("ministack"), engine="ministack").start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    """A throwaway vault for production, encrypted with a throwaway password: (file, password file, values)."""
    folder = tmp_path_factory.mktemp("vault")
    values = {name: secrets.token_urlsafe(24) for name in
              ("DATABASE_PASSWORD", "JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "SMTP_PASS", "S3_ACCESS_KEY",
               "S3_SECRET_KEY", "GOOGLE_CLIENT_SECRET")}
    password = folder / "password"
    password.write_text(secrets.token_urlsafe(32) + "\n")
    plain = folder / "production.yml"
    plain.write_text(yaml.safe_dump({"wanzami_secret_values": values}))
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password), str(plain)],
                   cwd=REPO, check=True, capture_output=True)
    return plain, password, values


def play(emulator, playbook, *args, check=True):
    return run_playbook(playbook, *args, inventory=INVENTORY, env=emulator.env(), check=check)


def said(run, text):
    return " ".join(text.split()) in " ".join(run.output.split())


def services(emulator):
    ecs = emulator.client("ecs")
    try:
        found = ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]
    except ecs.exceptions.ClusterNotFoundException:
        return {}
    return {s["serviceName"]: s for s in found if s["status"] == "ACTIVE"}


def revisions(emulator):
    """service -> family:revision, asserting that the PRIMARY deployment runs it at the desired count."""
    result = {}
    for name, service in services(emulator).items():
        primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
        assert primary["taskDefinition"] == service["taskDefinition"], service
        assert service["runningCount"] == service["desiredCount"], service
        result[name] = service["taskDefinition"].split("/")[-1]
    return result


def record(emulator):
    return json.loads(emulator.client("ssm").get_parameter(Name=RECORD)["Parameter"]["Value"])


# --- provisioning -----------------------------------------------------------------------------------------------------

def test_a_dry_run_of_the_empty_account_only_reads(emulator):
    emulator.clear_recording()
    run = play(emulator, SITE, "--check", "--diff")
    assert run.failed == 0 and run.changed > 0, run
    assert emulator.mutating_calls() == []
    assert emulator.calls(), "the dry run should have read the account"
    assert [c for c in emulator.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"] if c["status"] == "ACTIVE"] == []


def test_secrets_reach_parameter_store_from_the_vault(emulator, vault):
    plain, password, values = vault
    run = play(emulator, "playbooks/secrets.yml", "-e", f"wanzami_vault_file={plain}", "--vault-password-file", str(password))
    for value in values.values():
        assert value not in run.output
    stored = emulator.client("ssm").get_parameters_by_path(Path=SECRETS_PATH, WithDecryption=True)["Parameters"]
    assert {p["Name"]: (p["Type"], p["Value"]) for p in stored} == {
        f"{SECRETS_PATH}/{name}": ("SecureString", value) for name, value in values.items()}


def test_it_converges_then_changes_nothing(emulator):
    first = play(emulator, SITE)
    assert first.changed > 0
    second = play(emulator, SITE)
    assert second.changed == 0, second


def test_a_dry_run_of_the_converged_account_changes_nothing_and_only_reads(emulator):
    emulator.clear_recording()
    run = play(emulator, SITE, "--check", "--diff")
    assert run.changed == 0, run
    assert emulator.mutating_calls() == []
    assert emulator.calls()


# --- seed 000, from what MiniStack holds ------------------------------------------------------------------------------

def default_vpc(emulator):
    """The account's default VPC (docs/architecture.md, Network) and its subnets by CIDR."""
    ec2 = emulator.client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    return vpc, {s["CidrBlock"]: s for s in subnets}


def test_the_network_is_the_default_vpc_adopted_not_a_second_one(emulator):
    vpc, subnets = default_vpc(emulator)
    assert [v["VpcId"] for v in emulator.client("ec2").describe_vpcs()["Vpcs"]] == [vpc["VpcId"]]
    assert {t["Key"]: t["Value"] for t in vpc.get("Tags", [])} == {"Name": "wanzami-vpc"}
    tiers = {cidr: {t["Key"]: t["Value"] for t in s.get("Tags", [])}.get("tier") for cidr, s in subnets.items()}
    assert tiers == {"172.31.0.0/20": "public", "172.31.16.0/20": "public", "172.31.32.0/20": None,
                     "172.31.48.0/20": "private", "172.31.64.0/20": "private"}


def test_the_cache_is_valkey_serverless_and_the_env_file_reaches_it_over_tls(emulator):
    (cache,) = emulator.client("elasticache").describe_serverless_caches()["ServerlessCaches"]
    groups = {g["GroupName"]: g["GroupId"] for g in emulator.client("ec2").describe_security_groups()["SecurityGroups"]}
    assert (cache["ServerlessCacheName"], cache["Engine"], cache["Status"]) == ("wanzami-cache", "valkey", "available")
    assert cache["SecurityGroupIds"] == [groups["wanzami-valkey"]]
    envfile = emulator.client("s3").get_object(Bucket=ENV_BUCKET, Key=ENV_KEY)["Body"].read().decode()
    lines = [line for line in envfile.splitlines() if line and not line.startswith("#")]
    endpoint = cache["Endpoint"]
    assert f"REDIS_URL=rediss://{endpoint['Address']}:{endpoint['Port']}" in lines
    assert "PORT=4000" in lines and "S3_REGION=eu-north-1" in lines and "S3_BUCKET=wanzami-bucket" in lines
    for name in ("JWT_ACCESS_SECRET", "SMTP_PASS", "S3_SECRET_KEY", "GOOGLE_CLIENT_SECRET", "DATABASE_URL"):
        assert not any(line.startswith(f"{name}=") for line in lines)


def test_the_security_groups_are_seed_000s(emulator):
    groups = {g["GroupName"]: g for g in emulator.client("ec2").describe_security_groups()["SecurityGroups"]
              if g["GroupName"].startswith("wanzami-")}
    gid = {name: g["GroupId"] for name, g in groups.items()}

    def ingress(name):
        rules = set()
        for perm in groups[name]["IpPermissions"]:
            rules |= {(perm["FromPort"], perm["ToPort"], r["CidrIp"]) for r in perm.get("IpRanges", [])}
            rules |= {(perm["FromPort"], perm["ToPort"], r["GroupId"]) for r in perm.get("UserIdGroupPairs", [])}
        return rules

    assert set(groups) == {"wanzami-alb", "wanzami-api", "wanzami-workers", "wanzami-valkey", "wanzami-db"}
    assert ingress("wanzami-alb") == {(80, 80, "0.0.0.0/0")}
    assert ingress("wanzami-api") == {(4000, 4000, gid["wanzami-alb"])}
    assert ingress("wanzami-workers") == set()
    assert ingress("wanzami-valkey") == {(6379, 6379, gid["wanzami-api"]), (6379, 6379, gid["wanzami-workers"])}
    assert ingress("wanzami-db") == {(5432, 5432, gid["wanzami-api"]), (5432, 5432, gid["wanzami-workers"])}


def test_the_database_is_multi_az_postgresql_and_its_url_is_a_secret(emulator, vault):
    (db,) = [d for d in emulator.client("rds").describe_db_instances()["DBInstances"]
             if d["DBInstanceIdentifier"] == "wanzami-db"]
    assert (db["Engine"], db["DBName"], db["MasterUsername"], db["Endpoint"]["Port"]) == ("postgres", "wanzami", "wanzami", 5432)
    assert db["MultiAZ"] and db["StorageEncrypted"] and db["DeletionProtection"] and not db["PubliclyAccessible"]
    url = emulator.client("ssm").get_parameter(Name=f"{SECRETS_PATH}/DATABASE_URL", WithDecryption=True)["Parameter"]
    assert url["Type"] == "SecureString"
    assert url["Value"] == f"postgresql://wanzami:{vault[2]['DATABASE_PASSWORD']}@{db['Endpoint']['Address']}:5432/wanzami"


def test_the_load_balancer_and_the_services_are_seed_000s(emulator):
    elb = emulator.client("elbv2")
    (alb,) = elb.describe_load_balancers(Names=["wanzami-backend-alb"])["LoadBalancers"]
    assert alb["Scheme"] == "internet-facing"
    (tg,) = elb.describe_target_groups(Names=["wanzami-backend-tg"])["TargetGroups"]
    assert (tg["Protocol"], tg["Port"], tg["TargetType"], tg["HealthCheckPath"]) == ("HTTP", 4000, "ip", "/health")
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (30, 5)
    (listener,) = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    assert listener["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]

    found = services(emulator)
    assert set(found) == set(SERVICES)
    api = found["wanzami-backend-service"]
    # No image in the new repository yet: every service waits at 0 tasks for the first release (below).
    assert api["desiredCount"] == 0 and api["healthCheckGracePeriodSeconds"] == 60
    assert [lb["targetGroupArn"] for lb in api["loadBalancers"]] == [tg["TargetGroupArn"]]
    config = api["deploymentConfiguration"]
    assert (config["minimumHealthyPercent"], config["maximumPercent"]) == (100, 200)
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    for worker in ("wanzami-worker-transcode-svc", "wanzami-worker-cron-svc"):
        assert found[worker]["desiredCount"] == 0 and not found[worker]["loadBalancers"]

    ecs = emulator.client("ecs")
    definitions = {family: ecs.describe_task_definition(taskDefinition=family)["taskDefinition"] for family in SERVICES.values()}
    containers = {family: d["containerDefinitions"][0] for family, d in definitions.items()}
    api = containers.pop("wanzami-backend-task")
    assert [(p["containerPort"], p.get("hostPort")) for p in api["portMappings"]] == [(4000, 4000)]
    assert api["healthCheck"]["command"] == ["CMD-SHELL", "wget -qO- http://localhost:4000/health || exit 1"]
    # docs/architecture.md, Pitfalls: workers have no port mapping.
    assert {family: (c["command"], c.get("portMappings") or []) for family, c in containers.items()} == {
        "wanzami-worker-transcode": (["node", "dist/worker/transcodeWorker.js"], []),
        "wanzami-worker-cron": (["node", "dist/worker/cron.js"], [])}
    for definition in definitions.values():
        assert definition["executionRoleArn"].endswith(":role/ecsTaskExecutionRole")
        assert definition["containerDefinitions"][0]["environmentFiles"] == [
            {"value": f"arn:aws:s3:::{ENV_BUCKET}/{ENV_KEY}", "type": "s3"}]


def test_the_execution_role_reads_exactly_the_env_file_object(emulator):
    iam = emulator.client("iam")
    statements = [s for name in iam.list_role_policies(RoleName="ecsTaskExecutionRole")["PolicyNames"]
                  for s in iam.get_role_policy(RoleName="ecsTaskExecutionRole", PolicyName=name)["PolicyDocument"]["Statement"]]
    reads = [s for s in statements if "s3:GetObject" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert [(s["Effect"], s["Resource"]) for s in reads] == [("Allow", f"arn:aws:s3:::{ENV_BUCKET}/{ENV_KEY}")]
    logs = {g["logGroupName"]: g.get("retentionInDays") for g in emulator.client("logs").describe_log_groups()["logGroups"]}
    assert logs == {"/ecs/wanzami-backend": 30, "/ecs/wanzami-backend-workers": 30}
    s3 = emulator.client("s3")
    assert s3.get_bucket_location(Bucket=ENV_BUCKET)["LocationConstraint"] == "us-east-2"
    assert s3.get_bucket_location(Bucket="wanzami-bucket")["LocationConstraint"] == "eu-north-1"


# --- release, rollback, on-call ----------------------------------------------------------------------------------------

def test_a_release_pins_the_pushed_digest_in_every_service(emulator):
    for tag in ("v1", "v2"):
        DIGESTS[tag] = emulator.push_image("wanzami-backend", tag)
    before = revisions(emulator)
    for tag in ("v1", "v2"):
        play(emulator, "playbooks/deploy.yml", "-e", f"release_image_tag={tag}", "-e", "release_smoke_test_url=")
        now = revisions(emulator)
        assert set(now) == set(SERVICES) and now != before
        assert {image_of(emulator, r) for r in now.values()} == {
            f"{ACCOUNT}.dkr.ecr.us-east-2.amazonaws.com/wanzami-backend@{DIGESTS[tag]}"}
        assert record(emulator)["tag"] == tag
        # The first release started the services at seed 000's counts; the second left them there.
        assert {n: s["desiredCount"] for n, s in services(emulator).items()} == {
            "wanzami-backend-service": 2, "wanzami-worker-transcode-svc": 1, "wanzami-worker-cron-svc": 1}
        before = now


def test_a_rollback_returns_every_service_to_the_previous_release(emulator):
    previous = record(emulator)["previous"]
    assert previous["tag"] == "v1"
    # The load balancer serves nothing here: no smoke test, as for the releases above.
    play(emulator, "playbooks/rollback.yml", "-e", "release_smoke_test_url=")
    assert record(emulator)["tag"] == "v1"
    assert revisions(emulator) == previous["services"]
    assert all(DIGESTS["v1"] in image_of(emulator, r) for r in revisions(emulator).values())


@pytest.mark.parametrize(("name", "args", "expect"), [
    ("api_unhealthy", [], ["OK security group wanzami-api lets the ALB reach port 4000",
                           "OK execution role ecsTaskExecutionRole may read the env file",
                           "OK REDIS_URL uses TLS (rediss://)"]),
    ("worker_failing", [], ["OK wanzami-worker-transcode-svc: runs `node dist/worker/transcodeWorker.js`", "Nothing to fix."]),
    ("ecr_auth", ["-e", "runbook_image_tag=v2"], ["OK execution role ecsTaskExecutionRole may pull from wanzami-backend",
                                                   "OK wanzami-backend:v2 is sha256:", "Nothing to fix."]),
    ("env_file", [], ["OK REDIS_URL=rediss://", "OK PORT=4000", "Nothing to fix."]),
])
def test_the_read_only_runbooks_diagnose_and_only_read(emulator, name, args, expect):
    emulator.clear_recording()
    run = play(emulator, f"playbooks/runbooks/{name}.yml", *args)
    assert run.changed == 0
    text = " ".join(run.output.replace("'", "").split())
    found = text.split("TASK [Diagnosis]", 1)[1].split("TASK [", 1)[0]
    for line in expect:
        assert line in found, found
    assert emulator.mutating_calls() == []


# --- teardown ----------------------------------------------------------------------------------------------------------

def test_teardown_is_refused_while_the_database_is_protected(emulator):
    emulator.clear_recording()
    run = play(emulator, "playbooks/teardown.yml", "-e", "teardown_confirm=production", check=False)
    assert run.rc != 0, run
    assert said(run, "rds: wanzami-db has deletion protection; "
                     "turn it off with rds_deletion_protection=false and site.yml --tags rds")
    assert emulator.mutating_calls() == []


def test_teardown_with_its_confirmation_removes_everything_but_the_media_and_a_second_changes_nothing(emulator):
    # What a person does first: lift the protection on purpose, through the inventory's own variable.
    play(emulator, SITE, "--tags", "rds", "-e", "rds_deletion_protection=false")
    first = play(emulator, "playbooks/teardown.yml", "-e", "teardown_confirm=production", "-e", "teardown_final_snapshot=false")
    assert first.changed > 0
    assert services(emulator) == {}
    assert emulator.client("elasticache").describe_serverless_caches()["ServerlessCaches"] == []
    assert [d["DBInstanceIdentifier"] for d in emulator.client("rds").describe_db_instances()["DBInstances"]
            if d["DBInstanceStatus"] != "deleting"] == []
    assert not [b for b in emulator.client("elbv2").describe_load_balancers()["LoadBalancers"]
                if b["LoadBalancerName"] == "wanzami-backend-alb"]
    buckets = [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]]
    assert "wanzami-bucket" in buckets and ENV_BUCKET not in buckets
    # The default VPC is the account's: it stays, with its default subnets; our private ones are gone.
    vpc, subnets = default_vpc(emulator)
    assert sorted(subnets) == ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"]
    second = play(emulator, "playbooks/teardown.yml", "-e", "teardown_confirm=production", "-e", "teardown_final_snapshot=false")
    assert second.changed == 0, second
