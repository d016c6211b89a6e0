#!/usr/bin/env python3
"""Verify-step checker of the ec2_single scenario: what the emulator holds, read with plain boto3.

    check_ec2_single.py converged   seed 002 phase 1 as the local inventory asks for it
    check_ec2_single.py gone        nothing of it is left after the teardown
    check_ec2_single.py operations URL
                                    the operations the emulator at URL recorded, as a JSON list; REST requests
                                    (Route 53, DLM) are named after botocore's model (GET /policies is
                                    GetLifecyclePolicies), so that a read-only run shows only Describe/List/Get
    check_ec2_single.py side-by-side JSON
                                    run the commands of {name: argv} at the same time (dry runs, which only
                                    read, so they cannot disturb each other) and print {name: {rc, stdout}}
"""

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import botocore.session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "resources"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checks import Checks  # noqa: E402

from tests.emulator import operation_of  # noqa: E402

REGION = "us-east-2"
# Route 53 publishes HealthCheckStatus in us-east-1 only: the alarm and its topic are there.
ALARM_REGION = "us-east-1"
NAME = "wanzami-local-api"
VPC = "wanzami-local-vpc"
SSM_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
TAG_KEY = "snapshot-schedule"
SCHEDULES = {"root": ("05:00", 7), "data": ("03:00", 14)}
EMAIL = "oncall@example.com"
LIVE = ["pending", "running", "stopping", "stopped"]


def client(service, region=REGION):
    return boto3.client(service, region_name=region)


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def instances(ec2):
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [NAME]},
                                                   {"Name": "instance-state-name", "Values": LIVE}])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def eips(ec2):
    return ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Addresses"]


def policies(dlm):
    wanted = {f"{NAME} {kind} volume daily snapshots" for kind in SCHEDULES}
    found = dlm.get_lifecycle_policies().get("Policies") or []
    return {p["Description"]: dlm.get_lifecycle_policy(PolicyId=p["PolicyId"])["Policy"]
            for p in found if p["Description"] in wanted}


def health_checks(route53):
    found = route53.list_health_checks()["HealthChecks"]
    named = []
    for check in found:
        tag_set = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])["ResourceTagSet"]
        if tags(tag_set).get("Name") == f"{NAME}-health":
            named.append(check)
    return named


def opens_port(permission, port):
    if permission.get("IpProtocol") == "-1":
        return True
    return permission.get("FromPort", 0) <= port <= permission.get("ToPort", 65535)


