"""Interrupted runs converge: site.yml killed (SIGKILL, the whole process group,
as a dead CI runner or a closed laptop would leave it) right after the network
started, in the middle of the data layer, and during the services; each time
run again from where it died; then the account holds exactly what a clean run
makes: one of everything, nothing duplicated, and a further run changes nothing."""

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import run_playbook

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"
PREFIX = "wanzami-local"
# Kill as soon as the emulator has received this request (it may or may not have been answered):
# in the network, in the data layer, and in the services (task definitions come before the services).
KILL_POINTS = ["CreateSubnet", "CreateDBInstance", "RegisterTaskDefinition"]


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
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.1)
        return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_three_interrupted_runs_then_one_more_leave_exactly_one_of_everything(emulator):
    run_playbook("playbooks/secrets.yml", "--vault-password-file", "vault/local.password", env=emulator.env())
    for operation in KILL_POINTS:
        assert run_until(emulator, operation), f"site.yml never reached {operation}"
    final = run_playbook(SITE, env=emulator.env())
    assert final.changed > 0, "the last run finishes what the killed ones left"
    again = run_playbook(SITE, env=emulator.env())
    assert again.changed == 0, again

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
