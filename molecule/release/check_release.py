#!/usr/bin/env python3
"""Verify step: every service runs revision 2 of its family, which differs from revision 1 only by the
image, pinned by v1's digest; the release record says so; the lock is free. Exit 1 with what does not hold."""

import json
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "resources"))
from checks import Checks  # noqa: E402 - molecule/resources is not a package
from prepare import PREFIX
from prepare import REGION
from prepare import SERVICES


def main():
    ecr, ecs, ssm, sts = (boto3.client(s, region_name=REGION) for s in ("ecr", "ecs", "ssm", "sts"))
    account = sts.get_caller_identity()["Account"]
    repository = "wanzami-backend"
    digest = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]["imageDigest"]
    pinned = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{repository}@{digest}"
    check = Checks()
    found = ecs.describe_services(cluster=f"{PREFIX}-cluster", services=list(SERVICES))["services"]
    services = {s["serviceName"]: s for s in found}
    for name, (family, _command) in SERVICES.items():
        service = services[name]
        running = service["taskDefinition"]
        check(f"{name} runs {family}:2", running.endswith(f":task-definition/{family}:2"), running)
        primary = [d["taskDefinition"] for d in service["deployments"] if d["status"] == "PRIMARY"]
        check(f"{name}'s PRIMARY deployment is {family}:2", primary == [service["taskDefinition"]], primary)
        old = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]["containerDefinitions"][0]
        new = ecs.describe_task_definition(taskDefinition=f"{family}:2")["taskDefinition"]["containerDefinitions"][0]
        check(f"{family}:2 pins v1's digest", new["image"] == pinned, new["image"])
        check(f"{family}:2 differs from :1 only by the image", {**new, "image": ""} == {**old, "image": ""}, [old, new])
        check(f"{family}:1 is still ACTIVE (the rollback target)",
              ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]["status"] == "ACTIVE", family)
    record = json.loads(ssm.get_parameter(Name="/wanzami/local/release")["Parameter"]["Value"])
    check("the record names tag, digest and image", (record["tag"], record["digest"], record["image"]) == ("v1", digest, pinned),
          record)
    check("the record lists every service's revision",
          record["services"] == {name: f"{family}:2" for name, (family, _) in SERVICES.items()}, record["services"])
    check("the lock is free", not ssm.get_parameters(Names=["/wanzami/local/release-lock"])["Parameters"], "lock held")
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