def converged():
    check = Checks()
    ec2, iam, dlm = client("ec2"), client("iam"), client("dlm")
    route53, cloudwatch, sns = client("route53"), client("cloudwatch", ALARM_REGION), client("sns", ALARM_REGION)

    found = instances(ec2)
    check(f"one live instance named {NAME}", len(found) == 1, [i["InstanceId"] for i in found])
    if len(found) != 1:
        return check.report()
    instance = found[0]
    instance_id = instance["InstanceId"]
    ami = client("ssm").get_parameter(Name=SSM_AMI)["Parameter"]["Value"]
    check("it runs the AMI the SSM public parameter names", instance["ImageId"] == ami, [instance["ImageId"], ami])
    check("t4g.small", instance["InstanceType"] == "t4g.small", instance["InstanceType"])
    check("no key pair on it (Session Manager only)", "KeyName" not in instance, instance.get("KeyName"))
    check("no key pair in the region", ec2.describe_key_pairs()["KeyPairs"] == [], ec2.describe_key_pairs()["KeyPairs"])
    check("its instance profile is <name>-instance",
          instance.get("IamInstanceProfile", {}).get("Arn", "").endswith(f"instance-profile/{NAME}-instance"),
          instance.get("IamInstanceProfile"))
    metadata = instance.get("MetadataOptions", {})
    check("IMDSv2 required (HttpTokens required, endpoint enabled, 2 hops)",
          (metadata.get("HttpTokens"), metadata.get("HttpEndpoint"), metadata.get("HttpPutResponseHopLimit"))
          == ("required", "enabled", 2), metadata)
    check("tagged with the environment's tags", {"project": "wanzami", "environment": "local", "managed-by": "ansible",
                                                 "Name": NAME}.items() <= tags(instance).items(), tags(instance))

    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [VPC]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                            {"Name": "tag:tier", "Values": ["public"]}])["Subnets"]
    first = sorted(subnets, key=lambda s: (s["AvailabilityZone"], s["CidrBlock"]))[0]
    check("in the first public subnet of the VPC", instance["SubnetId"] == first["SubnetId"],
          [instance["SubnetId"], first["SubnetId"]])

    # IAM: the instance's role has exactly the SSM managed policy; DLM's role its service policy.
    profile = iam.get_instance_profile(InstanceProfileName=f"{NAME}-instance")["InstanceProfile"]
    check("the instance profile holds the role <name>-instance",
          [r["RoleName"] for r in profile["Roles"]] == [f"{NAME}-instance"], profile["Roles"])
    attached = iam.list_attached_role_policies(RoleName=f"{NAME}-instance")["AttachedPolicies"]
    check("the instance role has AmazonSSMManagedInstanceCore and nothing else",
          [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"], attached)
    trust = iam.get_role(RoleName=f"{NAME}-instance")["Role"]["AssumeRolePolicyDocument"]
    check("the instance role trusts ec2.amazonaws.com",
          trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}, trust)
    dlm_role = iam.get_role(RoleName=f"{NAME}-dlm")["Role"]
    check("the snapshot role trusts dlm.amazonaws.com",
          dlm_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "dlm.amazonaws.com"},
          dlm_role["AssumeRolePolicyDocument"])
    attached = iam.list_attached_role_policies(RoleName=f"{NAME}-dlm")["AttachedPolicies"]
    check("the snapshot role has AWSDataLifecycleManagerServiceRole",
          [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"],
          attached)

    # Security group: its own, only 80 and 443 from anywhere, never 22, egress all.
    groups = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in instance["SecurityGroups"]])["SecurityGroups"]
    check("the instance is in its own security group only", [g["GroupName"] for g in groups] == [NAME],
          [g["GroupName"] for g in groups])
    group = groups[0]
    ingress = sorted((p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), tuple(sorted(r["CidrIp"] for r in p["IpRanges"])))
                     for p in group["IpPermissions"])
    check("ingress is 80 and 443/tcp from 0.0.0.0/0 only",
          ingress == [("tcp", 80, 80, ("0.0.0.0/0",)), ("tcp", 443, 443, ("0.0.0.0/0",))], ingress)
    every_group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    check("no security group of the VPC opens port 22",
          not [g["GroupName"] for g in every_group for p in g["IpPermissions"] if opens_port(p, 22)],
          [g["GroupName"] for g in every_group for p in g["IpPermissions"] if opens_port(p, 22)])
    check("egress is all traffic", [p["IpProtocol"] for p in group["IpPermissionsEgress"]] == ["-1"],
          group["IpPermissionsEgress"])

    # Elastic IP.
    addresses = eips(ec2)
    check("one Elastic IP tagged Name=<name>", len(addresses) == 1, addresses)
    public_ip = addresses[0]["PublicIp"] if addresses else None
    check("it is associated with the instance", addresses and addresses[0].get("InstanceId") == instance_id, addresses)
    check("the instance's public address is the Elastic IP", instance.get("PublicIpAddress") in (public_ip, None),
          instance.get("PublicIpAddress"))

    # Volumes: the root one and the data one, gp3, encrypted, tagged for their policy.
    volumes = {v["VolumeId"]: v for v in ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])["Volumes"]}
    mappings = {m["DeviceName"]: m["Ebs"] for m in instance["BlockDeviceMappings"]}
    root = volumes.get(mappings.get(instance["RootDeviceName"], {}).get("VolumeId"), {})
    check("root volume: gp3, encrypted, 20 GiB, deleted with the instance",
          (root.get("VolumeType"), root.get("Encrypted"), root.get("Size"),
           mappings.get(instance["RootDeviceName"], {}).get("DeleteOnTermination")) == ("gp3", True, 20, True), root)
    check("root volume tagged for the root policy", tags(root).get(TAG_KEY) == f"{NAME}-root", tags(root))
    data = next((v for v in volumes.values() if tags(v).get("Name") == f"{NAME}-data"), {})
    attachment = (data.get("Attachments") or [{}])[0]
    check("data volume attached as /dev/sdf", (attachment.get("InstanceId"), attachment.get("Device"), attachment.get("State"))
          == (instance_id, "/dev/sdf", "attached"), data.get("Attachments"))
    check("data volume: gp3, encrypted, 20 GiB", (data.get("VolumeType"), data.get("Encrypted"), data.get("Size"))
          == ("gp3", True, 20), data)
    check("data volume tagged for the data policy", tags(data).get(TAG_KEY) == f"{NAME}-data", tags(data))
    check("data volume kept when the instance goes", mappings.get("/dev/sdf", {}).get("DeleteOnTermination") is False,
          mappings.get("/dev/sdf"))

    # DLM: one policy per volume, each on its own schedule, targeting its volume's tag.
    found = policies(dlm)
    check("two DLM policies, described after <name>", len(found) == 2, list(found))
    for kind, (time, retain) in SCHEDULES.items():
        policy = found.get(f"{NAME} {kind} volume daily snapshots", {})
        details = policy.get("PolicyDetails", {})
        schedules = details.get("Schedules") or [{}]
        check(f"{kind} policy: enabled, run by the snapshot role",
              (policy.get("State"), policy.get("ExecutionRoleArn")) == ("ENABLED", f"arn:aws:iam::123456789012:role/{NAME}-dlm"),
              policy)
        check(f"{kind} policy: volumes tagged {TAG_KEY}={NAME}-{kind}",
              (details.get("ResourceTypes"), details.get("TargetTags"))
              == (["VOLUME"], [{"Key": TAG_KEY, "Value": f"{NAME}-{kind}"}]), details)
        check(f"{kind} policy: daily at {time} UTC, keeps {retain}",
              len(schedules) == 1 and (schedules[0]["CreateRule"].get("Interval"), schedules[0]["CreateRule"].get("IntervalUnit"),
                                       schedules[0]["CreateRule"].get("Times"), schedules[0]["RetainRule"])
              == (24, "HOURS", [time], {"Count": retain}), schedules)

    # Health check on the Elastic IP, and its alarm in us-east-1 notifying the topic.
    checks = health_checks(route53)
    check("one health check tagged Name=<name>-health", len(checks) == 1, checks)
    config = checks[0]["HealthCheckConfig"] if checks else {}
    check("HTTP GET /api/health on the Elastic IP, port 80, every 30 s, 3 failures",
          (config.get("Type"), config.get("IPAddress"), config.get("Port"), config.get("ResourcePath"),
           config.get("RequestInterval"), config.get("FailureThreshold"))
          == ("HTTP", public_ip, 80, "/api/health", 30, 3), config)
    topic_arn = f"arn:aws:sns:{ALARM_REGION}:123456789012:{NAME}-alerts"
    alarms = cloudwatch.describe_alarms(AlarmNames=[f"{NAME}-health"])["MetricAlarms"]
    check("the alarm <name>-health is in us-east-1", len(alarms) == 1, alarms)
    alarm = alarms[0] if alarms else {}
    check("it watches HealthCheckStatus of that health check",
          (alarm.get("Namespace"), alarm.get("MetricName"), alarm.get("Dimensions"))
          == ("AWS/Route53", "HealthCheckStatus", [{"Name": "HealthCheckId", "Value": checks[0]["Id"] if checks else None}]),
          alarm)
    check("Minimum < 1 for 3 periods of 60 s",
          (alarm.get("Statistic"), alarm.get("ComparisonOperator"), alarm.get("Threshold"), alarm.get("Period"),
           alarm.get("EvaluationPeriods")) == ("Minimum", "LessThanThreshold", 1.0, 60, 3), alarm)
    check("it notifies the topic <name>-alerts (us-east-1)", alarm.get("AlarmActions") == [topic_arn], alarm.get("AlarmActions"))
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    check(f"the topic mails {EMAIL}", [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", EMAIL)],
          subscriptions)
    return check.report()


def gone():
    check = Checks()
    ec2, iam, dlm = client("ec2"), client("iam"), client("dlm")
    route53, cloudwatch, sns = client("route53"), client("cloudwatch", ALARM_REGION), client("sns", ALARM_REGION)
    check("no live instance named <name>", instances(ec2) == [], [i["InstanceId"] for i in instances(ec2)])
    check("no Elastic IP tagged Name=<name>", eips(ec2) == [], eips(ec2))
    volumes = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": [f"{NAME}-data", f"{NAME}-root"]}])["Volumes"]
    check("no data or root volume", volumes == [], [v["VolumeId"] for v in volumes])
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [NAME]}])["SecurityGroups"]
    check("no security group <name>", groups == [], groups)
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"] in (f"{NAME}-instance", f"{NAME}-dlm")]
    check("no IAM role <name>-instance or <name>-dlm", roles == [], roles)
    profiles = [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
                if p["InstanceProfileName"] == f"{NAME}-instance"]
    check("no instance profile", profiles == [], profiles)
    check("no DLM policy", policies(dlm) == {}, list(policies(dlm)))
    check("no health check", health_checks(route53) == [], health_checks(route53))
    alarms = cloudwatch.describe_alarms(AlarmNames=[f"{NAME}-health"])["MetricAlarms"]
    check("no alarm", alarms == [], alarms)
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{NAME}-alerts")]
    check("no topic", topics == [], topics)
    check("the VPC is left alone", len(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [VPC]}])["Vpcs"]) == 1)
    return check.report()


