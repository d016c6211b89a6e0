#!/usr/bin/env python3
"""Verify-step check: what the observability role made, as the emulator holds it, read with plain boto3.

    check_observability.py local      the local inventory's environment (converge.yml)
    check_observability.py aurora     verify's second environment: an Aurora database, no load balancer
    check_observability.py gone       after the second environment's teardown: its things gone, the first one's kept
    check_observability.py subscribe PROTOCOL:ENDPOINT...      subscribe to the local topic by hand (not through the role)
    check_observability.py subscriptions PROTOCOL:ENDPOINT...  the local topic has exactly these subscriptions

Prints every fact checked (`ok`) and every one that does not hold (`NOT`), and exits 1 on any of the latter.
"""

import json
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "resources"))
from checks import Checks  # noqa: E402 - molecule/resources is not a package

REGION = "us-east-2"
PREFIX = "wanzami-local"
CLUSTER = f"{PREFIX}-cluster"
SERVICES = [f"{PREFIX}-backend-service", f"{PREFIX}-worker-transcode-svc", f"{PREFIX}-worker-cron-svc"]
AURORA = "molecule-aurora"
GIB = 1024 ** 3
check = Checks()


def client(service):
    return boto3.client(service, region_name=REGION)


def alarms_named(prefix):
    found = client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    return {a["AlarmName"]: a for a in found}


def dims(alarm):
    return [(d["Name"], d["Value"]) for d in alarm.get("Dimensions") or []]


def simple(alarm, namespace, metric, statistic, comparison, threshold, dimensions, periods, treat_missing="missing"):
    """The facts of a single-metric alarm, as a tuple to compare with what is expected."""
    return ((alarm.get("Namespace"), alarm.get("MetricName"), alarm.get("Statistic"), alarm.get("ComparisonOperator"),
             alarm.get("Threshold"), dims(alarm), alarm.get("Period"), alarm.get("EvaluationPeriods"),
             alarm.get("DatapointsToAlarm"), alarm.get("TreatMissingData"))
            == (namespace, metric, statistic, comparison, float(threshold), dimensions, 60, periods, periods, treat_missing))


def widget_metrics(body, title):
    return [m for w in body["widgets"] if w["properties"].get("title") == title for m in w["properties"]["metrics"]]


def check_topic(account, name, emails, tags, events):
    sns = client("sns")
    arn = f"arn:aws:sns:{REGION}:{account}:{name}"
    check(f"topic {name} exists", arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]])
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    alarms = statements.get("CloudWatchAlarmsPublish", {})
    check("CloudWatch alarms of this account (and only those) may publish to it",
          (alarms.get("Principal"), alarms.get("Action"), alarms.get("Resource"), alarms.get("Condition"))
          == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", arn,
              {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{account}:alarm:*"},
               "StringEquals": {"aws:SourceAccount": account}}), alarms)
    rule = statements.get("DeploymentFailureRulePublishes")
    rule_arn = f"arn:aws:events:{REGION}:{account}:rule/{name.removesuffix('-alarms')}-ecs-deployment-failed"
    expected_rule = {"Service": "events.amazonaws.com"}, "sns:Publish", arn, {"ArnEquals": {"aws:SourceArn": rule_arn}}
    if events:
        check("the failed-deployment rule (and only it) may publish to it",
              rule is not None
              and (rule["Principal"], rule["Action"], rule["Resource"], rule["Condition"]) == expected_rule, rule)
    else:
        check("no EventBridge statement without the rule", rule is None, rule)
    sids = {"AccountManagesTheTopic", "CloudWatchAlarmsPublish"} | ({"DeploymentFailureRulePublishes"} if events else set())
    check("the account manages it; nothing else is allowed",
          set(statements) == sids
          and statements["AccountManagesTheTopic"]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}, policy)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    check(f"subscriptions: {emails}", sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions)
          == sorted(("email", e) for e in emails), subscriptions)
    found = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    # The role remembers the addresses it subscribed in the wanzami:alarm-emails tag.
    tags = dict(tags, **({"wanzami:alarm-emails": " ".join(emails)} if emails else {}))
    check(f"topic tags {tags}", found == tags, found)
    return arn


