"""Bad input never reaches AWS: each malformed value, against every playbook that
reads it, fails with a message naming the variable and what it allows, and the
emulator receives no request at all.

site.yml and teardown.yml validate every role's inputs before their first API
call; deploy.yml and rollback.yml validate the release's (which read the
registry's name from ecr_repositories); secrets.yml checks the vault against
wanzami_secret_names. A value is run through each playbook listed with it."""

import json

import pytest

from tests.conftest import REPO
from tests.conftest import run_playbook

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"
TEARDOWN = "playbooks/teardown.yml"
DEPLOY = "playbooks/deploy.yml"
ROLLBACK = "playbooks/rollback.yml"
SECRETS = "playbooks/secrets.yml"
STATUS = "playbooks/status.yml"
LOGS = "playbooks/logs.yml"
RUNBOOKS = {name: f"playbooks/runbooks/{name}.yml"
            for name in ("api_unhealthy", "worker_failing", "ecr_auth", "env_file", "scale", "restart")}
# What each playbook needs besides the bad value to get as far as validating it.
NEEDS = {DEPLOY: {"release_image_tag": "v1"}, SECRETS: {}}
ARGS = {SECRETS: ["--vault-password-file", "vault/local.password"]}

ROLES = (SITE, TEARDOWN)  # every role's inputs
RELEASE = (DEPLOY, ROLLBACK)  # the release role's inputs

HEALTH = {"path": "health", "interval": 30, "timeout": 5, "healthy_threshold": 2, "unhealthy_threshold": 3, "matcher": "200"}
TOO_BIG = {"name": "wanzami-local-api", "family": "wanzami-local-api", "repository": "wanzami-backend", "cpu": 512,
           "memory": 1536, "log_group": "api", "security_group": "wanzami-local-api", "desired_count": 1}

