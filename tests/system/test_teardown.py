"""Interrupted runs converge, then teardown.yml removes what they made.

First, site.yml killed (SIGKILL, the run and every process it started, as a dead CI runner
or a closed laptop would leave it) right after the network started, in the
middle of the data layer, and during the services; each time run again from
where it died; then the account holds exactly what a clean run makes: one of
everything, nothing duplicated. (The environment that leaves is the one the
teardown tests need, so the two journeys share one provisioning.)

Then teardown.yml, after a release: a dry run that only reads, production refused before any request, a protected database
that stops the teardown before anything is deleted, the teardown itself (judged
by what the emulator still holds), a second run that changes nothing, and the
media bucket, which goes only when asked."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import assert_the_operator_policy_allows_everything_recorded
from tests.conftest import run_playbook

pytestmark = pytest.mark.system

TEARDOWN = "playbooks/teardown.yml"
PREFIX = "wanzami-local"
CLUSTER = f"{PREFIX}-cluster"
DATABASE = f"{PREFIX}-db"
REPOSITORY = "wanzami-backend"
SERVICES = {f"{PREFIX}-backend-service": f"{PREFIX}-backend-task",
            f"{PREFIX}-worker-transcode-svc": f"{PREFIX}-worker-transcode",
            f"{PREFIX}-worker-cron-svc": f"{PREFIX}-worker-cron"}
MEDIA = f"{PREFIX}-media"
TIMES = {}


def teardown(emulator, *args, check=True, **kwargs):
    return run_playbook(TEARDOWN, *args, env=emulator.env(), check=check, **kwargs)


def said(run, text):
    """Whether the run printed text (the YAML callback wraps long messages: whitespace is compared loosely)."""
    return " ".join(text.split()) in " ".join(run.output.split())


def tagged(items, key="Name", prefix=PREFIX):
    """Items whose tag `key` starts with prefix (or, with key environment, equals local)."""
    return [i for i in items if any(t["Key"] == key and t["Value"].startswith(prefix) for t in i.get("Tags") or [])]


def active_revisions(emulator, family):
    arns = emulator.client("ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    return [a for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]


def live_services(emulator):
    ecs = emulator.client("ecs")
    try:
        found = ecs.describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]
    except ecs.exceptions.ClusterNotFoundException:
        return []
    return [s["serviceName"] for s in found if s["status"] != "INACTIVE"]


def cluster_status(emulator):
    clusters = emulator.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"]
    return clusters[0]["status"] if clusters else "MISSING"


def vpcs(emulator):
    return emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"]


SITE = "playbooks/site.yml"
# Kill as soon as the emulator has received this request (it may or may not have been answered):
# in the network, in the data layer, and in the services (task definitions come before the services).
KILL_POINTS = ["CreateSubnet", "CreateDBInstance", "RegisterTaskDefinition"]


def descendants(pid):
    """Every process below pid, from /proc: Ansible's workers call setsid(), so a process group misses them."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def kill_tree(proc):
    """SIGKILL the run and everything it started, as a dead CI runner's would die, by PID."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def run_until(emulator, operation, timeout=600):
    """site.yml in its own process group, killed once `operation` reached the emulator; returns whether it was."""
    emulator.clear_recording()
    env = dict(os.environ, **emulator.env(), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.Popen([str(BIN / "ansible-playbook"), "-i", "inventories/local", SITE], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if any(op == operation for _, op, _ in emulator.calls()):
                kill_tree(proc)
                return True
            time.sleep(0.1)
        return False
    finally:
        if proc.poll() is None:
            kill_tree(proc)


def test_three_interrupted_runs_then_one_more_leave_exactly_one_of_everything(emulator):
    run_playbook("playbooks/secrets.yml", "--vault-password-file", "vault/local.password", env=emulator.env())
    for operation in KILL_POINTS:
        assert run_until(emulator, operation), f"site.yml never reached {operation}"
    final = run_playbook(SITE, env=emulator.env())
    assert final.changed > 0, "the last run finishes what the killed ones left"

    ec2, ecs, elbv2, logs = (emulator.client(s) for s in ("ec2", "ecs", "elbv2", "logs"))
    # One VPC of that name: a killed run never makes a second.
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    assert len(ec2.describe_subnets(Filters=in_vpc)["Subnets"]) == 4
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] in ("pending", "available")]
    assert len(nats) == 1
    assert len(ec2.describe_addresses()["Addresses"]) == 1, "no Elastic IP left over by a killed run"
    assert len(ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
               ["InternetGateways"]) == 1
    groups = [g["GroupName"] for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
              if g["GroupName"] != "default"]
    assert sorted(groups) == sorted(f"{PREFIX}-{k}" for k in ("alb", "api", "workers", "valkey", "db"))
    assert [t["TargetGroupName"] for t in elbv2.describe_target_groups()["TargetGroups"]] == [f"{PREFIX}-backend-tg"]
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    assert sorted(g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]) == \
        [f"/ecs/{PREFIX}-backend", f"/ecs/{PREFIX}-backend-workers"]
    families = ecs.list_task_definition_families(status="ACTIVE")["families"]
    assert sorted(families) == sorted(f"{PREFIX}-{f}" for f in ("backend-task", "worker-transcode", "worker-cron"))
    for family in families:
        # One revision each: a killed run never registers a second, identical one.
        assert len(ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]) == 1, family
    services = ecs.list_services(cluster=f"{PREFIX}-cluster")["serviceArns"]
    assert len(services) == 3
    assert len(emulator.client("rds").describe_db_instances()["DBInstances"]) == 1
    assert len(emulator.client("elasticache").describe_replication_groups()["ReplicationGroups"]) == 1


def test_release(emulator):
    emulator.push_image(REPOSITORY, "v1")
    run_playbook("playbooks/deploy.yml", "-e", "release_image_tag=v1", env=emulator.env())
    for family in SERVICES.values():
        assert len(active_revisions(emulator, family)) >= 2, family
    assert emulator.client("ssm").get_parameter(Name="/wanzami/local/release")["Parameter"]["Value"]


def test_a_dry_run_only_reads_and_says_what_it_would_delete(emulator):
    emulator.clear_recording()
    run = teardown(emulator, "--check")
    assert run.changed > 0, run
    assert emulator.mutating_calls() == []
    assert emulator.calls(), "the dry run should have read the account"
    assert said(run, "Check mode: bucket wanzami-local-ecs-config-us-east-2 (us-east-2) would be deleted")
    assert said(run, f"Check mode: the target groups {PREFIX}-backend-tg would be deleted")
    assert len(vpcs(emulator)) == 1 and cluster_status(emulator) == "ACTIVE"
    assert sorted(live_services(emulator)) == sorted(SERVICES)


def test_production_is_refused_before_any_request(emulator):
    emulator.clear_recording()
    # The emulator's endpoint reaches every botocore client through AWS_ENDPOINT_URL: any request would be recorded.
    run = teardown(emulator, inventory="inventories/production", check=False)
    assert run.rc != 0 and run.failed == 1, run
    assert said(run, "production is protected (teardown_protected) and nothing was touched")
    assert said(run, "type: ansible-playbook playbooks/teardown.yml -i inventories/production -e teardown_confirm=production")
    assert emulator.calls() == []


def test_a_protected_database_stops_the_teardown_before_anything_is_deleted(emulator):
    rds = emulator.client("rds")
    rds.modify_db_instance(DBInstanceIdentifier=DATABASE, DeletionProtection=True, ApplyImmediately=True)
    try:
        emulator.clear_recording()
        run = teardown(emulator, check=False)
        assert run.rc != 0 and run.failed == 1, run
        assert said(run, f"rds: {DATABASE} has deletion protection; turn it off with rds_deletion_protection=false and "
                         "site.yml --tags rds, then run teardown again")
        assert emulator.mutating_calls() == []
        assert len(vpcs(emulator)) == 1 and cluster_status(emulator) == "ACTIVE"
        assert sorted(live_services(emulator)) == sorted(SERVICES)
        assert rds.describe_db_instances(DBInstanceIdentifier=DATABASE)["DBInstances"][0]["DeletionProtection"]
    finally:
        rds.modify_db_instance(DBInstanceIdentifier=DATABASE, DeletionProtection=False, ApplyImmediately=True)


def test_teardown_removes_everything_of_the_environment(emulator):
    started = time.monotonic()
    run = teardown(emulator)
    TIMES["teardown"] = time.monotonic() - started
    assert run.changed > 0
    # The media bucket holds the users' media: kept, and the run says so.
    assert said(run, f"The media bucket {MEDIA} (eu-north-1) is kept: it holds the users'")

    ec2 = emulator.client("ec2")
    assert vpcs(emulator) == []
    assert tagged(ec2.describe_vpcs()["Vpcs"], "environment", "local") == []
    assert tagged(ec2.describe_subnets()["Subnets"]) == []
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"].startswith(PREFIX)] == []
    assert tagged(ec2.describe_internet_gateways()["InternetGateways"]) == []
    assert [n for n in tagged(ec2.describe_nat_gateways()["NatGateways"]) if n["State"] != "deleted"] == []
    assert tagged(ec2.describe_addresses()["Addresses"]) == []
    assert tagged(ec2.describe_route_tables()["RouteTables"]) == []

    assert live_services(emulator) == []
    assert cluster_status(emulator) in ("INACTIVE", "MISSING")
    for family in SERVICES.values():
        assert active_revisions(emulator, family) == [], family
    scaling = emulator.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [t for t in scaling if t["ResourceId"].startswith(f"service/{CLUSTER}/")] == []
    assert [r["Name"] for r in emulator.client("events").list_rules()["Rules"] if r["Name"].startswith(PREFIX)] == []

    elbv2 = emulator.client("elbv2")
    assert [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]] == []
    assert [tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]] == []
    assert emulator.client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{PREFIX}")["logGroups"] == []
    assert [r["RoleName"] for r in emulator.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)] == []
    ssm = emulator.client("ssm")
    assert ssm.get_parameters_by_path(Path="/wanzami/local", Recursive=True)["Parameters"] == []
    assert [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)] == [MEDIA]

    rds = emulator.client("rds")
    assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == []
    assert [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]] == []
    assert [g["DBParameterGroupName"] for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
            if g["DBParameterGroupName"].startswith(PREFIX)] == []
    # The local environment goes without a final snapshot (teardown_final_snapshot: false).
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    elasticache = emulator.client("elasticache")
    assert elasticache.describe_replication_groups()["ReplicationGroups"] == []
    assert [g["CacheSubnetGroupName"] for g in elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
            if g["CacheSubnetGroupName"].startswith(PREFIX)] == []
    assert emulator.client("ecr").describe_repositories()["repositories"] == []


def test_a_second_teardown_changes_nothing(emulator):
    started = time.monotonic()
    run = teardown(emulator)
    TIMES["again"] = time.monotonic() - started
    assert run.changed == 0, run
    print(f"teardown {TIMES.get('teardown', 0):.0f} s, again {TIMES['again']:.0f} s")


def test_the_media_bucket_goes_only_when_asked(emulator):
    s3 = emulator.client("s3")
    s3.put_object(Bucket=MEDIA, Key="videos/trailer.mp4", Body=b"not really a video")
    run = teardown(emulator, "-e", "teardown_media_bucket=true")
    assert run.changed == 1, run
    assert [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)] == []


def test_an_interrupted_provisioning_is_torn_down_too(emulator):
    # What a provisioning stopped before the data layer leaves: the network, its groups, the registry.
    run_playbook("playbooks/site.yml", "--tags", "vpc,security_groups,ecr", env=emulator.env())
    assert len(vpcs(emulator)) == 1
    run = teardown(emulator)
    assert run.changed > 0, run
    ec2 = emulator.client("ec2")
    assert vpcs(emulator) == []
    assert tagged(ec2.describe_subnets()["Subnets"]) == []
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"].startswith(PREFIX)] == []
    assert tagged(ec2.describe_addresses()["Addresses"]) == []
    assert emulator.client("ecr").describe_repositories()["repositories"] == []


def test_the_operator_policy_allows_every_call_of_this_journey(emulator):
    """docs/iam/operator-policy.json against what this module's runs asked of the emulator: interrupted
    provisionings, a release, the teardown's dry run and the teardowns."""
    actions = assert_the_operator_policy_allows_everything_recorded(emulator)
    assert {"ec2:DeleteVpc", "ecs:DeleteService", "rds:DeleteDBInstance", "elasticache:DeleteReplicationGroup"} <= actions
