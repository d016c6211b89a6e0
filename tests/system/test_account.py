"""The right account, or nothing (playbooks/tasks/account.yml): every playbook that calls AWS asks STS which
account its credentials are for and stops, before any other request, unless it is the environment's
wanzami_aws_account_id. The id of production and staging is never committed: it comes from
WANZAMI_AWS_ACCOUNT_ID_<ENV>, which the harness sets as an operator would (tests/emulator.py, Emulator.env()).

Every journey proves the match; here a read-only run does it explicitly, then a wrong id stops each kind of
playbook (provisioning, its dry run, a release, a teardown, secrets, a changing runbook) with both ids, the
caller's ARN and where its credentials came from, after GetCallerIdentity alone; and an environment with no
id at all is refused before any request, naming the variable to export."""

import pytest

from tests.conftest import run_playbook
from tests.emulator import ACCOUNT

pytestmark = pytest.mark.system

WRONG = "111111111111"
PROFILE = "wanzami-elsewhere"
VAULT = ["--vault-password-file", "vault/local.password"]


@pytest.fixture(scope="module")
def profile_env(tmp_path_factory):
    """A named profile with the emulator's dummy keys, as AWS_PROFILE would select a real one."""
    folder = tmp_path_factory.mktemp("aws")
    (folder / "credentials").write_text(f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    (folder / "config").write_text(f"[profile {PROFILE}]\nregion = us-east-2\n")
    return {"AWS_PROFILE": PROFILE, "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
            "AWS_CONFIG_FILE": str(folder / "config")}


def said(run, text):
    return text in " ".join(run.output.split())


def operations(emulator):
    return [operation for _, operation, _ in emulator.calls()]


def test_the_right_account_passes_in_a_dry_run(emulator):
    """production's id from WANZAMI_AWS_ACCOUNT_ID_PRODUCTION, checked in --check, then the play goes on."""
    emulator.clear_recording()
    run = run_playbook("playbooks/summary.yml", "--check", inventory="inventories/production", env=emulator.env())
    assert said(run, "Environment production in us-east-2"), run
    assert operations(emulator)[:2] == ["GetCallerIdentity", "ListAccountAliases"]
    assert emulator.mutating_calls() == []


# (playbook, arguments, inventory): every kind of playbook, each stopped by a wrong id. production's id is given
# the operator's way (WANZAMI_AWS_ACCOUNT_ID_PRODUCTION), with a named profile (AWS_PROFILE: its keys are botocore's
# to find); local's on the command line, with the default credential chain (local passes the emulator's keys, which
# amazon.aws refuses next to a profile).
PRODUCTION = "inventories/production"
LOCAL = "inventories/local"
MISMATCHES = [
    pytest.param("playbooks/site.yml", [], PRODUCTION, id="site"),
    pytest.param("playbooks/site.yml", ["--check", "--diff"], LOCAL, id="site-check"),
    pytest.param("playbooks/deploy.yml", ["-e", "release_image_tag=v1"], PRODUCTION, id="deploy"),
    # With the confirmation that lets production's teardown start.
    pytest.param("playbooks/teardown.yml", ["-e", "teardown_confirm=production"], PRODUCTION, id="teardown"),
    pytest.param("playbooks/secrets.yml", VAULT, LOCAL, id="secrets"),
    pytest.param("playbooks/runbooks/scale.yml", ["-e", "scale_service=wanzami-worker-cron-svc", "-e", "scale_desired_count=2"],
                 PRODUCTION, id="runbook-scale"),
]


@pytest.mark.parametrize(("playbook", "args", "inventory"), MISMATCHES)
def test_another_account_stops_the_run_after_one_read(emulator, profile_env, playbook, args, inventory):
    emulator.clear_recording()
    env = emulator.env()
    if inventory == PRODUCTION:
        env.update(profile_env, WANZAMI_AWS_ACCOUNT_ID_PRODUCTION=WRONG)
        env.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")  # the profile's keys, not these
    else:
        args = [*args, "-e", f"wanzami_aws_account_id={WRONG}"]
    run = run_playbook(playbook, *args, inventory=inventory, env=env, check=False)
    assert run.rc != 0, run
    env_name = inventory.rsplit("/", 1)[-1]
    assert said(run, f"Wrong AWS account, nothing was touched: {env_name} is account {WRONG} (wanzami_aws_account_id), "
                     f"and the credentials in use are for account {ACCOUNT} (arn:aws:"), run
    assert said(run, f"from AWS_PROFILE={PROFILE}." if inventory == PRODUCTION else
                "from the default credential chain (AWS_PROFILE is not set)."), run
    # aws_caller_info reads the account's alias too (IAM ListAccountAliases): two reads, nothing else.
    assert operations(emulator) == ["GetCallerIdentity", "ListAccountAliases"]


def test_an_environment_without_an_id_is_refused_before_any_request(emulator):
    """staging commits no id: without WANZAMI_AWS_ACCOUNT_ID_STAGING nothing runs, and production's does not vouch."""
    emulator.clear_recording()
    env = {**emulator.env(), "WANZAMI_AWS_ACCOUNT_ID_STAGING": ""}
    assert env["WANZAMI_AWS_ACCOUNT_ID_PRODUCTION"] == ACCOUNT
    run = run_playbook("playbooks/site.yml", "--check", inventory="inventories/staging", env=env, check=False)
    assert run.rc != 0, run
    assert said(run, "wanzami_aws_account_id is not set for staging, and nothing was touched"), run
    assert said(run, "Export WANZAMI_AWS_ACCOUNT_ID_STAGING=<its 12-digit account id>, or set wanzami_aws_account_id "
                     "in group_vars/staging/main.yml"), run
    assert emulator.calls() == []
