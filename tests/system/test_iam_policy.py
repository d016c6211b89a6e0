"""docs/iam/operator-policy.json allows every call the operator's journeys make, and nothing of a service
they do not use.

The local inventory's journeys run once, on this module's own emulator, and nothing clears its recording:
a dry run of the empty account, secrets.yml, site.yml (then again, the alarms mailing another address), a
dry run and two releases (one with a migration),
rollback.yml, every runbook, summary.yml, teardown.yml's dry run and the teardown itself. Then
scripts/iam-policy --check judges every recorded request (the tests' own requests carry the harness's user
agent and are left out) against the committed policy. The examples' journeys (tests/system/test_examples.py)
went into the policy when it was generated (docs/iam/README.md); their services are the allowlist's rest."""

import json
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import REPO
from tests.conftest import run_playbook

pytestmark = pytest.mark.system

POLICY = REPO / "docs" / "iam" / "operator-policy.json"
SCRIPT = REPO / "scripts" / "iam-policy"
MIGRATION = json.dumps({"release_migration_command": ["npx", "prisma", "migrate", "deploy"]})
# The alarm topic mails someone, then someone else: the role subscribes, remembers (tags) and unsubscribes.
ONCALL = [json.dumps({"observability_alarm_emails": emails}) for emails in (["a@example.com"], ["b@example.com"])]
# Every service the roles call: the local journeys', then those only the examples use (seed 002's Auto Scaling
# group, its DLM snapshot policies and Route 53 health check).
SERVICES_OF_THE_LOCAL_JOURNEYS = {"application-autoscaling", "cloudwatch", "ec2", "ecr", "ecs", "elasticache",
                                  "elasticloadbalancing", "events", "iam", "logs", "rds", "s3", "sns", "ssm", "sts"}
SERVICES_OF_THE_EXAMPLES_ONLY = {"autoscaling", "dlm", "route53"}


def play(emulator, playbook, *args, check=True):
    return run_playbook(playbook, *args, env=emulator.env(), check=check)


def iam_policy(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def recording(emulator, tmp_path_factory):
    """Every request of the local journeys, as moto recorded them (a JSON-lines file)."""
    emulator.reset()
    play(emulator, "playbooks/site.yml", "--check")
    play(emulator, "playbooks/secrets.yml", "--vault-password-file", "vault/local.password")
    play(emulator, "playbooks/site.yml", "-e", ONCALL[0])
    play(emulator, "playbooks/site.yml", "-e", ONCALL[1], "--tags", "observability")
    for tag in ("v1", "v2"):
        emulator.push_image("wanzami-backend", tag)
    play(emulator, "playbooks/deploy.yml", "--check", "-e", "release_image_tag=v1", "-e", "release_smoke_test_url=auto")
    play(emulator, "playbooks/deploy.yml", "-e", "release_image_tag=v1")
    play(emulator, "playbooks/deploy.yml", "-e", "release_image_tag=v2", "-e", MIGRATION)
    play(emulator, "playbooks/rollback.yml")
    for runbook, *args in (["api_unhealthy"], ["worker_failing"], ["ecr_auth", "-e", "runbook_image_tag=v2"],
                           ["env_file"], ["scale", "-e", "scale_service=wanzami-local-worker-cron-svc",
                                          "-e", "scale_desired_count=2"],
                           ["restart", "-e", "restart_service=wanzami-local-worker-cron-svc"]):
        play(emulator, f"playbooks/runbooks/{runbook}.yml", *args)
    play(emulator, "playbooks/summary.yml")
    play(emulator, "playbooks/teardown.yml", "--check")
    play(emulator, "playbooks/teardown.yml", "-e", "teardown_media_bucket=true")
    path = tmp_path_factory.mktemp("iam") / "local.jsonl"
    with urllib.request.urlopen(f"{emulator.url}/moto-api/recorder/download-recording", timeout=30) as response:
        path.write_bytes(response.read())
    return path


def test_the_policy_allows_every_call_of_the_local_journeys(recording):
    result = iam_policy("--check", str(POLICY), "--partial", str(recording))
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = json.loads(iam_policy("--list", str(recording)).stdout)
    assert {action.split(":")[0] for action in recorded} == SERVICES_OF_THE_LOCAL_JOURNEYS
    assert "iam:PassRole" in recorded and "sts:GetCallerIdentity" in recorded


def test_the_policy_names_no_service_the_roles_do_not_use():
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    actions = [action for statement in policy["Statement"] for action in statement["Action"]]
    assert {action.split(":")[0] for action in actions} <= SERVICES_OF_THE_LOCAL_JOURNEYS | SERVICES_OF_THE_EXAMPLES_ONLY
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert not [action for action in actions if "*" in action], "exact actions only"
    # The same statements, shared out over managed policies AWS's size limit allows (scripts/iam-policy --split).
    parts = sorted(POLICY.parent.glob("operator-policy-*.json"))
    assert len(parts) >= 2
    statements = [s for part in parts for s in json.loads(part.read_text())["Statement"]]
    assert sorted(statements, key=lambda s: s["Sid"]) == sorted(policy["Statement"], key=lambda s: s["Sid"])
