#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: adopt
short_description: Find what an inventory names that already exists; refuse what cannot change; adopt what it is told to
version_added: 0.1.0
description:
  - The pre-flight of C(playbooks/site.yml). It reads every resource the inventory's roles would create or change,
    by name, and sorts them - absent (the roles create it), ours (it carries O(ownership_tags)), or existing (made by
    someone else).
  - It fails, before any change, with one message per resource, when a resource exists and is not ours and
    O(adopt) does not name it, or when the inventory asks for an attribute AWS cannot change in place (a load
    balancer's scheme or VPC, a target group's VPC, port or protocol, a serverless cache's subnets, a database's
    engine or encryption, a bucket's region). Each message says what exists, what the inventory asks, and the choices.
  - Otherwise it adopts what O(adopt) names - it adds O(ownership_tags) to it, merged into its own tags - so that the
    roles manage it from then on and C(playbooks/teardown.yml) may delete it. A resource marked O(resources[].shared)
    (the console's C(ecsTaskExecutionRole), a media bucket) is never tagged; the roles only add their own parts to it
    and teardown keeps it.
  - In check mode it only reads, and reports what it would tag.
  - Its result carries C(wanzami_plan), the adopt and refused rows the C(wanzami.infra.plan) callback prints.
author:
  - Wanzami infrastructure team
options:
  resources:
    description: What the inventory names, one entry per resource.
    type: list
    elements: dict
    required: true
    suboptions:
      kind:
        description: The kind of resource.
        type: str
        required: true
        choices: [ecs_cluster, ecs_service, elbv2_load_balancer, elbv2_target_group, ecr_repository, logs_log_group,
                  iam_role, s3_bucket, elasticache_serverless, elasticache_replication_group, rds_instance, rds_cluster,
                  ec2_security_group]
      name:
        description: Its name (a log group's full name, a bucket's name, a DB identifier...).
        type: str
        required: true
      cluster:
        description: The cluster of an C(ecs_service).
        type: str
      region:
        description: The region of an C(s3_bucket) or of any resource outside the module's region.
        type: str
      shared:
        description: Someone else's resource that the roles only add their own parts to; adopting it never tags it.
        type: bool
        default: false
      in_vpc:
        description: It must be in the inventory's VPC (O(vpc)); a different one, or one that does not exist yet, is refused.
        type: bool
        default: false
      subnet_tier:
        description: Its subnets must be the inventory's subnets of this tier in O(vpc) (a serverless cache's cannot change).
        type: str
      attributes:
        description:
          - What AWS cannot change in place, as the inventory asks it, in the describe call's terms (lowercase keys),
            for example C(scheme), C(port), C(protocol), C(target_type), C(engine), C(storage_encrypted), C(region).
            A null value is not compared.
        type: dict
        default: {}
      variables:
        description: The inventory variable that sets the name (C(name)) or an attribute, named in messages.
        type: dict
        default: {}
  vpc:
    description:
      - How to find the inventory's VPC, as role C(vpc) does - C(name) (its Name tag), C(existing) (C(default), an id or
        tag filters, role vpc's C(vpc_existing)) - and C(subnets), tier -> list of CIDR blocks.
    type: dict
    default: {}
  adopt:
    description:
      - What to adopt, C(wanzami_adopt) - patterns of C(<kind>/<name>) with C(*) and C(?) as in a shell, for example
        C(ecs_service/wanzami-*), or C(*) for everything the inventory names.
    type: list
    elements: str
    default: []
  ownership_tags:
    description: The tags that make a resource ours, C(wanzami_ownership_tags). Empty - nothing is ours, nothing is adopted.
    type: dict
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - IAM permissions - the describe and list-tags calls of each kind; to adopt, ecs:TagResource, elasticloadbalancing:AddTags,
    ecr:TagResource, logs:TagResource, s3:PutBucketTagging, elasticache:AddTagsToResource, rds:AddTagsToResource,
    ec2:CreateTags.
"""

EXAMPLES = r"""
- name: Look before changing anything
  wanzami.infra.adopt:
    resources:
      - {kind: ecs_cluster, name: wanzami-cluster, variables: {name: ecs_cluster_name}}
      - {kind: elbv2_load_balancer, name: wanzami-backend-alb, in_vpc: true, attributes: {scheme: internet-facing}}
      - {kind: iam_role, name: ecsTaskExecutionRole, shared: true}
    vpc: {name: wanzami-vpc, existing: default, subnets: {public: [172.31.0.0/20, 172.31.16.0/20]}}
    adopt: [ecs_cluster/wanzami-cluster, elbv2_load_balancer/*, iam_role/ecsTaskExecutionRole]
    ownership_tags: {project: wanzami, environment: production, managed-by: ansible}
"""

RETURN = r"""
resources:
  description: One verdict per resource, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: C(<kind>/<name>), what O(adopt) matches.
      type: str
      sample: ecs_service/wanzami-backend-service
    state:
      description: C(absent), C(ours), C(adopt) (adopted by this run, or shared) or C(existing) (not ours, refused).
      type: str
      sample: adopt
    arn:
      description: Its ARN (or id), when it exists.
      type: str
    tags:
      description: Its tags as found.
      type: dict
refused:
  description: Why the run must stop, one message per resource; empty when it may go on.
  returned: always
  type: list
  elements: str
wanzami_plan:
  description: The adopt and refused rows for the C(wanzami.infra.plan) callback.
  returned: always
  type: list
  elements: dict
"""

try:
    import botocore  # noqa: F401
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.wanzami.infra.plugins.module_utils.adoption import judge
from ansible_collections.wanzami.infra.plugins.module_utils.adoption import plan_entries
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.ownership import tag_dict
from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

retry = aws_retry()


def aws_list(tags):
    return [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]


class Finder:
    """Reads each kind of resource by name: {"arn", "tags", "attributes"} or None when it does not exist."""

    def __init__(self, module):
        self.module = module
        self.clients = {}

    def client(self, service, region=None):
        if (service, region) not in self.clients:
            kwargs = {"region": region} if region else {}
            self.clients[(service, region)] = self.module.client(service, retry_decorator=retry, **kwargs)
        return self.clients[(service, region)]

    # --- the inventory's network --------------------------------------------------------------------------------

    def network(self, vpc):
        """(vpc id or "", tier -> subnet ids, or None for a tier not all of whose subnets exist yet)."""
        ec2 = self.client("ec2")
        existing = vpc.get("existing") or ""
        if existing == "default":
            filters = [{"Name": "is-default", "Values": ["true"]}]
        elif isinstance(existing, str) and existing.startswith("vpc-"):
            filters = [{"Name": "vpc-id", "Values": [existing]}]
        elif isinstance(existing, dict) and existing:
            filters = [{"Name": f"tag:{k}", "Values": [str(v)]} for k, v in existing.items()]
        elif vpc.get("name"):
            filters = [{"Name": "tag:Name", "Values": [vpc["name"]]}]
        else:
            return "", {}
        vpcs = ec2.describe_vpcs(aws_retry=True, Filters=filters)["Vpcs"]
        if len(vpcs) != 1:
            return "", {}
        vpc_id = vpcs[0]["VpcId"]
        subnets = ec2.describe_subnets(aws_retry=True, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        by_cidr = {s["CidrBlock"]: s["SubnetId"] for s in subnets}
        tiers = {}
        for tier, cidrs in (vpc.get("subnets") or {}).items():
            ids = [by_cidr.get(c) for c in cidrs or []]
            tiers[tier] = ids if ids and all(ids) else None
        return vpc_id, tiers

    # --- one reader per kind -------------------------------------------------------------------------------------

    def ecs_cluster(self, r):
        found = self.client("ecs").describe_clusters(aws_retry=True, clusters=[r["name"]], include=["TAGS"])["clusters"]
        found = [c for c in found if c.get("status") == "ACTIVE"]
        if not found:
            return None
        return {"arn": found[0]["clusterArn"], "tags": tag_dict(found[0].get("tags")), "attributes": {}}

    def ecs_service(self, r):
        ecs = self.client("ecs")
        try:
            found = ecs.describe_services(aws_retry=True, cluster=r.get("cluster"), services=[r["name"]], include=["TAGS"])
        except is_boto3_error_code("ClusterNotFoundException"):
            return None
        found = [s for s in found["services"] if s.get("status") == "ACTIVE"]
        if not found:
            return None
        service = found[0]
        return {"arn": service["serviceArn"], "tags": tag_dict(service.get("tags")), "attributes": {}}

    def _elbv2_tags(self, arn):
        described = self.client("elbv2").describe_tags(aws_retry=True, ResourceArns=[arn])["TagDescriptions"]
        return tag_dict(described[0]["Tags"]) if described else {}

    def elbv2_load_balancer(self, r):
        try:
            (lb,) = self.client("elbv2").describe_load_balancers(aws_retry=True, Names=[r["name"]])["LoadBalancers"]
        except is_boto3_error_code("LoadBalancerNotFound"):
            return None
        return {"arn": lb["LoadBalancerArn"], "tags": self._elbv2_tags(lb["LoadBalancerArn"]),
                "attributes": {"scheme": lb.get("Scheme"), "type": lb.get("Type"), "vpc_id": lb.get("VpcId")}}

    def elbv2_target_group(self, r):
        try:
            (tg,) = self.client("elbv2").describe_target_groups(aws_retry=True, Names=[r["name"]])["TargetGroups"]
        except is_boto3_error_code("TargetGroupNotFound"):
            return None
        return {"arn": tg["TargetGroupArn"], "tags": self._elbv2_tags(tg["TargetGroupArn"]),
                "attributes": {"vpc_id": tg.get("VpcId"), "port": tg.get("Port"), "protocol": tg.get("Protocol"),
                               "target_type": tg.get("TargetType")}}

    def ecr_repository(self, r):
        ecr = self.client("ecr")
        try:
            (repo,) = ecr.describe_repositories(aws_retry=True, repositoryNames=[r["name"]])["repositories"]
        except is_boto3_error_code("RepositoryNotFoundException"):
            return None
        tags = ecr.list_tags_for_resource(aws_retry=True, resourceArn=repo["repositoryArn"]).get("tags")
        return {"arn": repo["repositoryArn"], "tags": tag_dict(tags), "attributes": {}}

    def logs_log_group(self, r):
        logs = self.client("logs")
        groups = logs.describe_log_groups(aws_retry=True, logGroupNamePrefix=r["name"])["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == r["name"]), None)
        if group is None:
            return None
        tags = logs.list_tags_log_group(aws_retry=True, logGroupName=r["name"]).get("tags")
        return {"arn": group["arn"].removesuffix(":*"), "tags": tag_dict(tags),
                "attributes": {"retention_in_days": group.get("retentionInDays")}}

    def iam_role(self, r):
        iam = self.client("iam")
        try:
            role = iam.get_role(aws_retry=True, RoleName=r["name"])["Role"]
        except is_boto3_error_code("NoSuchEntity"):
            return None
        tags = iam.list_role_tags(aws_retry=True, RoleName=r["name"]).get("Tags")
        return {"arn": role["Arn"], "tags": tag_dict(tags), "attributes": {}}

    def s3_bucket(self, r):
        s3 = self.client("s3", r.get("region"))
        try:
            location = s3.get_bucket_location(aws_retry=True, Bucket=r["name"]).get("LocationConstraint")
        except is_boto3_error_code(["NoSuchBucket", "404"]):
            return None
        try:
            tags = s3.get_bucket_tagging(aws_retry=True, Bucket=r["name"]).get("TagSet")
        except is_boto3_error_code("NoSuchTagSet"):
            tags = []
        return {"arn": f"arn:aws:s3:::{r['name']}", "tags": tag_dict(tags),
                "attributes": {"region": location or "us-east-1"}}

    def elasticache_serverless(self, r):
        elasticache = self.client("elasticache")
        try:
            (cache,) = elasticache.describe_serverless_caches(aws_retry=True, ServerlessCacheName=r["name"])["ServerlessCaches"]
        except is_boto3_error_code("ServerlessCacheNotFoundFault"):
            return None
        tags = elasticache.list_tags_for_resource(aws_retry=True, ResourceName=cache["ARN"]).get("TagList")
        return {"arn": cache["ARN"], "tags": tag_dict(tags),
                "attributes": {"engine": cache.get("Engine"), "subnet_ids": cache.get("SubnetIds") or []}}

    def elasticache_replication_group(self, r):
        elasticache = self.client("elasticache")
        try:
            (group,) = elasticache.describe_replication_groups(aws_retry=True, ReplicationGroupId=r["name"])["ReplicationGroups"]
        except is_boto3_error_code("ReplicationGroupNotFoundFault"):
            return None
        tags = elasticache.list_tags_for_resource(aws_retry=True, ResourceName=group["ARN"]).get("TagList")
        return {"arn": group["ARN"], "tags": tag_dict(tags),
                "attributes": {"engine": group.get("Engine"),
                               "transit_encryption_enabled": group.get("TransitEncryptionEnabled")}}

    def rds_instance(self, r):
        rds = self.client("rds")
        try:
            (db,) = rds.describe_db_instances(aws_retry=True, DBInstanceIdentifier=r["name"])["DBInstances"]
        except is_boto3_error_code("DBInstanceNotFound"):
            return None
        return {"arn": db["DBInstanceArn"], "tags": tag_dict(db.get("TagList")),
                "attributes": {"engine": db.get("Engine"), "storage_encrypted": db.get("StorageEncrypted"),
                               "vpc_id": (db.get("DBSubnetGroup") or {}).get("VpcId")}}

    def rds_cluster(self, r):
        rds = self.client("rds")
        try:
            (db,) = rds.describe_db_clusters(aws_retry=True, DBClusterIdentifier=r["name"])["DBClusters"]
        except is_boto3_error_code("DBClusterNotFoundFault"):
            return None
        return {"arn": db["DBClusterArn"], "tags": tag_dict(db.get("TagList")),
                "attributes": {"engine": db.get("Engine"), "storage_encrypted": db.get("StorageEncrypted")}}

    def ec2_security_group(self, r, vpc_id):
        if not vpc_id:
            return None  # Security groups are found by name in the inventory's VPC: none exists yet.
        groups = self.client("ec2").describe_security_groups(aws_retry=True, Filters=[
            {"Name": "group-name", "Values": [r["name"]]}, {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        if not groups:
            return None
        return {"arn": groups[0]["GroupId"], "tags": tag_dict(groups[0].get("Tags")), "attributes": {"vpc_id": vpc_id}}

    # --- adopting: our ownership tags merged into theirs ----------------------------------------------------------

    def tag(self, verdict, tags):
        kind, arn, resource = verdict["kind"], verdict["arn"], verdict
        if kind in ("ecs_cluster", "ecs_service"):
            self.client("ecs").tag_resource(aws_retry=True, resourceArn=arn,
                                            tags=[{"key": k, "value": str(v)} for k, v in sorted(tags.items())])
        elif kind in ("elbv2_load_balancer", "elbv2_target_group"):
            self.client("elbv2").add_tags(aws_retry=True, ResourceArns=[arn], Tags=aws_list(tags))
        elif kind == "ecr_repository":
            self.client("ecr").tag_resource(aws_retry=True, resourceArn=arn, tags=aws_list(tags))
        elif kind == "logs_log_group":
            self.client("logs").tag_log_group(aws_retry=True, logGroupName=resource["name"],
                                              tags={k: str(v) for k, v in tags.items()})
        elif kind == "s3_bucket":
            merged = {**verdict["tags"], **tags}
            self.client("s3", resource.get("region")).put_bucket_tagging(
                aws_retry=True, Bucket=resource["name"], Tagging={"TagSet": aws_list(merged)})
        elif kind in ("elasticache_serverless", "elasticache_replication_group"):
            self.client("elasticache").add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=aws_list(tags))
        elif kind in ("rds_instance", "rds_cluster"):
            self.client("rds").add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=aws_list(tags))
        elif kind == "ec2_security_group":
            self.client("ec2").create_tags(aws_retry=True, Resources=[arn], Tags=aws_list(tags))
        elif kind == "iam_role":
            self.client("iam").tag_role(aws_retry=True, RoleName=resource["name"], Tags=aws_list(tags))


def look(module, finder):
    """Read every resource; return what judge() takes: the resources with their network wants filled in, and found."""
    vpc_id, tiers = finder.network(module.params["vpc"] or {})
    resources, found = [], {}
    for resource in module.params["resources"]:
        resource = dict(resource, attributes=dict(resource.get("attributes") or {}),
                        variables=dict(resource.get("variables") or {}))
        if resource.get("in_vpc"):
            # A VPC the run would create holds nothing yet: whatever exists is elsewhere.
            resource["attributes"]["vpc_id"] = vpc_id or f"VPC {(module.params['vpc'] or {}).get('name') or ''} (not created yet)"
            resource["variables"].setdefault("vpc_id", "vpc_existing")
        if resource.get("subnet_tier"):
            resource["attributes"]["subnet_ids"] = (tiers.get(resource["subnet_tier"])
                                                    or f"the {resource['subnet_tier']} subnets (not created yet)")
        reader = getattr(finder, resource["kind"])
        have = reader(resource, vpc_id) if resource["kind"] == "ec2_security_group" else reader(resource)
        if have is not None:
            found[f"{resource['kind']}/{resource['name']}"] = have
        resources.append(resource)
    return resources, found


def main():
    resource_spec = dict(
        kind=dict(type="str", required=True, choices=[
            "ecs_cluster", "ecs_service", "elbv2_load_balancer", "elbv2_target_group", "ecr_repository", "logs_log_group",
            "iam_role", "s3_bucket", "elasticache_serverless", "elasticache_replication_group", "rds_instance",
            "rds_cluster", "ec2_security_group"]),
        name=dict(type="str", required=True),
        cluster=dict(type="str"),
        region=dict(type="str"),
        shared=dict(type="bool", default=False),
        in_vpc=dict(type="bool", default=False),
        subnet_tier=dict(type="str"),
        attributes=dict(type="dict", default={}),
        variables=dict(type="dict", default={}),
    )
    argument_spec = dict(
        resources=dict(type="list", elements="dict", required=True, options=resource_spec),
        vpc=dict(type="dict", default={}),
        adopt=dict(type="list", elements="str", default=[]),
        ownership_tags=dict(type="dict", required=True),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    finder = Finder(module)
    ownership_tags = {k: str(v) for k, v in module.params["ownership_tags"].items()}
    try:
        resources, found = look(module, finder)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="adopt: could not read what the inventory names")
    verdicts, refusals = judge(resources, found, module.params["adopt"], ownership_tags)
    plan = plan_entries(verdicts, refusals, module.check_mode)
    public = [{k: v for k, v in verdict.items() if k in ("key", "state", "arn", "tags", "shared")} for verdict in verdicts]
    if refusals:
        module.fail_json(
            msg=(f"Stopped before any change: {len(refusals)} thing(s) the inventory asks cannot be done as it stands.\n- "
                 + "\n- ".join(r["message"] for r in refusals)),
            wanzami_plan=plan)
    to_tag = [v for v in verdicts if v["state"] == "adopt" and not v.get("shared")]
    if not module.check_mode:
        for verdict in to_tag:
            try:
                finder.tag(verdict, ownership_tags)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                module.fail_json_aws(e, msg=f"adopt: could not tag {verdict['label']} as ours")
    module.exit_json(changed=bool(to_tag), resources=public, refused=[], wanzami_plan=plan)


if __name__ == "__main__":
    main()
