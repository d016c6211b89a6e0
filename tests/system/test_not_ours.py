"""Never remove what is not ours (issue 25), judged by what the emulator holds afterwards.

Each test first builds, with plain boto3, what someone else made by hand (seed 000's account):
the console's ecsTaskExecutionRole shared with another team, a media bucket serving public/*,
a repository whose oldest image a task definition still runs, and same-named resources without
our ownership tags at teardown. Then it runs the role or playbook a user runs, and checks that
everything of the owner's is still there."""

import hashlib
import json
import time

import pytest

from tests.conftest import run_playbook

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"
PREFIX = "wanzami-local"
OURS = {"project": "wanzami", "environment": "local", "managed-by": "ansible"}
ECS_TASKS_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ConsoleTrust", "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
MANAGED = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
OTHER_TEAM_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "arn:aws:sqs:us-east-2:123456789012:transcoder"}]}
THEIR_TAGS = [{"Key": "team", "Value": "media"}, {"Key": "cost-center", "Value": "4711"}]


def said(run, text):
    return " ".join(text.split()) in " ".join(run.output.split())


def shared_role(iam, name, trust=ECS_TASKS_TRUST):
    """A role as the console and another team leave it: their trust, managed policy, inline policy and tags."""
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description="Created by the ECS console",
                    Tags=THEIR_TAGS)
    iam.attach_role_policy(RoleName=name, PolicyArn=MANAGED)
    iam.put_role_policy(RoleName=name, PolicyName="transcoder-queue", PolicyDocument=json.dumps(OTHER_TEAM_POLICY))


def assert_theirs_intact(iam, name):
    role = iam.get_role(RoleName=name)["Role"]
    assert role["AssumeRolePolicyDocument"] == ECS_TASKS_TRUST
    assert role["Description"] == "Created by the ECS console"
    assert sorted(role.get("Tags", []), key=lambda t: t["Key"]) == sorted(THEIR_TAGS, key=lambda t: t["Key"])
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]] == [MANAGED]
    assert iam.get_role_policy(RoleName=name, PolicyName="transcoder-queue")["PolicyDocument"] == OTHER_TEAM_POLICY


def test_the_shared_execution_role_keeps_the_managed_policy_and_the_other_teams_policy(emulator):
    iam = emulator.client("iam")
    shared_role(iam, "ecsTaskExecutionRole")
    args = ["--tags", "ecs_cluster", "-e", "ecs_cluster_execution_role_name=ecsTaskExecutionRole"]
    # Until the inventory adopts it, the run reads it and stops before its first change.
    emulator.clear_recording()
    refused = run_playbook(SITE, *args, env=emulator.env(), check=False)
    assert refused.rc != 0 and said(refused, "IAM role ecsTaskExecutionRole exists and is not ours"), refused
    assert emulator.mutating_calls() == []
    assert_theirs_intact(iam, "ecsTaskExecutionRole")
    args += ["-e", '{"wanzami_adopt": ["iam_role/ecsTaskExecutionRole"]}']
    run = run_playbook(SITE, *args, env=emulator.env())
    assert said(run, "Role ecsTaskExecutionRole is not ours (it lacks the ownership tags)")
    assert_theirs_intact(iam, "ecsTaskExecutionRole")
    policies = iam.list_role_policies(RoleName="ecsTaskExecutionRole")["PolicyNames"]
    assert sorted(policies) == ["task-execution", "transcoder-queue"]
    # Our own task role is ours: created with the ownership tags.
    task_tags = {t["Key"]: t["Value"] for t in iam.get_role(RoleName=f"{PREFIX}-ecs-task")["Role"]["Tags"]}
    assert task_tags == OURS
    again = run_playbook(SITE, *args, env=emulator.env())
    assert again.changed == 0, again
    assert_theirs_intact(iam, "ecsTaskExecutionRole")


def test_a_shared_role_the_tasks_cannot_assume_is_refused_before_any_change(emulator):
    iam = emulator.client("iam")
    ec2_trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="instance-role", AssumeRolePolicyDocument=json.dumps(ec2_trust))
    emulator.clear_recording()
    run = run_playbook(SITE, "--tags", "ecs_cluster", "-e", "ecs_cluster_execution_role_name=instance-role",
                       "-e", '{"wanzami_adopt": ["iam_role/instance-role"]}', env=emulator.env(), check=False)
    assert run.rc != 0 and run.failed == 1, run
    assert said(run, "ecs_cluster: role instance-role exists without this environment's ownership tags")
    assert said(run, "does not let ecs-tasks.amazonaws.com assume it")
    assert emulator.mutating_calls() == []
    assert iam.get_role(RoleName="instance-role")["Role"]["AssumeRolePolicyDocument"] == ec2_trust
    assert iam.list_role_policies(RoleName="instance-role")["PolicyNames"] == []