CASES = [
    # The architecture: what runs the API, and what phase 1 keeps on its one instance.
    ({"wanzami_compute": "lambda"}, ROLES, "wanzami_compute lambda must be one of ecs_fargate, ec2_single, ec2_asg"),
    ({"wanzami_cache": "maybe"}, ROLES, "wanzami_cache and wanzami_database must be true or false"),
    ({"wanzami_compute": "ec2_single"}, ROLES, "wanzami_compute ec2_single keeps the database and cache on the instance"),
    ({"wanzami_compute": "ec2_asg"}, RELEASE, "deploy.yml and rollback.yml move ECS services, and local runs its API on ec2_asg"),
    ({"wanzami_compute": "ec2_asg"}, (STATUS, LOGS), "ECS services, and local runs its API on ec2_asg (wanzami_compute)"),
    # Regions: known to botocore's endpoint data, refused by the variable's own name (issue 18).
    ({"wanzami_region": "us-east-9"}, ROLES, "wanzami_region 'us-east-9' is not an AWS region botocore knows"),
    ({"s3_envfile_media_region": "us-east-9"}, ROLES, "s3_envfile_media_region 'us-east-9' is not an AWS region"),
    ({"release_region": "us-east-9"}, RELEASE, "release_region 'us-east-9' is not an AWS region botocore knows"),
    # Typos: a variable with a role's prefix that nothing reads, the closest named (issue 18).
    ({"ecs_service_servics": []}, (SITE, TEARDOWN, DEPLOY, ROLLBACK),
     "ecs_service_servics is set but no role or playbook reads it (did you mean ecs_service_services?)"),
    # The network (vpc): CIDR syntax, host bits, containment, two zones, NAT mode.
    ({"vpc_cidr": "172.31.0.0/33"}, ROLES, "vpc_cidr '172.31.0.0/33' is not a CIDR block"),
    ({"vpc_cidr": "172.31.0.1/16"}, ROLES, "has host bits set: use 172.31.0.0/16"),
    ({"vpc_public_subnets": [{"cidr": "172.31.0.0/20", "az": "a"}]}, ROLES,
     "vpc_public_subnets must span at least two availability zones"),
    ({"vpc_private_subnets": [{"cidr": "10.9.0.0/20", "az": "a"}, {"cidr": "172.31.48.0/20", "az": "b"}]}, ROLES,
     "vpc_private_subnets[0].cidr 10.9.0.0/20 is outside vpc_cidr 172.31.0.0/16"),
    ({"vpc_nat_mode": "sometimes"}, ROLES, "vpc_nat_mode"),
    # Security groups: ports 1-65535, CIDRs, egress mode.
    ({"security_groups_alb_ports": [80, 70000]}, ROLES, "security_groups_alb_ports must be a non-empty list of ports"),
    ({"security_groups_alb_ingress_cidrs": ["0.0.0.0"]}, ROLES, "not valid: 0.0.0.0"),
    ({"security_groups_egress": "some"}, ROLES, "security_groups_egress"),
    # The registry: a repository name, which the release reads too.
    ({"ecr_repositories": ["Wanzami_Backend"]}, ROLES, "not valid: Wanzami_Backend"),
    ({"ecr_repositories": ["Wanzami_Backend"]}, RELEASE, "release_repository 'Wanzami_Backend' is not an ECR repository name"),
    # The cache and the database.
    ({"valkey_replicas": 9}, ROLES, "valkey_replicas 9 must be between 0 and 5"),
    ({"rds_allocated_storage": 5}, ROLES, "rds_allocated_storage 5 must be a whole number of GiB from 20 (gp3) to 65536"),
    ({"rds_performance_insights_retention": 8}, ROLES, "rds_performance_insights_retention 8 must be 7, a multiple of 31"),
    ({"rds_engine_version": "abc"}, ROLES, "rds_engine_version 'abc' must be a PostgreSQL version such as 16 or 16.4"),
    # The env file: its bucket in the cluster's region, variable names, no secret in it.
    ({"s3_envfile_region": "eu-north-1"}, ROLES,
     "s3_envfile_region is eu-north-1 but the cluster runs in us-east-2 (s3_envfile_cluster_region)"),
    ({"wanzami_app_environment": {"PORT": "4000", "JWT_ACCESS_SECRET": "x"}}, ROLES,
     "JWT_ACCESS_SECRET is a secret (s3_envfile_secret_names) and must not be in s3_envfile_variables"),
    ({"wanzami_app_environment": {"bad-name": "x"}}, ROLES, "bad names: bad-name"),
    # The cluster: log retention CloudWatch accepts.
    ({"ecs_cluster_log_retention_days": 8}, ROLES, "ecs_cluster_log_retention_days must be one of: 1, 3, 5, 7, 14"),
    # The services: Fargate sizes, the health check path.
    ({"ecs_service_services": [TOO_BIG]}, ROLES,
     "ecs_service_services[wanzami-local-api] cpu/memory 512/1536 is not a Fargate size"),
    ({"ecs_service_target_group_health": HEALTH}, ROLES, "ecs_service_target_group_health path must start with '/'"),
    # The release: what to release, and how.
    ({"release_image_tag": ""}, (DEPLOY,), "give exactly one of release_image_tag"),
    ({"release_image_tag": "latest"}, (DEPLOY,), "release_image_tag latest is refused"),
    ({"release_image_digest": "sha256:" + "a" * 64}, (DEPLOY, ROLLBACK), "(several given)"),
    ({"release_image_tag": "", "release_image_digest": "sha256:xyz"}, (DEPLOY,),
     "must be sha256: followed by 64 lowercase hex digits"),
    ({"release_image_tag": "-bad"}, (DEPLOY,), "is not a Docker tag"),
    ({"release_migration_command": ["npx", "prisma", "migrate", "deploy"], "release_migration_service": "nope"}, RELEASE,
     "release_migration_service 'nope' must be one of release_services"),
    ({"release_smoke_test_url": "ftp://example.test/"}, RELEASE, "release_smoke_test_url must be"),
    ({"release_smoke_test_url": "auto", "release_smoke_test_path": "health"}, RELEASE,
     "release_smoke_test_url auto needs release_alb_name and a release_smoke_test_path starting with '/'"),
    ({"release_keep_revisions": 1}, RELEASE, "must keep at least 2 revisions"),
    ({"release_wait_timeout": 0}, RELEASE, "must be above 0 seconds"),
    ({"release_build": True}, (DEPLOY,), "release_image_build_path"),
    # Teardown of a protected environment, and secrets the vault does not hold.
    ({"teardown_protected": True}, (TEARDOWN,), "teardown: local is protected (teardown_protected) and nothing was touched"),
    ({"wanzami_secret_names": ["DATABASE_PASSWORD", "NOT_IN_THE_VAULT"]}, (SECRETS,),
     "The vault file has no value for NOT_IN_THE_VAULT"),
    # The environment's AWS account (playbooks/tasks/account.yml), checked before its STS call in every playbook.
    ({"wanzami_aws_account_id": "12345"}, (*ROLES, *RELEASE, SECRETS, RUNBOOKS["api_unhealthy"], RUNBOOKS["env_file"]),
     "wanzami_aws_account_id '12345' must be an AWS account id: 12 digits"),
    # How every AWS call retries (wanzami_aws_module_defaults' aws_config), checked with the account.
    ({"wanzami_aws_retry_mode": "eager"}, (SITE, DEPLOY, SECRETS, RUNBOOKS["env_file"]),
     "wanzami_aws_retry_mode 'eager' must be standard, adaptive or legacy"),
    ({"wanzami_aws_max_attempts": "0"}, (SITE, ROLLBACK), "wanzami_aws_max_attempts '0' must be a whole number of attempts"),
    # The runbooks' own inputs (the AWX surveys).
    ({"runbook_log_lines": -1}, (RUNBOOKS["api_unhealthy"], RUNBOOKS["worker_failing"]),
     "runbook_log_lines must be a whole number of lines"),
    ({"runbook_service": "nope"}, (RUNBOOKS["worker_failing"],), "runbook_service must be one of wanzami-local-backend-service"),
    ({"runbook_image_tag": "-bad"}, (RUNBOOKS["ecr_auth"],), "runbook_image_tag '-bad' is not a Docker tag"),
    ({"env_file_action": "delete"}, (RUNBOOKS["env_file"],), "env_file_action must be show (read-only) or upload"),
    ({"scale_service": "nope", "scale_desired_count": 2}, (RUNBOOKS["scale"],), "scale_service must be one of"),
    ({"scale_service": "wanzami-local-worker-cron-svc", "scale_desired_count": "x"}, (RUNBOOKS["scale"],),
     "scale_desired_count must be a whole number of tasks"),
    ({"scale_service": "wanzami-local-worker-cron-svc", "scale_min_capacity": 1, "scale_max_capacity": 3}, (RUNBOOKS["scale"],),
     "wanzami-local-worker-cron-svc has no autoscaling in ecs_service_services: give scale_desired_count"),
    ({"restart_service": "nope"}, (RUNBOOKS["restart"],), "restart_service must be all or one of"),
    # The day-2 verbs' inputs (status.yml takes none but the architecture).
    ({"logs_service": "wanzami-local-backend-service", "logs_minutes": "5m"}, (LOGS,),
     "logs_minutes must be a whole number of minutes, 1 or more (got '5m')"),
]


