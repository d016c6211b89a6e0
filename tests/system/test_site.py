"""The provisioning journey against a fresh emulator: dry run on an empty
account, provision, re-provision, dry run on the converged account, and
bad input, each judged by what the emulator holds and the calls it received."""

import pytest
import yaml

from tests.conftest import REPO
from tests.conftest import assert_the_operator_policy_allows_everything_recorded
from tests.conftest import run_playbook
from tests.system.test_secrets import vault_values

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"
PREFIX = "wanzami-local"


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


def test_provision_then_reprovision_changes_nothing(emulator):
    # The database password reaches SSM from ansible-vault first, as in make demo.
    run_playbook("playbooks/secrets.yml", "--vault-password-file", "vault/local.password", env=emulator.env())
    first = run_playbook(SITE, env=emulator.env())
    assert first.changed > 0
    second = run_playbook(SITE, env=emulator.env())
    assert second.changed == 0, second


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
    # The repository holds no image yet: every service waits at 0 tasks for its first release (test_release.py
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


def test_site_with_a_release_tag_releases_the_first_image_in_the_same_run(emulator):
    """Last in the module: the services waited at 0 tasks for their first image (test_services_match_seed_000)."""
    ecs = emulator.client("ecs")
    cluster, names = f"{PREFIX}-cluster", [f"{PREFIX}-backend-service", f"{PREFIX}-worker-transcode-svc"]
    waiting = {s["serviceName"]: s["desiredCount"] for s in ecs.describe_services(cluster=cluster, services=names)["services"]}
    assert waiting == dict.fromkeys(names, 0)
    digest = emulator.push_image("wanzami-backend", "v1")
    run = run_playbook(SITE, "-e", "release_image_tag=v1", env=emulator.env())
    found = {s["serviceName"]: s for s in ecs.describe_services(cluster=cluster, services=names)["services"]}
    assert {n: (s["desiredCount"], s["runningCount"]) for n, s in found.items()} == {names[0]: (2, 2), names[1]: (1, 1)}
    for service in found.values():
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert definition["containerDefinitions"][0]["image"].endswith(f"/wanzami-backend@{digest}")
    assert "Waiting for their first image" not in run.output
    again = run_playbook(SITE, env=emulator.env())
    assert again.changed == 0, again


def test_the_operator_policy_allows_every_call_of_this_journey(emulator):
    """docs/iam/operator-policy.json against what this module's runs asked of the emulator: the dry runs of an
    empty and a converged account, provisioning, drift repaired, a release in the same run."""
    actions = assert_the_operator_policy_allows_everything_recorded(emulator)
    assert {"ec2:CreateVpc", "ecs:CreateService", "iam:PassRole"} <= actions