def test_the_media_bucket_keeps_its_public_prefix_policy_tags_and_objects(emulator):
    media = f"{PREFIX}-media"
    s3 = emulator.client("s3", region="eu-north-1")
    s3.create_bucket(Bucket=media, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    s3.put_bucket_tagging(Bucket=media, Tagging={"TagSet": THEIR_TAGS})
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "PublicPosters", "Effect": "Allow", "Principal": "*",
                                                      "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{media}/public/*"}]}
    s3.put_bucket_policy(Bucket=media, Policy=json.dumps(policy))
    objects = {"public/posters/film-1.jpg": b"poster", "users/42/video.mp4": b"video"}
    for key, body in objects.items():
        s3.put_object(Bucket=media, Key=key, Body=body)

    args = ["--tags", "s3_envfile", "-e", "valkey_url=rediss://cache.example.internal:6379",
            "-e", f'{{"wanzami_adopt": ["s3_bucket/{media}"]}}']
    emulator.clear_recording()
    dry = run_playbook(SITE, *args, "--check", env=emulator.env())
    assert emulator.mutating_calls() == []
    assert not said(dry, "public access would be blocked"), dry
    run = run_playbook(SITE, *args, env=emulator.env())
    assert said(run, f"Bucket {media} is not ours (it lacks the ownership tags)")

    assert json.loads(s3.get_bucket_policy(Bucket=media)["Policy"]) == policy
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchPublicAccessBlockConfiguration"):
        s3.get_public_access_block(Bucket=media)
    assert sorted(s3.get_bucket_tagging(Bucket=media)["TagSet"], key=lambda t: t["Key"]) == \
        sorted(THEIR_TAGS, key=lambda t: t["Key"])
    assert {o["Key"] for o in s3.list_objects_v2(Bucket=media)["Contents"]} == set(objects)
    # The env file's bucket is ours: private, as before.
    block = emulator.client("s3").get_public_access_block(Bucket=f"{PREFIX}-ecs-config-us-east-2")
    assert set(block["PublicAccessBlockConfiguration"].values()) == {True}
    again = run_playbook(SITE, *args, env=emulator.env())
    assert again.changed == 0, again


def manifest(name):
    def digest(text):
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                  "digest": digest(name + "-config")},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                                   "digest": digest(name)}]})


def test_a_lifecycle_policy_that_would_expire_an_image_in_use_is_refused(emulator):
    ecr, ecs = emulator.client("ecr"), emulator.client("ecs")
    # Ours (its lifecycle policy is the point here; tests/system/test_brownfield.py adopts one that is not).
    repository = ecr.create_repository(repositoryName="wanzami-backend",
                                       tags=[{"Key": k, "Value": v} for k, v in OURS.items()])["repository"]
    # Four tagged images, oldest first, a second apart (the emulator's push time has whole seconds); keeping
    # the newest three (as the role keeps ecr_keep_tagged_images) expires v1, which a task definition runs.
    digests = []
    for n in range(1, 5):
        if digests:
            time.sleep(1.1)
        digests.append(ecr.put_image(repositoryName="wanzami-backend", imageTag=f"v{n}",
                                     imageManifest=manifest(f"wanzami-backend:v{n}"))["image"]["imageId"]["imageDigest"])
    ecs.register_task_definition(family=f"{PREFIX}-backend-task", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                 cpu="512", memory="1024", containerDefinitions=[
                                     {"name": "api", "image": f"{repository['repositoryUri']}@{digests[0]}", "essential": True}])
    for check in (["--check"], []):
        emulator.clear_recording()
        run = run_playbook(SITE, "--tags", "ecr", "-e", "ecr_keep_tagged_images=3", *check, env=emulator.env(), check=False)
        assert run.rc != 0 and run.failed == 1, run
        assert said(run, "ECR repository wanzami-backend: the lifecycle policy would expire 1 image(s) still in use"), run
        assert said(run, f"v1 {digests[0]} (rule 2; named by task definition {PREFIX}-backend-task:1)")
        assert emulator.mutating_calls() == []
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName="wanzami-backend")
    assert len(ecr.describe_images(repositoryName="wanzami-backend")["imageDetails"]) == 4

    # Keeping all four spares it: the policy goes on.
    run_playbook(SITE, "--tags", "ecr", "-e", "ecr_keep_tagged_images=4", env=emulator.env())
    rules = json.loads(ecr.get_lifecycle_policy(repositoryName="wanzami-backend")["lifecyclePolicyText"])["rules"]
    assert [r["selection"]["countNumber"] for r in rules] == [7, 4]


