# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pre-flight of the adopt module: what the inventory names that already exists, whose it is,
and which of the inventory's wishes AWS cannot apply to it in place.

judge() is pure (unit-tested without AWS): it takes what was found and says, per resource,
absent / ours / adopt / existing (not ours, not adopted: refused) and lists the refusals.
The readers and taggers below make the AWS calls, each wrapped once with a retry that also
knows every throttling code (module_utils/retries.py)."""

import fnmatch

from ansible_collections.wanzami.infra.plugins.module_utils.ownership import owned
from ansible_collections.wanzami.infra.plugins.module_utils.ownership import tag_dict

# kind -> what a person calls it in a message.
KINDS = {
    "ecs_cluster": "ECS cluster",
    "ecs_service": "ECS service",
    "elbv2_load_balancer": "load balancer",
    "elbv2_target_group": "target group",
    "ecr_repository": "ECR repository",
    "logs_log_group": "log group",
    "iam_role": "IAM role",
    "s3_bucket": "S3 bucket",
    "elasticache_serverless": "serverless cache",
    "elasticache_replication_group": "replication group",
    "rds_instance": "DB instance",
    "rds_cluster": "DB cluster",
    "ec2_security_group": "security group",
}


def key(resource):
    """The name wanzami_adopt matches: <kind>/<name>."""
    return f"{resource['kind']}/{resource['name']}"


def adopted(resource, patterns):
    """Whether one of wanzami_adopt's patterns (fnmatch: `*`, `ecs_service/*`, `s3_bucket/wanzami-bucket`) names it."""
    return any(fnmatch.fnmatchcase(key(resource), pattern) for pattern in patterns or [])


def _show(value):
    if isinstance(value, (list, tuple, set)):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    if value is None or value == "":
        return "(none yet)"
    return str(value)


def _same(have, want):
    if isinstance(want, (list, tuple, set)) or isinstance(have, (list, tuple, set)):
        return sorted(str(v) for v in (have or [])) == sorted(str(v) for v in (want or []))
    if isinstance(want, bool) or isinstance(have, bool):
        return bool(have) == bool(want)
    return str(have).lower() == str(want).lower()


def immutable_differences(resource, found):
    """The attributes AWS cannot change in place that differ: [(attribute, have, want, variable)].

    An attribute the inventory leaves to the role (want None) is not compared; a want of "" means
    "what does not exist yet" (a VPC or subnets the run would create), which nothing existing can be in."""
    differences = []
    for attribute, want in sorted((resource.get("attributes") or {}).items()):
        if want is None:
            continue
        have = (found.get("attributes") or {}).get(attribute)
        if not _same(have, want):
            variable = (resource.get("variables") or {}).get(attribute, "")
            differences.append((attribute, have, want, variable))
    return differences


def judge(resources, found, patterns, ownership_tags):
    """Decide, for each resource the inventory names, what the run may do with it.

    found: key -> {"tags": {...}, "attributes": {...}, "arn": ...} for what exists (absent: no key).
    Returns (verdicts, refusals): verdicts are dicts with state absent, ours, adopt or existing;
    refusals are {resource, short, message}, one per problem; any of them stops the run before its first change."""
    verdicts, refusals = [], []
    for resource in resources:
        name = key(resource)
        what = f"{KINDS.get(resource['kind'], resource['kind'])} {resource['name']}"
        have = found.get(name)
        verdict = dict(resource, key=name, label=what)
        if have is None:
            verdicts.append(dict(verdict, state="absent"))
            continue
        ours = owned(have.get("tags"), ownership_tags)
        differences = immutable_differences(resource, have)
        verdict.update(arn=have.get("arn"), tags=tag_dict(have.get("tags")), differences=differences)
        named_by = (resource.get("variables") or {}).get("name")
        for attribute, value, want, variable in differences:
            as_is = f"{variable} = {_show(value)}" if variable else "change the inventory to match"
            short = f"{attribute} is {_show(value)}, asked {_show(want)}: cannot change in place"
            refusals.append(dict(resource=what, short=short,
                                 message=f"{what}: its {attribute} is {_show(value)}, the inventory asks {_show(want)}, and AWS "
                                 f"cannot change that in place: adopt it as it is ({as_is}), rename ours "
                                 f"({named_by or 'in the inventory'}), or replace it by hand (delete it, then run again)."))
        if not ours and not adopted(resource, patterns):
            missing = sorted(f"{k}={v}" for k, v in tag_dict(ownership_tags).items()
                             if str(tag_dict(have.get("tags")).get(k)) != str(v))
            refusals.append(dict(resource=what, short=f"exists, not ours (lacks {', '.join(missing)}), not in wanzami_adopt",
                                 message=f"{what} exists and is not ours (it lacks {', '.join(missing)}): adopt it "
                                 f"(wanzami_adopt: ['{name}']), rename ours ({named_by or 'in the inventory'}), "
                                 "or remove it by hand if nobody uses it."))
            verdicts.append(dict(verdict, state="existing"))
            continue
        verdicts.append(dict(verdict, state="ours" if ours else "adopt"))
    return verdicts, refusals


def plan_entries(verdicts, refusals, check_mode):
    """The rows the wanzami.infra.plan callback prints: one per adoption, one per refusal."""
    entries = []
    for verdict in verdicts:
        if verdict["state"] != "adopt":
            continue
        if verdict.get("shared"):
            detail = "shared: only our own parts are added; never tagged as ours, never deleted by teardown"
        else:
            detail = ("would be tagged as ours and managed from then on" if check_mode
                      else "tagged as ours; managed from now on")
        entries.append({"action": "adopt", "resource": verdict["label"], "detail": detail})
    entries += [{"action": "refused", "resource": refusal["resource"], "detail": refusal["short"]} for refusal in refusals]
    return entries
