"""group_vars wiring: shared defaults in group_vars/all, each environment's
values in group_vars/<env>, and the environment's value winning."""

import ipaddress
import json
import os
import subprocess

import pytest
import yaml

from tests.conftest import BIN
from tests.conftest import REPO

ENVS = ("local", "staging", "production")


def resolved(env, *names, environ=None):
    """Variables as a play on the environment's localhost sees them (templates rendered)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update({"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_NOCOLOR": "1"}, **(environ or {}))
    args = json.dumps({"msg": {n: f"{{{{ {n} }}}}" for n in names}})
    out = subprocess.run(
        [str(BIN / "ansible"), "-i", f"inventories/{env}", "localhost", "-m", "ansible.builtin.debug", "-a", args],
        cwd=REPO, env=full_env, capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.split("=>", 1)[1])["msg"]


def test_every_inventory_links_the_shared_group_vars():
    for env in ENVS:
        link = REPO / "inventories" / env / "group_vars"
        assert link.is_symlink() and link.resolve() == REPO / "group_vars"
        hosts = yaml.safe_load((REPO / "inventories" / env / "hosts.yml").read_text())
        assert list(hosts) == [env], "localhost sits in the group named after the environment"
        assert (REPO / "group_vars" / env).is_dir()


def test_an_environment_value_overrides_the_shared_default():
    shared = yaml.safe_load((REPO / "group_vars/all/main.yml").read_text())
    assert shared["wanzami_name_prefix"] == "{{ wanzami_project }}-{{ wanzami_env }}"
    assert shared["wanzami_aws_endpoint_url"] is None
    # staging keeps the shared template; production overrides it.
    assert resolved("staging", "wanzami_name_prefix")["wanzami_name_prefix"] == "wanzami-staging"
    assert resolved("production", "wanzami_name_prefix")["wanzami_name_prefix"] == "wanzami"
    # local overrides the shared null endpoint with the emulator's, unless AWS_ENDPOINT_URL says otherwise.
    assert resolved("local", "wanzami_aws_endpoint_url")["wanzami_aws_endpoint_url"] == "http://127.0.0.1:4566"
    assert resolved("local", "wanzami_aws_endpoint_url", environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}) == {
        "wanzami_aws_endpoint_url": "http://127.0.0.1:9"}
    assert resolved("staging", "wanzami_aws_endpoint_url")["wanzami_aws_endpoint_url"] in (None, "", "None")


@pytest.mark.parametrize("env", ENVS)
def test_tags_name_the_environment(env):
    tags = resolved(env, "wanzami_tags")["wanzami_tags"]
    assert tags == {"project": "wanzami", "environment": env, "managed-by": "ansible"}


def test_production_reproduces_seed_000():
    names = ("wanzami_region", "vpc_name", "vpc_cidr", "vpc_existing", "vpc_public_subnets", "vpc_private_subnets",
             "vpc_nat_mode", "security_groups_alb_ports",
             "security_groups_alb_ingress_cidrs", "security_groups_service_ports", "security_groups_valkey_port",
             "security_groups_db_port", "security_groups_egress", "security_groups_name_prefix", "ecr_repositories",
             "s3_envfile_region", "s3_envfile_key", "s3_envfile_media_bucket", "s3_envfile_media_region")
    prod = resolved("production", *names)
    assert prod["wanzami_region"] == "us-east-2"
    # Seed 000's network runs in the account's default VPC (docs/architecture.md, Network): adopted, not created beside it.
    assert (prod["vpc_existing"], prod["vpc_cidr"]) == ("default", "172.31.0.0/16")
    # The ALB's public subnets in us-east-2a and us-east-2b (docs/architecture.md, Network): the default subnets, as they are.
    assert prod["vpc_public_subnets"] == [{"cidr": "172.31.0.0/20", "az": "us-east-2a"},
                                          {"cidr": "172.31.16.0/20", "az": "us-east-2b"}]
    # The private ones behind one NAT gateway avoid every default subnet (AWS's /20 per zone: us-east-2c's 172.31.32.0/20).
    assert prod["vpc_private_subnets"] == [{"cidr": "172.31.48.0/20", "az": "us-east-2a"},
                                           {"cidr": "172.31.64.0/20", "az": "us-east-2b"}]
    default_subnets = [ipaddress.ip_network(f"172.31.{16 * n}.0/20") for n in range(3)]
    assert not any(ipaddress.ip_network(s["cidr"]).overlaps(d) for s in prod["vpc_private_subnets"] for d in default_subnets)
    assert prod["vpc_nat_mode"] == "single"
    assert prod["security_groups_alb_ports"] == [80]
    assert prod["security_groups_alb_ingress_cidrs"] == ["0.0.0.0/0"]
    assert prod["security_groups_service_ports"] == [4000]
    assert (prod["security_groups_valkey_port"], prod["security_groups_db_port"]) == (6379, 5432)
    assert prod["security_groups_egress"] == "all"
    # Seed 000's names carry no environment (wanzami-cluster, wanzami-backend-alb).
    assert prod["security_groups_name_prefix"] == "wanzami"
    assert prod["ecr_repositories"] == ["wanzami-backend"]
    # The env file in the cluster's region, the media where it is (docs/architecture.md, Data stores).
    assert (prod["s3_envfile_region"], prod["s3_envfile_key"]) == ("us-east-2", "wanzami_assets/.env")
    assert (prod["s3_envfile_media_bucket"], prod["s3_envfile_media_region"]) == ("wanzami-bucket", "eu-north-1")
    # Only the emulator's inventory turns the TLS-only bucket policy off.
    for env in ("staging", "production", "all"):
        assert "s3_envfile_tls_only" not in (REPO / "group_vars" / env).joinpath("main.yml").read_text()


def test_each_environment_reads_its_own_account_id_and_commits_none():
    """wanzami_aws_account_id comes from WANZAMI_AWS_ACCOUNT_ID_<ENV>, the environment's own: one exported for
    another environment vouches for nothing. local names the emulators' account; no real id is committed."""
    # Whatever this shell exports is blanked (an empty variable is an unset one); staging's is set.
    others = {**{k: "" for k in os.environ if k.startswith("WANZAMI_AWS_ACCOUNT_ID_")},
              "WANZAMI_AWS_ACCOUNT_ID_STAGING": "222222222222"}
    assert resolved("production", "wanzami_aws_account_id", "wanzami_aws_account_id_env_var", environ=others) == {
        "wanzami_aws_account_id": "", "wanzami_aws_account_id_env_var": "WANZAMI_AWS_ACCOUNT_ID_PRODUCTION"}
    assert resolved("production", "wanzami_aws_account_id",
                    environ={**others, "WANZAMI_AWS_ACCOUNT_ID_PRODUCTION": "333333333333"}) == {
        "wanzami_aws_account_id": "333333333333"}
    assert resolved("staging", "wanzami_aws_account_id", environ=others) == {"wanzami_aws_account_id": "222222222222"}
    assert resolved("local", "wanzami_aws_account_id", environ=others) == {"wanzami_aws_account_id": "123456789012"}
    for env in ("staging", "production"):
        assert "wanzami_aws_account_id:" not in (REPO / "group_vars" / env / "main.yml").read_text()
