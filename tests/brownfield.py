"""Seed 000's running system as its owner made it by hand in the console, built in an emulator from the
seed's facts with plain boto3: what the production inventory's first run meets (issue 25).

In the account's default VPC (172.31.0.0/16, default subnets in us-east-2a and us-east-2b): the console's
security groups; `ecsTaskExecutionRole` with AmazonECSTaskExecutionRolePolicy, another team's inline
policy and a second consumer (their task definition); `wanzami-backend` with 15 images, task
definitions up to revision 4 (the last pinned by digest); the log groups with history; `wanzami-bucket`
in eu-north-1 with its tags, a policy serving public/* and objects; `wanzami-cluster`, the ALB, target
group and listener, the three services; the Valkey cache. Nothing carries our ownership tags.

`build(emulator, cache=...)` makes it and returns `Seed000`, whose `snapshot()` reads back everything of
the owner's that must survive, so a test compares before and after."""

import hashlib
import json
import time
from dataclasses import dataclass
from dataclasses import field

REGION = "us-east-2"
MEDIA_REGION = "eu-north-1"
CLUSTER = "wanzami-cluster"
REPOSITORY = "wanzami-backend"
ALB, TG = "wanzami-backend-alb", "wanzami-backend-tg"
CACHE = "wanzami-cache"
MEDIA = "wanzami-bucket"
ROLE = "ecsTaskExecutionRole"
MANAGED = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
LOG_GROUPS = {"/ecs/wanzami-backend": "backend", "/ecs/wanzami-backend-workers": "worker"}
# service -> (family, container, command, desired count, load balanced)
SERVICES = {
    "wanzami-backend-service": ("wanzami-backend-task", "wanzami-backend", None, 2, True),
    "wanzami-worker-transcode-svc": ("wanzami-worker-transcode", "wanzami-worker", ["node", "dist/worker/transcodeWorker.js"],
                                     1, False),
    "wanzami-worker-cron-svc": ("wanzami-worker-cron", "wanzami-cron", ["node", "dist/worker/cron.js"], 1, False),
}
THEIR_TAGS = {"team": "media", "cost-center": "4711"}
ECS_TASKS_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
OTHER_TEAM_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "arn:aws:sqs:us-east-2:123456789012:transcoder"}]}
MEDIA_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "PublicPosters", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": f"arn:aws:s3:::{MEDIA}/public/*"}]}
MEDIA_OBJECTS = {"public/posters/night-market.jpg": b"poster", "media/episodes/1/master.m3u8": b"#EXTM3U\n"}
IMAGES = 15


def manifest(name):
    """A Docker manifest of its own per name: the emulators derive the digest from it."""
    def digest(text):
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": digest(name + "-config")},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": digest(name)}],
    })


@dataclass
class Seed000:
    emulator: object
    cache: str
    vpc_id: str = ""
    subnet_ids: list = field(default_factory=list)
    groups: dict = field(default_factory=dict)
    digests: dict = field(default_factory=dict)
    arns: dict = field(default_factory=dict)

    def client(self, service, region=REGION):
        return self.emulator.client(service, region)

    def snapshot(self):
        """Everything of the owner's that adoption must leave as it is."""
        iam, s3, ecr, logs = self.client("iam"), self.client("s3", MEDIA_REGION), self.client("ecr"), self.client("logs")
        role = iam.get_role(RoleName=ROLE)["Role"]
        events = {}
        for group in LOG_GROUPS:
            events[group] = sorted(e["message"] for e in logs.filter_log_events(logGroupName=group)["events"])
        return {
            "role trust": role["AssumeRolePolicyDocument"],
            "role managed policies": sorted(
                p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]),
            "other team's policy": iam.get_role_policy(RoleName=ROLE, PolicyName="transcoder-queue")["PolicyDocument"],
            "role tags": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=ROLE)["Tags"]},
            "second consumer": self.client("ecs").describe_task_definition(
                taskDefinition="transcoder-other-task")["taskDefinition"]["executionRoleArn"],
            "media objects": {k: s3.get_object(Bucket=MEDIA, Key=k)["Body"].read() for k in MEDIA_OBJECTS},
            "media policy": json.loads(s3.get_bucket_policy(Bucket=MEDIA)["Policy"]),
            "media tags": {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=MEDIA)["TagSet"]},
            "media region": s3.get_bucket_location(Bucket=MEDIA)["LocationConstraint"],
            "images": sorted({i["imageDigest"] for i in ecr.list_images(repositoryName=REPOSITORY)["imageIds"]}),
            "log history": events,
            "alb": self.arns["alb"],
            "target group": self.arns["tg"],
            "cache": self.arns["cache"],
            "services created": {s["serviceName"]: s["serviceArn"] for s in self.services().values()},
        }

    def services(self):
        found = self.client("ecs").describe_services(cluster=CLUSTER, services=list(SERVICES))["services"]
        return {s["serviceName"]: s for s in found if s["status"] == "ACTIVE"}

    def vpcs(self):
        return self.client("ec2").describe_vpcs()["Vpcs"]


def build(emulator, cache="serverless"):
    """Make seed 000's hand-made system in the emulator; cache is serverless or replication_group (moto has
    no ElastiCache Serverless API)."""
    seed = Seed000(emulator, cache)
    ec2, iam, ecr, logs, ecs = (seed.client(s) for s in ("ec2", "iam", "ecr", "logs", "ecs"))
    account = seed.client("sts").get_caller_identity()["Account"]

    # The default VPC and its default subnets, as every account has them.
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    seed.vpc_id = vpc["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [seed.vpc_id]}])["Subnets"]
    by_zone = {s["AvailabilityZone"]: s["SubnetId"] for s in subnets if s["DefaultForAz"]}
    seed.subnet_ids = [by_zone["us-east-2a"], by_zone["us-east-2b"]]

    # The console's groups: its own names, its own descriptions.
    def group(name, description):
        gid = ec2.create_security_group(GroupName=name, Description=description, VpcId=seed.vpc_id)["GroupId"]
        seed.groups[name] = gid
        return gid
    alb_sg = group("wanzami-alb-sg", "launch-wizard: ALB")
    service_sg = group("wanzami-ecs-sg", "ECS tasks")
    redis_sg = group("wanzami-redis-sg", "Valkey")
    ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=service_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 4000, "ToPort": 4000, "UserIdGroupPairs": [{"GroupId": alb_sg}]}])
    ec2.authorize_security_group_ingress(GroupId=redis_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": service_sg}]}])

    # The console's shared execution role, and another team that uses it too.
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST),
                               Tags=[{"Key": k, "Value": v} for k, v in THEIR_TAGS.items()])["Role"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=MANAGED)
    iam.put_role_policy(RoleName=ROLE, PolicyName="transcoder-queue", PolicyDocument=json.dumps(OTHER_TEAM_POLICY))

    # The repository, its 15 images (v1..v15, the last also latest), the five oldest pushed a second before
    # the others (the emulators' push times have whole seconds; ECR orders a lifecycle policy's count by them).
    ecr.create_repository(repositoryName=REPOSITORY)
    for n in range(1, IMAGES + 1):
        if n == 6:
            time.sleep(1.1)
        image = ecr.put_image(repositoryName=REPOSITORY, imageTag=f"v{n}", imageManifest=manifest(f"{REPOSITORY}:v{n}"))
        seed.digests[f"v{n}"] = image["image"]["imageId"]["imageDigest"]
    ecr.put_image(repositoryName=REPOSITORY, imageTag="latest", imageManifest=manifest(f"{REPOSITORY}:v{IMAGES}"))
    uri = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"

    # The log groups, with history.
    for name, prefix in LOG_GROUPS.items():
        logs.create_log_group(logGroupName=name)
        logs.create_log_stream(logGroupName=name, logStreamName=f"{prefix}/app/0001")
        logs.put_log_events(logGroupName=name, logStreamName=f"{prefix}/app/0001", logEvents=[
            {"timestamp": int(time.time() * 1000) - 60_000 + i, "message": f"{prefix} line {i}"} for i in range(3)])

    # The media bucket: its region, tags, public posters, objects.
    s3 = seed.client("s3", MEDIA_REGION)
    s3.create_bucket(Bucket=MEDIA, CreateBucketConfiguration={"LocationConstraint": MEDIA_REGION})
    s3.put_bucket_tagging(Bucket=MEDIA, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in THEIR_TAGS.items()]})
    s3.put_bucket_policy(Bucket=MEDIA, Policy=json.dumps(MEDIA_POLICY))
    for key, body in MEDIA_OBJECTS.items():
        s3.put_object(Bucket=MEDIA, Key=key, Body=body)

    # The cluster, its task definitions (the API's fourth revision pinned by digest), and the other team's.
    ecs.create_cluster(clusterName=CLUSTER)
    for family, container, command, _, balanced in SERVICES.values():
        revisions = 4 if balanced else 1
        for revision in range(1, revisions + 1):
            image = f"{uri}@{seed.digests[f'v{IMAGES}']}" if revision == 4 else f"{uri}:v{IMAGES - 4 + revision}"
            definition = {"name": container, "image": image if balanced else f"{uri}:latest", "essential": True,
                          "logConfiguration": {"logDriver": "awslogs", "options": {
                              "awslogs-group": "/ecs/wanzami-backend" if balanced else "/ecs/wanzami-backend-workers",
                              "awslogs-region": REGION, "awslogs-stream-prefix": "backend" if balanced else "worker"}}}
            if balanced:
                definition["portMappings"] = [{"containerPort": 4000, "protocol": "tcp"}]
            if command:
                definition["command"] = command
            ecs.register_task_definition(family=family, executionRoleArn=role_arn, networkMode="awsvpc",
                                         requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
                                         containerDefinitions=[definition])
    ecs.register_task_definition(family="transcoder-other-task", executionRoleArn=role_arn, networkMode="awsvpc",
                                 requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                                 containerDefinitions=[{"name": "transcoder",
                                                        "image": "public.ecr.aws/docker/library/busybox:latest"}])

    # The load balancer, target group and listener.
    elbv2 = seed.client("elbv2")
    alb = elbv2.create_load_balancer(Name=ALB, Subnets=seed.subnet_ids, SecurityGroups=[alb_sg], Scheme="internet-facing",
                                     Type="application")["LoadBalancers"][0]
    tg = elbv2.create_target_group(Name=TG, Protocol="HTTP", Port=4000, VpcId=seed.vpc_id, TargetType="ip",
                                   HealthCheckPath="/health", HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=5,
                                   HealthyThresholdCount=2, UnhealthyThresholdCount=3)["TargetGroups"][0]
    elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    seed.arns.update(alb=alb["LoadBalancerArn"], tg=tg["TargetGroupArn"])

    # The three services, launch type FARGATE, public IPs in the default subnets (no NAT).
    for service, (family, container, _, desired, balanced) in SERVICES.items():
        extra = {"loadBalancers": [{"targetGroupArn": tg["TargetGroupArn"], "containerName": container, "containerPort": 4000}],
                 "healthCheckGracePeriodSeconds": 60} if balanced else {}
        ecs.create_service(cluster=CLUSTER, serviceName=service, taskDefinition=family, desiredCount=desired,
                           launchType="FARGATE",
                           deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                                                    "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                           networkConfiguration={"awsvpcConfiguration": {
                               "subnets": seed.subnet_ids, "securityGroups": [service_sg], "assignPublicIp": "ENABLED"}},
                           **extra)

    # The cache.
    elasticache = seed.client("elasticache")
    if cache == "serverless":
        made = elasticache.create_serverless_cache(ServerlessCacheName=CACHE, Engine="valkey", SubnetIds=seed.subnet_ids,
                                                   SecurityGroupIds=[redis_sg])["ServerlessCache"]
    else:
        elasticache.create_cache_subnet_group(CacheSubnetGroupName=CACHE, CacheSubnetGroupDescription="console",
                                              SubnetIds=seed.subnet_ids)
        made = elasticache.create_replication_group(
            ReplicationGroupId=CACHE, ReplicationGroupDescription="console", Engine="valkey", CacheNodeType="cache.t4g.micro",
            NumCacheClusters=1, CacheSubnetGroupName=CACHE, SecurityGroupIds=[redis_sg], TransitEncryptionEnabled=True,
            AtRestEncryptionEnabled=True)["ReplicationGroup"]
    seed.arns["cache"] = made["ARN"]
    return seed
