#!/usr/bin/env python3
"""Prepare step: what the observability role looks up by name, plus decoys.

* wanzami-local-backend-alb with wanzami-local-backend-tg behind its :80 listener, and a decoy
  load balancer and target group listed before them (the role lists every load balancer);
* the instance wanzami-local-db, and the Aurora cluster molecule-aurora-db (verify's second environment);
* a stray alarm of ours (the prefix, notifying our topic) that converge deletes, and a hand-made
  alarm with the prefix that notifies another topic, which it keeps.
"""

import boto3

REGION = "us-east-2"
PREFIX = "wanzami-local"


def load_balancer(elbv2, name, target_group, subnets, group, vpc):
    tg = elbv2.create_target_group(Name=target_group, Protocol="HTTP", Port=4000, VpcId=vpc, TargetType="ip",
                                   HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    alb = elbv2.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[group], Scheme="internet-facing",
                                     Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])


def main():
    ec2, elbv2, rds, cloudwatch, sts = (boto3.client(s, region_name=REGION) for s in ("ec2", "elbv2", "rds", "cloudwatch", "sts"))
    account = sts.get_caller_identity()["Account"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(VpcId=vpc, GroupName="alb", Description="alb")["GroupId"]
    load_balancer(elbv2, f"{PREFIX}-a-decoy-alb", f"{PREFIX}-a-decoy-tg", subnets, group, vpc)
    load_balancer(elbv2, f"{PREFIX}-backend-alb", f"{PREFIX}-backend-tg", subnets, group, vpc)

    rds.create_db_instance(DBInstanceIdentifier=f"{PREFIX}-db", Engine="postgres", EngineVersion="16.4",
                           DBInstanceClass="db.t4g.micro", AllocatedStorage=20, MasterUsername="wanzami",
                           MasterUserPassword="Mol3cule-observability")
    rds.create_db_cluster(DBClusterIdentifier="molecule-aurora-db", Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="wanzami", MasterUserPassword="Mol3cule-observability",
                          ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 16})

    def alarm(name, topic):
        cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average",
                                    Dimensions=[{"Name": "ClusterName", "Value": f"{PREFIX}-cluster"}], Period=60,
                                    EvaluationPeriods=1, Threshold=50.0, ComparisonOperator="GreaterThanThreshold",
                                    AlarmActions=[f"arn:aws:sns:{REGION}:{account}:{topic}"])

    alarm(f"{PREFIX}-retired-service-cpu-high", f"{PREFIX}-alarms")
    alarm(f"{PREFIX}-hand-made", "someone-elses-topic")


if __name__ == "__main__":
    main()