def test_teardown_names_and_keeps_what_has_our_names_but_not_our_tags(emulator):
    emulator.reset()
    iam, ecr, logs, ecs, ec2 = (emulator.client(s) for s in ("iam", "ecr", "logs", "ecs", "ec2"))
    s3 = emulator.client("s3")
    # Someone else's, with the local inventory's names, and their tags only.
    shared_role(iam, "ecsTaskExecutionRole")
    # What an earlier run of ours put on it.
    iam.put_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="task-execution",
                        PolicyDocument=json.dumps(OTHER_TEAM_POLICY))
    shared_role(iam, f"{PREFIX}-ecs-task")
    ecr.create_repository(repositoryName="wanzami-backend", tags=THEIR_TAGS)
    ecr.put_image(repositoryName="wanzami-backend", imageTag="v1", imageManifest=manifest("wanzami-backend:v1"))
    envfile_bucket = f"{PREFIX}-ecs-config-us-east-2"
    s3.create_bucket(Bucket=envfile_bucket, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    s3.put_object(Bucket=envfile_bucket, Key="theirs.txt", Body=b"theirs")
    logs.create_log_group(logGroupName=f"/ecs/{PREFIX}-backend", tags={"team": "media"})
    ecs.create_cluster(clusterName=f"{PREFIX}-cluster", tags=[{"key": "team", "value": "media"}])
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": f"{PREFIX}-vpc"}, *THEIR_TAGS]}])["Vpc"]
    group = ec2.create_security_group(GroupName=f"{PREFIX}-alb", Description="theirs", VpcId=vpc["VpcId"])

    args = ["-e", "ecs_cluster_execution_role_name=ecsTaskExecutionRole"]
    emulator.clear_recording()
    dry = run_playbook("playbooks/teardown.yml", *args, "--check", env=emulator.env())
    assert emulator.mutating_calls() == []
    run = run_playbook("playbooks/teardown.yml", *args, env=emulator.env())
    for text in ("Role ecsTaskExecutionRole is not ours", f"Role {PREFIX}-ecs-task is not ours",
                 "ECR repository wanzami-backend is not ours", f"Bucket {envfile_bucket} (us-east-2) is not ours",
                 f"Log group /ecs/{PREFIX}-backend is not ours", f"ECS cluster {PREFIX}-cluster is not ours",
                 f"VPC {vpc['VpcId']} (10.99.0.0/16) is named {PREFIX}-vpc but is not ours"):
        assert said(dry, text), text
        assert said(run, text), text
    # Everything is still there; the only thing gone is the inline policy the role would have put on the shared role.
    assert_theirs_intact(iam, f"{PREFIX}-ecs-task")
    role = iam.get_role(RoleName="ecsTaskExecutionRole")["Role"]
    assert role["AssumeRolePolicyDocument"] == ECS_TASKS_TRUST
    assert iam.list_role_policies(RoleName="ecsTaskExecutionRole")["PolicyNames"] == ["transcoder-queue"]
    attached = iam.list_attached_role_policies(RoleName="ecsTaskExecutionRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [MANAGED]
    assert len(ecr.describe_images(repositoryName="wanzami-backend")["imageDetails"]) == 1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=envfile_bucket)["Contents"]] == ["theirs.txt"]
    groups = logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [f"/ecs/{PREFIX}-backend"]
    assert ecs.describe_clusters(clusters=[f"{PREFIX}-cluster"])["clusters"][0]["status"] == "ACTIVE"
    assert ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"]
    assert ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"]