def check_local(account):
    topic = check_topic(account, f"{PREFIX}-alarms", ["oncall@example.com"],
                        {"project": "wanzami", "environment": "local", "managed-by": "ansible"}, events=True)
    elbv2 = client("elbv2")
    (alb,) = elbv2.describe_load_balancers(Names=[f"{PREFIX}-backend-alb"])["LoadBalancers"]
    (tg,) = elbv2.describe_target_groups(Names=[f"{PREFIX}-backend-tg"])["TargetGroups"]
    lb = alb["LoadBalancerArn"].split(":loadbalancer/")[1]
    group = tg["TargetGroupArn"].split(":")[-1]
    check("the load balancer's dimension is app/<name>/<id> (not the decoy's)", lb.startswith(f"app/{PREFIX}-backend-alb/"), lb)

    alarms = alarms_named(f"{PREFIX}-")
    short = [s.removeprefix(f"{PREFIX}-") for s in SERVICES]
    expected = ({f"{PREFIX}-{s}-{k}" for s in short for k in ("cpu-high", "memory-high", "running-below-desired")}
                | {f"{PREFIX}-backend-alb-{k}" for k in ("target-5xx", "elb-5xx", "response-time-high")}
                | {f"{PREFIX}-backend-tg-unhealthy-hosts"}
                | {f"{PREFIX}-db-{k}" for k in ("cpu-high", "free-storage-critical", "free-storage-low", "connections-high")})
    check("17 alarms: 3 per service, 3 on the load balancer, 1 on the target group, 4 on the database; the stray one deleted, "
          "the hand-made one (another topic) kept", set(alarms) == expected | {f"{PREFIX}-hand-made"}, sorted(alarms))
    ours = [alarms[name] for name in sorted(expected) if name in alarms]
    check("every alarm notifies the topic on ALARM and on OK, and nothing on INSUFFICIENT_DATA",
          all((a["AlarmActions"], a["OKActions"], a["InsufficientDataActions"]) == ([topic], [topic], []) for a in ours))
    check("every description says its severity and that the role manages it",
          all(a["AlarmDescription"].startswith(("critical: ", "warning: "))
              and "wanzami.infra.observability" in a["AlarmDescription"] for a in ours))

    for service, name in zip(SERVICES, short, strict=True):
        where = [("ClusterName", CLUSTER), ("ServiceName", service)]
        cpu, memory = alarms.get(f"{PREFIX}-{name}-cpu-high", {}), alarms.get(f"{PREFIX}-{name}-memory-high", {})
        check(f"{name}: CPU above 80% for 5 minutes", simple(cpu, "AWS/ECS", "CPUUtilization", "Average",
                                                             "GreaterThanThreshold", 80, where, 5), cpu)
        check(f"{name}: memory above 85% for 5 minutes", simple(memory, "AWS/ECS", "MemoryUtilization", "Average",
                                                                "GreaterThanThreshold", 85, where, 5), memory)
        running = alarms.get(f"{PREFIX}-{name}-running-below-desired", {})
        metrics = {m["Id"]: m for m in running.get("Metrics") or []}

        def stat(metric_id, metric_name, where=where, metrics=metrics):
            found = metrics.get(metric_id, {}).get("MetricStat", {})
            return (found.get("Metric", {}).get("Namespace"), found.get("Metric", {}).get("MetricName"),
                    dims(found.get("Metric", {})), found.get("Period")) == ("ECS/ContainerInsights", metric_name, where, 60)

        check(f"{name}: desired - running tasks at least 1 for 5 minutes (metric math on Container Insights)",
              stat("desired", "DesiredTaskCount") and stat("running", "RunningTaskCount")
              and metrics.get("missing", {}).get("Expression") == "desired - running"
              and [m["ReturnData"] for m in running.get("Metrics", [])] == [False, False, True]
              and (running.get("ComparisonOperator"), running.get("Threshold"), running.get("EvaluationPeriods"))
              == ("GreaterThanOrEqualToThreshold", 1.0, 5), running)

    on_lb = [("LoadBalancer", lb)]
    for suffix, metric, statistic, threshold, periods in (("target-5xx", "HTTPCode_Target_5XX_Count", "Sum", 10, 1),
                                                          ("elb-5xx", "HTTPCode_ELB_5XX_Count", "Sum", 10, 1),
                                                          ("response-time-high", "TargetResponseTime", "Average", 1.0, 5)):
        alarm = alarms.get(f"{PREFIX}-backend-alb-{suffix}", {})
        check(f"load balancer: {metric} ({statistic}) above {threshold}, missing data not breaching",
              simple(alarm, "AWS/ApplicationELB", metric, statistic, "GreaterThanThreshold", threshold, on_lb, periods,
                     "notBreaching"), alarm)
    unhealthy = alarms.get(f"{PREFIX}-backend-tg-unhealthy-hosts", {})
    check("target group: at least 1 unhealthy host for 3 minutes, by target group and load balancer",
          simple(unhealthy, "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", "GreaterThanOrEqualToThreshold", 1,
                 [("LoadBalancer", lb), ("TargetGroup", group)], 3), unhealthy)

    db = [("DBInstanceIdentifier", f"{PREFIX}-db")]
    for suffix, metric, statistic, comparison, threshold, periods in (
            ("cpu-high", "CPUUtilization", "Average", "GreaterThanThreshold", 75, 10),
            ("free-storage-critical", "FreeStorageSpace", "Minimum", "LessThanThreshold", 5 * GIB, 5),
            ("free-storage-low", "FreeStorageSpace", "Minimum", "LessThanThreshold", 10 * GIB, 5),
            ("connections-high", "DatabaseConnections", "Maximum", "GreaterThanThreshold", 80, 5)):
        alarm = alarms.get(f"{PREFIX}-db-{suffix}", {})
        check(f"database: {metric} ({statistic}) {comparison} {threshold}",
              simple(alarm, "AWS/RDS", metric, statistic, comparison, threshold, db, periods), alarm)

    events = client("events")
    rule = events.describe_rule(Name=f"{PREFIX}-ecs-deployment-failed")
    check("the rule matches failed ECS deployments of this cluster's services, and is enabled",
          json.loads(rule["EventPattern"]) == {
              "source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"],
              "resources": [{"prefix": f"arn:aws:ecs:{REGION}:{account}:service/{CLUSTER}/"}],
              "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}} and rule["State"] == "ENABLED", rule)
    targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    check("its one target is the topic, with a readable message",
          [(t["Arn"], t.get("InputTransformer", {}).get("InputPathsMap", {}).get("reason")) for t in targets]
          == [(topic, "$.detail.reason")], targets)

    body = json.loads(client("cloudwatch").get_dashboard(DashboardName=f"{PREFIX}-dashboard")["DashboardBody"])
    check("every widget is in the dashboard's 24 columns and every graph in us-east-2",
          all(0 <= w["x"] and w["x"] + w["width"] <= 24 for w in body["widgets"])
          and {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"} == {REGION})
    (state,) = [w for w in body["widgets"] if w["type"] == "alarm"] or [{"properties": {}}]
    check("an alarm widget shows every alarm's state",
          sorted(state["properties"].get("alarms", []))
          == sorted(f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{n}" for n in expected),
          state)
    for title, metric in (("ECS CPU utilization (%)", "CPUUtilization"), ("ECS memory utilization (%)", "MemoryUtilization")):
        check(f"dashboard: {title} per service", [(m[0], m[1], m[3], m[5]) for m in widget_metrics(body, title)]
              == [("AWS/ECS", metric, CLUSTER, s) for s in SERVICES])
    check("dashboard: running and desired tasks per service",
          [(m[1], m[5]) for m in widget_metrics(body, "ECS tasks, running and desired")]
          == [(metric, s) for s in SERVICES for metric in ("RunningTaskCount", "DesiredTaskCount")])
    alb_metrics = [m[1] for title in ("ALB requests", "ALB errors", "ALB target response time (s)")
                   for m in widget_metrics(body, title) if m[2:4] == ["LoadBalancer", lb]]
    check("dashboard: ALB requests, 5XX/4XX and response time on this load balancer",
          alb_metrics == ["RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_4XX_Count",
                          "TargetResponseTime", "TargetResponseTime"], alb_metrics)
    check("dashboard: healthy and unhealthy targets of the target group",
          [(m[1], m[3]) for m in widget_metrics(body, "Targets, healthy and unhealthy")]
          == [("HealthyHostCount", group), ("UnHealthyHostCount", group)])
    rds_metrics = [m[1] for w in body["widgets"] if w["properties"].get("title", "").startswith("RDS")
                   for m in w["properties"]["metrics"] if m[2:4] == ["DBInstanceIdentifier", f"{PREFIX}-db"]]
    check("dashboard: RDS CPU, connections, free storage, freeable memory, latency",
          rds_metrics == ["CPUUtilization", "DatabaseConnections", "FreeStorageSpace", "FreeableMemory", "ReadLatency",
                          "WriteLatency"],
          rds_metrics)
    cpu_widget = next((w for w in body["widgets"] if w["properties"].get("title") == "ECS CPU utilization (%)"),
                      {"properties": {}})
    check("dashboard: the CPU graph marks the alarm's threshold",
          cpu_widget["properties"].get("annotations", {}).get("horizontal", [{}])[0].get("value") == 80)


def check_aurora(account):
    check_topic(account, f"{AURORA}-alarms", [], {"project": "wanzami", "environment": "local", "managed-by": "ansible"},
                events=False)
    alarms = alarms_named(f"{AURORA}-")
    expected = {f"{AURORA}-molecule-api-cpu-high", f"{AURORA}-molecule-api-running-below-desired", f"{AURORA}-db-cpu-high",
                f"{AURORA}-db-connections-high"}
    check("Aurora: CPU and connections on the database, no free storage alarm (Aurora storage grows), no memory alarm "
          "(disabled), nothing on a load balancer", set(alarms) == expected, sorted(alarms))
    cluster = [("DBClusterIdentifier", f"{AURORA}-db")]
    cpu, connections = alarms.get(f"{AURORA}-db-cpu-high", {}), alarms.get(f"{AURORA}-db-connections-high", {})
    check("Aurora: CPU above 90% (an override) by DBClusterIdentifier",
          simple(cpu, "AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold", 90, cluster, 10), cpu)
    check("Aurora: connections above 80% of 2000",
          simple(connections, "AWS/RDS", "DatabaseConnections", "Maximum", "GreaterThanThreshold", 1600, cluster, 5), connections)
    check("Aurora: alarms notify on ALARM only (observability_notify_ok false)",
          all(a["OKActions"] == [] for a in alarms.values()))
    rules = [r["Name"] for r in client("events").list_rules(NamePrefix=AURORA)["Rules"]]
    check("no failed-deployment rule (observability_deployment_failure_events false)", rules == [], rules)
    body = json.loads(client("cloudwatch").get_dashboard(DashboardName=f"{AURORA}-dashboard")["DashboardBody"])
    metrics = [m[1] for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]
               if m[2:4] == ["DBClusterIdentifier", f"{AURORA}-db"]]
    check("Aurora dashboard: database graphs by cluster, the volume's size instead of free storage",
          "VolumeBytesUsed" in metrics and "FreeStorageSpace" not in metrics and "CPUUtilization" in metrics, metrics)
    check("Aurora dashboard: no load balancer graphs",
          not [w for w in body["widgets"] if w["properties"].get("title", "").startswith("ALB")])


def check_gone(account):
    sns, cloudwatch = client("sns"), client("cloudwatch")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    check("the second environment's topic is gone, the first one's kept",
          f"arn:aws:sns:{REGION}:{account}:{AURORA}-alarms" not in topics
          and f"arn:aws:sns:{REGION}:{account}:{PREFIX}-alarms" in topics,
          topics)
    check("its alarms are gone", alarms_named(f"{AURORA}-") == {}, sorted(alarms_named(f"{AURORA}-")))
    check("the first environment's 17 alarms and the hand-made one are kept", len(alarms_named(f"{PREFIX}-")) == 18)
    dashboards = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    check("its dashboard is gone, the first one's kept", dashboards == [f"{PREFIX}-dashboard"], dashboards)
    rules = [r["Name"] for r in client("events").list_rules()["Rules"]]
    check("the first environment's rule is kept", rules == [f"{PREFIX}-ecs-deployment-failed"], rules)


def local_topic(account):
    return f"arn:aws:sns:{REGION}:{account}:{PREFIX}-alarms"


def subscribe_by_hand(account, *subscriptions):
    """What a person does in the console: a pager's endpoint, another address."""
    for subscription in subscriptions:
        protocol, endpoint = subscription.split(":", 1)
        client("sns").subscribe(TopicArn=local_topic(account), Protocol=protocol, Endpoint=endpoint)
    check(f"subscribed by hand: {', '.join(subscriptions)}", True)


def check_subscriptions(account, *expected):
    found = client("sns").list_subscriptions_by_topic(TopicArn=local_topic(account))["Subscriptions"]
    check(f"the topic's subscriptions are exactly {', '.join(expected)}",
          sorted(f"{s['Protocol']}:{s['Endpoint']}" for s in found) == sorted(expected), found)


def main():
    account = client("sts").get_caller_identity()["Account"]
    mode, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("local", [])
    {"local": check_local, "aurora": check_aurora, "gone": check_gone, "subscribe": subscribe_by_hand,
     "subscriptions": check_subscriptions}[mode](account, *args)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
