#!/usr/bin/env python3
"""Verify-step check: seed 004's shape as the emulator holds it, read with plain boto3.

Prints every fact that does not hold and exits 1, or prints what it checked.
"""

import json
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "resources"))
from checks import Checks  # noqa: E402 - molecule/resources is not a package

REGION = "us-east-2"
PREFIX = "wanzami-local"
check = Checks()


def by_tag(subnets, tier):
    return sorted(s["SubnetId"] for s in subnets if {"Key": "tier", "Value": tier} in s.get("Tags", []))


def main():
    ec2, ecs, elb = (boto3.client(s, region_name=REGION) for s in ("ec2", "ecs", "elbv2"))
    scaling, events, iam = (boto3.client(s, region_name=REGION) for s in ("application-autoscaling", "events", "iam"))
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    public = by_tag(subnets, "public")
    groups = {g["GroupName"]: g["GroupId"]
              for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]}
    check("no NAT gateway (seed 004 saves it)",
          not [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["VpcId"] == vpc and n["State"] != "deleted"])

    # The load balancer: :80 redirects to :443, which serves the certificate and routes by host.
    alb = elb.describe_load_balancers(Names=[f"{PREFIX}-backend-alb"])["LoadBalancers"][0]
    tgs = {t["TargetGroupName"]: t for t in elb.describe_target_groups(LoadBalancerArn=alb["LoadBalancerArn"])["TargetGroups"]}
    if len(tgs) < 2:
        tgs = {t["TargetGroupName"]: t for t in elb.describe_target_groups()["TargetGroups"]}
    frontend_tg, backend_tg = tgs.get(f"{PREFIX}-frontend-tg", {}), tgs.get(f"{PREFIX}-backend-tg", {})
    def shape(tg):
        return tg.get("TargetType"), tg.get("Port"), tg.get("HealthCheckPath")

    check("frontend target group: ip, HTTP 3000, health /", shape(frontend_tg) == ("ip", 3000, "/"), frontend_tg)
    check("backend target group: ip, HTTP 4000, health /api/health", shape(backend_tg) == ("ip", 4000, "/api/health"), backend_tg)
    found = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    listeners = {listener["Port"]: listener for listener in found}
    check("two listeners, :80 and :443", sorted(listeners) == [80, 443], sorted(listeners))
    http, https = listeners.get(80, {}), listeners.get(443, {})
    redirect = (http.get("DefaultActions") or [{}])[0]
    check(":80 redirects to HTTPS :443 with a 301",
          redirect.get("Type") == "redirect"
          and {k: redirect.get("RedirectConfig", {}).get(k) for k in ("Protocol", "Port", "StatusCode")}
          == {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}, redirect)
    certificate = boto3.client("acm", region_name=REGION).list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    check(":443 is HTTPS with the ACM certificate and the TLS 1.3 policy",
          (https.get("Protocol"), [c["CertificateArn"] for c in https.get("Certificates", [])], https.get("SslPolicy"))
          == ("HTTPS", [certificate], "ELBSecurityPolicy-TLS13-1-2-2021-06"), https)
    default = (https.get("DefaultActions") or [{}])[0]
    check(":443 forwards everything else to the frontend",
          (default.get("Type"), default.get("TargetGroupArn")) == ("forward", frontend_tg.get("TargetGroupArn")), default)
    rules = [r for r in elb.describe_rules(ListenerArn=https["ListenerArn"])["Rules"] if not r.get("IsDefault")] if https else []
    routed = [([(c["Field"], c.get("Values") or c.get("HostHeaderConfig", {}).get("Values")) for c in r["Conditions"]],
               r["Actions"][0].get("TargetGroupArn")) for r in rules]
    check(":443 sends host api.example.test to the backend",
          routed == [([("host-header", ["api.example.test"])], backend_tg.get("TargetGroupArn"))], routed)

    # The services: public subnets with public IPs, Fargate Spot, each in its target group.
    names = [f"{PREFIX}-frontend", f"{PREFIX}-backend"]
    services = ecs.describe_services(cluster=f"{PREFIX}-cluster", services=names)["services"]
    for service in services:
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        check(f"{service['serviceName']} runs in the public subnets with a public IP and the service group",
              (sorted(network["subnets"]), network["assignPublicIp"], network["securityGroups"])
              == (public, "ENABLED", [groups[f"{PREFIX}-api"]]), network)
        check(f"{service['serviceName']} runs on Fargate Spot",
              service.get("capacityProviderStrategy") == [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}],
              service.get("capacityProviderStrategy"))
    check("both services exist", len(services) == 2, [s["serviceName"] for s in services])

    # Autoscaling: 1-10 tasks, CPU 70 and memory 80, per service.
    for name in names:
        resource = f"service/{PREFIX}-cluster/{name}"
        targets = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
        check(f"{name} scales between 1 and 10 tasks",
              [(t["MinCapacity"], t["MaxCapacity"], t["ScalableDimension"]) for t in targets]
              == [(1, 10, "ecs:service:DesiredCount")], targets)
        policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
        tracked = sorted((p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"],
                          p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]) for p in policies)
        check(f"{name} tracks CPU 70 % and memory 80 %",
              tracked == [("ECSServiceAverageCPUUtilization", 70.0), ("ECSServiceAverageMemoryUtilization", 80.0)], tracked)

    # The scheduled tasks: EventBridge rules whose one target runs the task on Fargate in the public subnets.
    events_role = iam.get_role(RoleName=f"{PREFIX}-ecs-events")["Role"]
    trust = events_role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    check("EventBridge's role trusts events.amazonaws.com only",
          [s["Principal"] for s in trust["Statement"]] == [{"Service": "events.amazonaws.com"}], trust)
    policy = iam.get_role_policy(RoleName=f"{PREFIX}-ecs-events", PolicyName="run-scheduled-tasks")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    check("EventBridge's role may run tasks on this cluster only",
          statements.get("RunTasksOnThisCluster", {}).get("Condition")
          == {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{account}:cluster/{PREFIX}-cluster"}}, statements)
    check("EventBridge's role may pass exactly the execution and task roles",
          sorted(statements.get("PassTheTaskRoles", {}).get("Resource", []))
          == [f"arn:aws:iam::{account}:role/{PREFIX}-ecs-{role}" for role in ("execution", "task")], statements)
    jobs = {
        f"{PREFIX}-sync-payments": ("cron(0/15 * * * ? *)", f"{PREFIX}-job-sync-payments", ("256", "512"), "sync-payments",
                                    [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]),
        f"{PREFIX}-scrape-events": ("cron(0 6 * * ? *)", f"{PREFIX}-job-scrape-events", ("1024", "2048"), "scrape-events",
                                    [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]),
    }
    for rule_name, (schedule, family, size, job, strategy) in jobs.items():
        rule = events.describe_rule(Name=rule_name)
        check(f"{rule_name} runs on {schedule}", (rule["ScheduleExpression"], rule["State"]) == (schedule, "ENABLED"), rule)
        targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        check(f"{rule_name} has one target", len(targets) == 1, targets)
        target = targets[0] if targets else {}
        ecs_parameters = target.get("EcsParameters", {})
        network = ecs_parameters.get("NetworkConfiguration", {}).get("awsvpcConfiguration", {})
        check(f"{rule_name} starts {family}:1 once on {PREFIX}-cluster as EventBridge's role",
              (target.get("Arn"), target.get("RoleArn"), ecs_parameters.get("TaskDefinitionArn"), ecs_parameters.get("TaskCount"))
              == (f"arn:aws:ecs:{REGION}:{account}:cluster/{PREFIX}-cluster", events_role["Arn"],
                  f"arn:aws:ecs:{REGION}:{account}:task-definition/{family}:1", 1), target)
        check(f"{rule_name} runs in the public subnets with a public IP and the workers' group",
              (sorted(network.get("Subnets", [])), network.get("AssignPublicIp"), network.get("SecurityGroups"))
              == (public, "ENABLED", [groups[f"{PREFIX}-workers"]]), network)
        check(f"{rule_name} uses its capacity providers", ecs_parameters.get("CapacityProviderStrategy") == strategy,
              ecs_parameters)
        definition = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
        container = definition["containerDefinitions"][0]
        check(f"{family} is {size[0]} CPU / {size[1]} MiB on Fargate and runs the {job} job",
              ((definition["cpu"], definition["memory"]), definition["requiresCompatibilities"], container.get("command"))
              == (size, ["FARGATE"], ["node", "dist/scripts/run-job.js", job]), definition)

    return check.report()


if __name__ == "__main__":
    sys.exit(main())
