#!/usr/bin/env python3
"""Verify step: every service runs revision 2 of its family, which differs from revision 1 only by the
image, pinned by v1's digest; the release record says so; the lock is free. Exit 1 with what does not hold."""

import json
import sys

import boto3
from prepare import PREFIX
from prepare import REGION
from prepare import SERVICES


def main():
    ecr, ecs, ssm, sts = (boto3.client(s, region_name=REGION) for s in ("ecr", "ecs", "ssm", "sts"))
    account = sts.get_caller_identity()["Account"]
    repository = "wanzami-backend"
    digest = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]["imageDigest"]
    pinned = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{repository}@{digest}"
    failures, checked = [], []

    def check(what, ok, got):
        checked.append(what)
        if not ok:
            failures.append(f"{what}: got {json.dumps(got, default=str)}")

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
    for line in checked:
        print(f"ok  {line}")
    for line in failures:
        print(f"NOT {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
