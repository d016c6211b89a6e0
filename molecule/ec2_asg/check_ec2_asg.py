#!/usr/bin/env python3
"""Verify-step check: seed 002 phase 2 as the emulator holds it, read with plain boto3.

    check_ec2_asg.py --tag TAG --version N --desired N [--refreshes N]
    check_ec2_asg.py --gone      (after a teardown: nothing of it is left)

Prints every fact that does not hold and exits 1, or prints what it checked.
"""

import argparse
import base64
import json
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "resources"))
from checks import Checks  # noqa: E402 - molecule/resources is not a package

REGION = "us-east-2"
PREFIX = "wanzami-local"
NAME = f"{PREFIX}-api"
check = Checks()


def by_tier(subnets, tier):
    return sorted(s["SubnetId"] for s in subnets if {"Key": "tier", "Value": tier} in s.get("Tags", []))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gone", action="store_true")
    parser.add_argument("--tag")
    parser.add_argument("--version")
    parser.add_argument("--desired", type=int, default=2)
    parser.add_argument("--refreshes", type=int, default=0)
    args = parser.parse_args()

    ec2, elb, asg, iam = (boto3.client(s, region_name=REGION) for s in ("ec2", "elbv2", "autoscaling", "iam"))
    if args.gone:
        return gone(ec2, elb, asg, iam)
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/wanzami-backend:{args.tag}"
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    groups = {
        g["GroupName"]: g["GroupId"]
        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    }

    # The instance role: Session Manager and exactly what the user data needs.
    role = f"{NAME}-instance"
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    check(
        "instance role has AmazonSSMManagedInstanceCore and nothing else attached",
        attached == ["AmazonSSMManagedInstanceCore"],
        attached,
    )
    policy = iam.get_role_policy(RoleName=role, PolicyName=f"{role}-pull")["PolicyDocument"]
    actions = sorted(a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    check(
        "inline policy: ECR login and pull, the env file object, the secrets' parameters, no KMS",
        actions
        == [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetAuthorizationToken",
            "ecr:GetDownloadUrlForLayer",
            "s3:GetObject",
            "ssm:GetParameter",
        ],
        actions,
    )
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    check(
        "inline policy names the repository and the env file object",
        resources.get("EcrPull") == f"arn:aws:ecr:{REGION}:{account}:repository/wanzami-backend"
        and resources.get("EnvFile") == f"arn:aws:s3:::{PREFIX}-ecs-config-{REGION}/wanzami_assets/.env",
        resources,
    )
    # The secrets the task definitions reference (group_vars/all/ecs.yml), and no other parameter.
    secret_names = ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "SMTP_PASS", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                    "GOOGLE_CLIENT_SECRET", "DATABASE_URL"]
    check(
        "inline policy reads exactly the secrets' SSM parameters",
        sorted(resources.get("Secrets") or []) == sorted(f"arn:aws:ssm:{REGION}:{account}:parameter/wanzami/local/{n}"
                                                          for n in secret_names),
        resources,
    )
    profile = iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]
    check("instance profile holds the role", [r["RoleName"] for r in profile["Roles"]] == [role], profile["Roles"])

    # The launch template: one version per release, the newest pinned.
    versions = ec2.describe_launch_template_versions(LaunchTemplateName=NAME)["LaunchTemplateVersions"]
    check(
        f"launch template has {args.version} version(s)",
        len(versions) == int(args.version),
        [v["VersionNumber"] for v in versions],
    )
    data = next((v["LaunchTemplateData"] for v in versions if str(v["VersionNumber"]) == args.version), {})
    check(
        "template: AL2023 arm64 AMI from the SSM parameter, t4g.small",
        (data.get("ImageId"), data.get("InstanceType"))
        == (
            boto3.client("ssm", region_name=REGION).get_parameter(
                Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
            )["Parameter"]["Value"],
            "t4g.small",
        ),
        data.get("ImageId"),
    )
    check(
        "template: the instance profile",
        data.get("IamInstanceProfile", {}).get("Arn") == profile["Arn"],
        data.get("IamInstanceProfile"),
    )
    check(
        "template: the API security group, no key pair",
        data.get("SecurityGroupIds") == [groups[f"{PREFIX}-api"]] and "KeyName" not in data,
        data.get("SecurityGroupIds"),
    )
    check(
        "template: IMDSv2 required", data.get("MetadataOptions", {}).get("HttpTokens") == "required", data.get("MetadataOptions")
    )
    ebs = (data.get("BlockDeviceMappings") or [{}])[0].get("Ebs", {})
    check("template: encrypted gp3 root", (ebs.get("VolumeType"), ebs.get("Encrypted")) == ("gp3", True), ebs)
    user_data = base64.b64decode(data.get("UserData", "")).decode()
    check(
        f"user data runs the pinned image {image} with the env file",
        f"IMAGE={image}" in user_data
        and "ENV_FILE=/etc/wanzami.env" in user_data
        and 'docker run -d --name "$CONTAINER" --restart=always --env-file "$ENV_FILE" -p 4000:4000 "$IMAGE"' in user_data
        and ":latest" not in user_data,
        user_data,
    )
    check(
        "user data appends each secret from SSM to the root-only env file before the container starts",
        "for name in " + " ".join(secret_names) + "; do" in user_data
        and 'aws ssm get-parameter --name /wanzami/local"/$name" --with-decryption' in user_data
        and user_data.index("get-parameter") < user_data.index('chmod 0600 "$ENV_FILE"') < user_data.index("docker run"),
        user_data,
    )

    # The target group and the load balancer.
    tg = elb.describe_target_groups(Names=[f"{NAME}-tg"])["TargetGroups"][0]
    check(
        "target group: instance, HTTP 4000, /api/health every 30 s, 5 s timeout, 2/3, 200",
        (
            tg["TargetType"],
            tg["Protocol"],
            tg["Port"],
            tg["HealthCheckPath"],
            tg["HealthCheckIntervalSeconds"],
            tg["HealthCheckTimeoutSeconds"],
            tg["HealthyThresholdCount"],
            tg["UnhealthyThresholdCount"],
            tg["Matcher"]["HttpCode"],
        )
        == ("instance", "HTTP", 4000, "/api/health", 30, 5, 2, 3, "200"),
        tg,
    )
    alb = elb.describe_load_balancers(Names=[f"{NAME}-alb"])["LoadBalancers"][0]
    check(
        "ALB: internet-facing in the public subnets with the ALB group",
        (alb["Scheme"], sorted(z["SubnetId"] for z in alb["AvailabilityZones"]), alb["SecurityGroups"])
        == ("internet-facing", by_tier(subnets, "public"), [groups[f"{PREFIX}-alb"]]),
        alb,
    )
    listeners = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    check(
        "one listener, HTTP :80 forwarding to the target group",
        [
            (x["Port"], x["Protocol"], x["DefaultActions"][0]["Type"], x["DefaultActions"][0].get("TargetGroupArn"))
            for x in listeners
        ]
        == [(80, "HTTP", "forward", tg["TargetGroupArn"])],
        listeners,
    )

    # The group: 2-4 instances (desired as given), pinned, in the private subnets, behind the target group.
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    check(
        f"group: min 2, desired {args.desired}, max 4",
        (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (2, args.desired, 4),
        group,
    )
    check(
        f"group: pinned to launch template version {args.version} (not $Latest)",
        (group["LaunchTemplate"]["LaunchTemplateName"], group["LaunchTemplate"]["Version"]) == (NAME, args.version),
        group["LaunchTemplate"],
    )
    check(
        "group: in the private subnets",
        sorted(group["VPCZoneIdentifier"].split(",")) == by_tier(subnets, "private"),
        group["VPCZoneIdentifier"],
    )
    check(
        "group: attached to the target group, ELB health checks, 300 s grace",
        (group["TargetGroupARNs"], group["HealthCheckType"], group["HealthCheckGracePeriod"])
        == ([tg["TargetGroupArn"]], "ELB", 300),
        group,
    )
    tags = {t["Key"]: t["PropagateAtLaunch"] for t in group["Tags"]}
    check(
        "group: project tags propagated to the instances",
        all(tags.get(k) is True for k in ("project", "environment", "managed-by", "Name")),
        group["Tags"],
    )
    instances = group["Instances"]
    check(
        f"group: {args.desired} instances, all launched from version {args.version}",
        len(instances) == args.desired and all(i["LaunchTemplate"]["Version"] == args.version for i in instances),
        [(i["InstanceId"], i["LaunchTemplate"]["Version"]) for i in instances],
    )
    ids = [i["InstanceId"] for i in instances]
    running_data = [
        base64.b64decode(ec2.describe_instance_attribute(InstanceId=i, Attribute="userData")["UserData"]["Value"]).decode()
        for i in ids
    ]
    check(f"instances run {image}", running_data and all(f"IMAGE={image}" in d for d in running_data), ids)
    targets = sorted(
        t["Target"]["Id"] for t in elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
    )
    check("the target group holds exactly the group's instances", targets == sorted(ids), targets)
    refreshes = asg.describe_instance_refreshes(AutoScalingGroupName=NAME)["InstanceRefreshes"]
    check(
        f"{args.refreshes} instance refresh(es), each Successful with 50 % kept healthy",
        len(refreshes) == args.refreshes
        and all(r["Status"] == "Successful" and r["Preferences"]["MinHealthyPercentage"] == 50 for r in refreshes),
        json.loads(json.dumps(refreshes, default=str)),
    )
    return check.report()


def gone(ec2, elb, asg, iam):
    role = f"{NAME}-instance"
    check("no Auto Scaling group", asg.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"] == [])
    check(
        "no launch template",
        [t["LaunchTemplateName"] for t in ec2.describe_launch_templates()["LaunchTemplates"] if t["LaunchTemplateName"] == NAME]
        == [],
    )
    running = [
        i["InstanceId"]
        for r in ec2.describe_instances(
            Filters=[
                {"Name": "tag:aws:autoscaling:groupName", "Values": [NAME]},
                {"Name": "instance-state-name", "Values": ["pending", "running"]},
            ]
        )["Reservations"]
        for i in r["Instances"]
    ]
    check("no instance of the group running", running == [], running)
    check(
        "no load balancer",
        [b for b in elb.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"] == f"{NAME}-alb"] == [],
    )
    check(
        "no target group", [t for t in elb.describe_target_groups()["TargetGroups"] if t["TargetGroupName"] == f"{NAME}-tg"] == []
    )
    check(
        "no instance profile",
        [p for p in iam.list_instance_profiles()["InstanceProfiles"] if p["InstanceProfileName"] == role] == [],
    )
    check("no instance role", [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role] == [])
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