def test_teardown_keeps_the_services_load_balancer_cache_database_alarms_and_parameters_that_are_not_ours(emulator):
    """The same for the rest of what teardown.yml deletes: a running system with the local inventory's names."""
    emulator.reset()
    ec2, ecs, elbv2, elasticache, rds, cloudwatch, sns, events, ssm = (emulator.client(s) for s in (
        "ec2", "ecs", "elbv2", "elasticache", "rds", "cloudwatch", "sns", "events", "ssm"))
    their_ecs_tags = [{"key": t["Key"], "value": t["Value"]} for t in THEIR_TAGS]
    # Their network, not named like ours: the VPC and security group teardowns do not see it.
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.98.{n}.0/24", AvailabilityZone=f"us-east-2{az}")["Subnet"]["SubnetId"]
               for n, az in ((1, "a"), (2, "b"))]

    their_group = ec2.create_security_group(GroupName="theirs", Description="theirs", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName=f"{PREFIX}-cluster", tags=their_ecs_tags)
    family = f"{PREFIX}-backend-task"
    ecs.register_task_definition(family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
                                 memory="512", tags=their_ecs_tags,
                                 containerDefinitions=[{"name": "api", "image": "nginx", "essential": True}])
    service = f"{PREFIX}-backend-service"
    ecs.create_service(cluster=f"{PREFIX}-cluster", serviceName=service, taskDefinition=family, desiredCount=1,
                       launchType="FARGATE", tags=their_ecs_tags,
                       networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [their_group]}})
    alb = elbv2.create_load_balancer(Name=f"{PREFIX}-backend-alb", Subnets=subnets, Tags=THEIR_TAGS)["LoadBalancers"][0]
    target_group = elbv2.create_target_group(Name=f"{PREFIX}-backend-tg", Protocol="HTTP", Port=4000, VpcId=vpc,
                                             TargetType="ip", Tags=THEIR_TAGS)["TargetGroups"][0]
    elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroupArn"]}])

    cache = f"{PREFIX}-cache"
    elasticache.create_cache_subnet_group(CacheSubnetGroupName=cache, CacheSubnetGroupDescription="theirs",
                                          SubnetIds=subnets, Tags=THEIR_TAGS)
    elasticache.create_replication_group(ReplicationGroupId=cache, ReplicationGroupDescription="theirs", Engine="valkey",
                                         CacheNodeType="cache.t4g.micro", NumCacheClusters=1, CacheSubnetGroupName=cache,
                                         Tags=THEIR_TAGS)

    database = f"{PREFIX}-db"
    rds.create_db_subnet_group(DBSubnetGroupName=database, DBSubnetGroupDescription="theirs", SubnetIds=subnets,
                               Tags=THEIR_TAGS)
    rds.create_db_parameter_group(DBParameterGroupName=f"{database}-postgres16", DBParameterGroupFamily="postgres16",
                                  Description="theirs", Tags=THEIR_TAGS)
    rds.create_db_instance(DBInstanceIdentifier=database, Engine="postgres", EngineVersion="16.3",
                           DBInstanceClass="db.t4g.micro", AllocatedStorage=20, MasterUsername="theirs",
                           MasterUserPassword="their-password", DBSubnetGroupName=database,
                           DBParameterGroupName=f"{database}-postgres16", Tags=THEIR_TAGS)

    topic = sns.create_topic(Name=f"{PREFIX}-alarms", Tags=THEIR_TAGS)["TopicArn"]
    alarm = f"{service}-cpu-high"
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average",
                                Period=60, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
                                AlarmActions=[topic], Tags=THEIR_TAGS)
    rule = f"{PREFIX}-ecs-deployment-failed"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.ecs"]}), Tags=THEIR_TAGS)
    events.put_targets(Rule=rule, Targets=[{"Id": "theirs", "Arn": topic}])

    secret, record = "/wanzami/local/JWT_ACCESS_SECRET", "/wanzami/local/release"
    for name in (secret, record):
        ssm.put_parameter(Name=name, Value="theirs", Type="String", Tags=THEIR_TAGS)

    kept = [f"ECS service {service} is not ours", f"Load balancer {PREFIX}-backend-alb is not ours",
            f"Target group {PREFIX}-backend-tg is not ours", f"Task definition family {family}: revisions 1 are not ours",
            f"Replication group {cache} is not ours", f"DB instance {database} is not ours",
            f"DB subnet group {database} is not ours", f"DB parameter group {database}-postgres16 is not ours",
            f"Topic {PREFIX}-alarms is not ours", f"Alarm {alarm} is not ours", f"EventBridge rule {rule} is not ours",
            f"SSM parameter {secret} is not ours", f"SSM parameter {record} is not ours"]
    emulator.clear_recording()
    dry = run_playbook("playbooks/teardown.yml", "--check", env=emulator.env())
    assert emulator.mutating_calls() == []
    run = run_playbook("playbooks/teardown.yml", env=emulator.env())
    for text in kept:
        assert said(dry, text), text
        assert said(run, text), text

    (found,) = ecs.describe_services(cluster=f"{PREFIX}-cluster", services=[service])["services"]
    assert found["status"] == "ACTIVE" and found["desiredCount"] == 1
    assert len(ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]) == 1
    assert [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]] == [f"{PREFIX}-backend-alb"]
    assert len(elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]) == 1
    assert [tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]] == [f"{PREFIX}-backend-tg"]
    assert [g["ReplicationGroupId"] for g in elasticache.describe_replication_groups()["ReplicationGroups"]] == [cache]
    assert elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=cache)["CacheSubnetGroups"]
    assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == [database]
    assert rds.describe_db_subnet_groups(DBSubnetGroupName=database)["DBSubnetGroups"]
    assert rds.describe_db_parameter_groups(DBParameterGroupName=f"{database}-postgres16")["DBParameterGroups"]
    assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]] == [alarm]
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]] == [topic]
    assert sorted(p["Name"] for p in ssm.get_parameters(Names=[secret, record])["Parameters"]) == sorted([secret, record])

    again = run_playbook("playbooks/teardown.yml", env=emulator.env())
    assert again.changed == 0, again