def matrix():
    for extra, playbooks, message in CASES:
        for playbook in playbooks:
            name = f"{playbook.split('/')[-1]}:{','.join(extra)}"
            yield pytest.param(playbook, extra, message, id=name)


@pytest.mark.parametrize(("playbook", "extra", "message"), list(matrix()))
def test_bad_input_fails_before_any_api_call(emulator, playbook, extra, message):
    emulator.clear_recording()
    values = {**NEEDS.get(playbook, {}), **extra}
    run = run_playbook(playbook, *ARGS.get(playbook, []), "-e", json.dumps(values), env=emulator.env(), check=False)
    assert run.rc != 0, run
    assert message in " ".join(run.output.split()), run
    assert emulator.calls() == []


def test_every_playbook_but_the_read_only_summary_is_in_the_matrix():
    """A new playbook that reads inputs must join the matrix. summary.yml only reads names; awx_configure.yml
    configures AWX, not AWS (tests/integration/test_awx.py checks its data); init.yml writes files and calls
    no AWS API (tests/system/test_init.py runs its bad input)."""
    found = [*(REPO / "playbooks").glob("*.yml"), *(REPO / "playbooks" / "runbooks").glob("*.yml")]
    playbooks = {str(p.relative_to(REPO)) for p in found} - {"playbooks/summary.yml", "playbooks/awx_configure.yml",
                                                             "playbooks/init.yml"}
    assert playbooks == {p for _, listed, _ in CASES for p in listed}


# Runbooks and day-2 verbs on every architecture (issue 18): on an inventory whose API runs on EC2 each one
# refuses at once, saying what serves that architecture, and the emulator receives no request.
EC2_EXAMPLES = ("inventories/examples/ec2_asg", "inventories/examples/ec2_phase1")
NOT_ON_EC2 = {**{p: "works on ECS services" for p in RUNBOOKS.values()},
              STATUS: "status.yml reads ECS services", LOGS: "logs.yml reads the CloudWatch logs of ECS services"}


@pytest.mark.parametrize("inventory", EC2_EXAMPLES, ids=lambda i: i.rsplit("/", 1)[-1])
@pytest.mark.parametrize("playbook", sorted(NOT_ON_EC2), ids=lambda p: p.rsplit("/", 1)[-1])
def test_ecs_verbs_refuse_an_ec2_architecture_before_any_request(emulator, inventory, playbook):
    emulator.clear_recording()
    run = run_playbook(playbook, inventory=inventory, env=emulator.env(), check=False)
    assert run.rc != 0, run
    said = " ".join(run.output.split())
    assert NOT_ON_EC2[playbook] in said and "(wanzami_compute)" in said, run
    assert "playbooks/site.yml" in said or "on the instances" in said, run
    assert emulator.calls() == []


ROLE_ALONE = """
- name: The vpc role alone, as a playbook of a user's own would run it
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/wanzami.infra.aws: "{{ wanzami_aws_module_defaults }}"
  roles:
    - wanzami.infra.vpc
"""


def test_a_role_run_alone_validates_its_own_inputs_before_any_request(emulator, tmp_path):
    """site.yml validates every role once, up front (wanzami_validated_roles); a role outside it still validates."""
    emulator.clear_recording()
    playbook = tmp_path / "vpc_alone.yml"
    playbook.write_text(ROLE_ALONE)
    run = run_playbook(playbook, "-e", json.dumps({"vpc_cidr": "172.31.0.1/16"}), env=emulator.env(), check=False)
    assert run.rc != 0, run
    assert "has host bits set: use 172.31.0.0/16" in " ".join(run.output.split()), run
    assert emulator.calls() == []