def _rest_routes():
    """signing name -> [(method, path regex, operation)] from botocore's REST models, most specific first."""
    session = botocore.session.get_session()
    routes = {}
    for service in ("route53", "dlm"):
        model = session.get_service_model(service)
        entries = []
        for name in model.operation_names:
            http = model.operation_model(name).http
            path = http["requestUri"].split("?")[0].rstrip("/") or "/"
            pattern = re.sub(r"\{[^}]+\+\}", ".+", re.sub(r"\{[^}+]+\}", "[^/]+", path))
            entries.append((http["method"], re.compile(f"^{pattern}/?$"), name, len(re.sub(r"\{[^}]+\}", "", path))))
        routes[model.signing_name or service] = sorted(entries, key=lambda e: -e[3])
    return routes


def operations(url):
    routes = _rest_routes()
    with urllib.request.urlopen(f"{url}/moto-api/recorder/download-recording", timeout=30) as response:  # noqa: S310
        lines = [line for line in response.read().decode("utf-8").splitlines() if line.strip()]
    names = []
    for line in lines:
        entry = json.loads(line)
        service, operation, _ = operation_of(entry)
        if " " in operation and service in routes:
            method, path = operation.split(" ", 1)
            operation = next((name for m, pattern, name, _ in routes[service] if m == method and pattern.match(path)),
                             operation)
        names.append(operation)
    print(json.dumps(names))
    return 0


def side_by_side(commands):
    running = {name: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for name, argv in json.loads(commands).items()}
    results = {}
    for name, process in running.items():
        stdout, _ = process.communicate()
        results[name] = {"rc": process.returncode, "stdout": stdout}
    print(json.dumps(results))
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] in ("converged", "gone"):
        return {"converged": converged, "gone": gone}[argv[1]]()
    if len(argv) == 3 and argv[1] == "operations":
        return operations(argv[2])
    if len(argv) == 3 and argv[1] == "side-by-side":
        return side_by_side(argv[2])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
