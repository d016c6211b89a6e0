"""Your own environment, from nothing (issue 21): `playbooks/init.yml` (what `make env` runs) writes a new
environment into a copy of the repository, as a new user would in their clone, and the README's order takes it
through a dry run, secrets, provisioning and its first release on the embedded emulator.

init refuses bad input and an existing name without writing anything; the vault it writes decrypts with the
password it wrote, holds generated secrets RDS accepts and placeholders secrets.yml refuses; the first site.yml,
with no image in the registry yet, creates the services with no task to start and says what to run next;
site.yml with the first image's tag brings each to its desired count in the same run, and a plain site.yml
after it changes nothing."""

import json
import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO
from tests.conftest import run_playbook

pytestmark = pytest.mark.system

NAME, ACCOUNT, REGION = "dev", "123456789012", "eu-west-1"
PREFIX = f"wanzami-{NAME}"
INVENTORY = f"inventories/{NAME}"
INIT = {"init_name": NAME, "init_account_id": ACCOUNT, "init_region": REGION, "init_cache": "replication_group",
        "init_domain": "api.example.com", "init_alarm_email": "ops@example.com",
        "init_certificate_arn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000"}
SERVICES = {f"{PREFIX}-backend-service": 2, f"{PREFIX}-worker-transcode-svc": 1, f"{PREFIX}-worker-cron-svc": 1}
# The moto gaps the local environment works around too (README, emulator notes): gp3's baseline left out of
# DescribeDBInstances, backup and maintenance windows that merely touch refused, the TLS-only bucket policy's
# Deny applied to its own plain-HTTP requests, dashboards that cannot be tagged; its load balancer serves nothing.
EMULATOR_GAPS = {"rds_iops": 3000, "rds_storage_throughput": 125, "rds_backup_window": "02:00-03:00",
                 "s3_envfile_tls_only": False, "observability_dashboard_tags": {}, "release_smoke_test_url": ""}


def files_of(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and ".git" not in p.parts}


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """The repository as a user's clone has it: tracked and new files, no venv, nothing ignored."""
    root = tmp_path_factory.mktemp("clone") / "wanzami-infra"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, target = REPO / name, root / name
        if not source.exists() and not source.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    return root


@pytest.fixture(scope="module")
def certificate(emulator):
    """The certificate a user requests for the API's domain before init (the emulator's ACM issues it)."""
    acm = emulator.client("acm", REGION)
    return acm.request_certificate(DomainName=INIT["init_domain"], ValidationMethod="DNS")["CertificateArn"]


@pytest.fixture(scope="module")
def gaps(tmp_path_factory):
    path = tmp_path_factory.mktemp("vars") / "emulator.json"
    path.write_text(json.dumps(EMULATOR_GAPS))
    return path


def init(clone, **given):
    values = {**INIT, **given}
    args = [arg for key, value in values.items() for arg in ("-e", f"{key}={value}")]
    return run_playbook("playbooks/init.yml", *args, inventory="localhost,", cwd=clone, check=False)


def play(clone, emulator, gaps, playbook, *args, check=True):
    env = {**emulator.env(), "AWS_DEFAULT_REGION": REGION}
    return run_playbook(playbook, "-e", f"@{gaps}", *args, inventory=INVENTORY, env=env, cwd=clone, check=check)


def vault(clone, *command, stdin=None):
    return subprocess.run([str(BIN / "ansible-vault"), *command, "--vault-password-file", f"vault/{NAME}.password"],
                          cwd=clone, input=stdin, capture_output=True, text=True, check=True).stdout


def test_make_env_runs_init_with_what_it_was_given():
    # As a person types it: not inside make test's own make (whose MAKEFLAGS would add "Entering directory" lines).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(["make", "--no-print-directory", "-n", "env", f"NAME={NAME}", f"ACCOUNT={ACCOUNT}",
                          f"REGION={REGION}", "HTTPS=false"], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    (command,) = [line for line in dry.splitlines() if "playbooks/init.yml" in line]
    assert "ansible-playbook playbooks/init.yml" in command
    for given in (f"init_name='{NAME}'", f"init_account_id='{ACCOUNT}'", f"init_region='{REGION}'", "init_https='false'"):
        assert given in command, command


