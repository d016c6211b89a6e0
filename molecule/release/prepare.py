#!/usr/bin/env python3
"""Prepare step: seed 000's three services on revision 1 (image :latest), and wanzami-local-backend:v1 in ECR."""

import os
import subprocess
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-2"
PREFIX = "wanzami-local"
SERVICES = {f"{PREFIX}-backend-service": (f"{PREFIX}-backend-task", None),
            f"{PREFIX}-worker-transcode-svc": (f"{PREFIX}-worker-transcode", ["node", "dist/worker/transcodeWorker.js"]),
            f"{PREFIX}-worker-cron-svc": (f"{PREFIX}-worker-cron", ["node", "dist/worker/cron.js"])}


def main():
    ecr, ecs, ec2, sts = (boto3.client(s, region_name=REGION) for s in ("ecr", "ecs", "ec2", "sts"))
    account = sts.get_caller_identity()["Account"]
    repository = "wanzami-backend"
    ecr.create_repository(repositoryName=repository)
    # The emulator's ECR has no registry to push to: scripts/emulator puts the image in.
    subprocess.run([sys.executable, str(ROOT / "scripts" / "emulator"), "push-image", repository, "v1",
                    "--port", os.environ["WANZAMI_EMULATOR_PORT"]], check=True, capture_output=True)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="tasks", Description="tasks")["GroupId"]
    ecs.create_cluster(clusterName=f"{PREFIX}-cluster")
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{repository}:latest"
    for service, (family, command) in SERVICES.items():
        container = {"name": "app", "image": image, "memory": 1024, "essential": True}
        if command:
            container["command"] = command
        ecs.register_task_definition(family=family, containerDefinitions=[container], networkMode="awsvpc",
                                     requiresCompatibilities=["FARGATE"], cpu="512", memory="1024")
        ecs.create_service(cluster=f"{PREFIX}-cluster", serviceName=service, taskDefinition=family, desiredCount=1,
                           launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group],
                                                                         "assignPublicIp": "DISABLED"}})


if __name__ == "__main__":
    main()
