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