@pytest.mark.parametrize(("given", "named"), [
    ({"init_account_id": "12345"}, "init_account_id (ACCOUNT) must be the 12-digit id"),
    ({"init_region": "europe"}, "init_region (REGION) must be an AWS region"),
    ({"init_name": "Dev-1"}, "init_name (NAME) must be 2 to 12 lowercase letters and digits"),
    ({"init_name": "production"}, "init_name production is taken"),
    ({"init_certificate_arn": ""}, "init_certificate_arn (CERTIFICATE) must be an ACM certificate ARN in eu-west-1"),
    ({"init_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0000"},
     "init_certificate_arn (CERTIFICATE) must be an ACM certificate ARN in eu-west-1"),
    ({"init_cache": "redis"}, "init_cache (CACHE) must be serverless, replication_group or none"),
])
def test_bad_input_is_refused_and_nothing_is_written(clone, given, named):
    before = files_of(clone)
    run = init(clone, **given)
    assert run.rc != 0 and " ".join(named.split()) in " ".join(run.output.split()), run
    assert "Nothing was written" in run.output
    assert files_of(clone) == before


def test_init_writes_the_environment(clone, certificate):
    run = init(clone, init_certificate_arn=certificate)
    assert run.rc == 0, run
    for path in (f"inventories/{NAME}/hosts.yml", f"group_vars/{NAME}/main.yml", f"vault/{NAME}.yml", f"vault/{NAME}.password"):
        assert (clone / path).is_file(), path
    assert (clone / INVENTORY / "group_vars").resolve() == (clone / "group_vars").resolve()
    assert oct((clone / f"vault/{NAME}.password").stat().st_mode & 0o777) == "0o600"
    # The password stays out of git; the encrypted vault does not.
    ignored = subprocess.run(["git", "check-ignore", "-q", f"vault/{NAME}.password"], cwd=REPO, check=False)
    assert ignored.returncode == 0
    assert subprocess.run(["git", "check-ignore", "-q", f"vault/{NAME}.yml"], cwd=REPO, check=False).returncode == 1

    decided = yaml.safe_load((clone / f"group_vars/{NAME}/main.yml").read_text())
    assert decided["wanzami_env"] == NAME and decided["wanzami_aws_account_id"] == ACCOUNT
    assert decided["wanzami_region"] == REGION and decided["security_groups_alb_ports"] == [80, 443]
    assert decided["ecs_service_certificate_arn"] == certificate
    assert decided["release_smoke_test_host"] == "api.example.com"
    assert decided["observability_alarm_emails"] == ["ops@example.com"]
    assert decided["teardown_protected"] is False
    # Every value is there because a person decides it: each paragraph of values says why in a comment.
    for paragraph in (clone / f"group_vars/{NAME}/main.yml").read_text().split("\n\n"):
        lines = [line for line in paragraph.splitlines() if line and line != "---"]
        if any(not line.startswith(("#", " ")) for line in lines):
            assert any(line.startswith("#") for line in lines), paragraph

    secrets = yaml.safe_load(vault(clone, "view", f"vault/{NAME}.yml"))["wanzami_secret_values"]
    assert set(secrets) == {"DATABASE_PASSWORD", "JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "SMTP_PASS",
                            "S3_ACCESS_KEY", "S3_SECRET_KEY", "GOOGLE_CLIENT_SECRET"}
    assert 8 <= len(secrets["DATABASE_PASSWORD"]) <= 128 and not set(secrets["DATABASE_PASSWORD"]) & set(' "/@')
    assert len(secrets["JWT_ACCESS_SECRET"]) >= 64 and secrets["JWT_ACCESS_SECRET"] != secrets["JWT_REFRESH_SECRET"]
    assert {k for k, v in secrets.items() if v == "CHANGE-ME"} == {"SMTP_PASS", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                                                                   "GOOGLE_CLIENT_SECRET"}

    awx = yaml.safe_load((clone / "awx/inventories.yml").read_text())["awx_environments"]
    (entry,) = [e for e in awx if e["name"] == NAME]
    assert entry["source_path"] == f"inventories/{NAME}/hosts.yml" and entry["services"] == list(SERVICES)

    for step in ("ansible-vault edit vault/dev.yml", "playbooks/site.yml -i inventories/dev --check --diff",
                 "playbooks/secrets.yml -i inventories/dev"):
        assert step in run.output, step


def test_the_inventory_resolves_what_awx_lists(clone):
    out = subprocess.run([str(BIN / "ansible"), "-i", INVENTORY, "localhost", "-m", "ansible.builtin.debug",
                          "-a", "msg={{ ecs_service_services | map(attribute='name') | list }}"],
                         cwd=clone, env={**os.environ, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_NOCOLOR": "1"},
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.split("=>", 1)[1])["msg"] == list(SERVICES)


def test_init_refuses_to_overwrite(clone):
    before = files_of(clone)
    run = init(clone, init_account_id="210987654321")
    assert run.rc != 0 and "Environment dev exists already, nothing was written" in run.output, run
    assert files_of(clone) == before


def test_the_dry_run_only_reads(clone, emulator, gaps):
    emulator.clear_recording()
    run = play(clone, emulator, gaps, "playbooks/site.yml", "--check", "--diff")
    assert run.failed == 0, run
    assert emulator.mutating_calls() == []
    assert "PLAN (dry run: nothing was changed)" in run.output


def test_secrets_refuses_the_placeholders_then_writes_them(clone, emulator, gaps):
    password = ["--vault-password-file", f"vault/{NAME}.password"]
    emulator.clear_recording()
    refused = play(clone, emulator, gaps, "playbooks/secrets.yml", *password, check=False)
    assert refused.rc != 0, refused
    assert "still holds CHANGE-ME for SMTP_PASS, S3_ACCESS_KEY, S3_SECRET_KEY, GOOGLE_CLIENT_SECRET" in refused.output
    assert emulator.mutating_calls() == []

    # What `ansible-vault edit` does, without an editor.
    plain = vault(clone, "view", f"vault/{NAME}.yml").replace("CHANGE-ME", "filled-by-the-owner")
    vault(clone, "encrypt", "--output", f"vault/{NAME}.yml", "-", stdin=plain)
    play(clone, emulator, gaps, "playbooks/secrets.yml", *password)
    names = {p["Name"] for p in emulator.client("ssm", REGION).describe_parameters()["Parameters"]}
    assert {f"/wanzami/{NAME}/{n}" for n in ("DATABASE_PASSWORD", "SMTP_PASS", "GOOGLE_CLIENT_SECRET")} <= names


def test_the_first_provisioning_creates_the_services_with_no_task_to_start(clone, emulator, gaps):
    first = play(clone, emulator, gaps, "playbooks/site.yml")
    assert first.changed > 0
    services = emulator.client("ecs", REGION).describe_services(cluster=f"{PREFIX}-cluster", services=list(SERVICES))
    assert {s["serviceName"]: s["desiredCount"] for s in services["services"]} == dict.fromkeys(SERVICES, 0)
    assert "deploy.yml" in first.output and "release_image_tag" in first.output
    listeners = emulator.client("elbv2", REGION).describe_listeners(
        LoadBalancerArn=emulator.client("elbv2", REGION).describe_load_balancers(
            Names=[f"{PREFIX}-backend-alb"])["LoadBalancers"][0]["LoadBalancerArn"])["Listeners"]
    assert sorted(listener["Port"] for listener in listeners) == [80, 443]
    again = play(clone, emulator, gaps, "playbooks/site.yml")
    assert again.changed == 0, again


def test_site_with_a_release_tag_releases_the_first_image_in_the_same_run(clone, emulator, gaps):
    """The first release as the README's one-run form, `site.yml -e release_image_tag=TAG`, brings each service
    from 0 to its desired count on the image's digest (deploy.yml's first release is test_site.py's); a plain
    site.yml after it changes nothing."""
    digest = emulator.push_image("wanzami-backend", "v1", region=REGION)
    run = play(clone, emulator, gaps, "playbooks/site.yml", "-e", "release_image_tag=v1")
    assert "Waiting for their first image" not in run.output
    ecs = emulator.client("ecs", REGION)
    services = ecs.describe_services(cluster=f"{PREFIX}-cluster", services=list(SERVICES))["services"]
    assert {s["serviceName"]: (s["desiredCount"], s["runningCount"]) for s in services} == \
        {name: (count, count) for name, count in SERVICES.items()}
    for service in services:
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert definition["containerDefinitions"][0]["image"].endswith(f"/wanzami-backend@{digest}"), service["serviceName"]
    again = play(clone, emulator, gaps, "playbooks/site.yml")
    assert again.changed == 0, again
