#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_cluster
short_description: Manage an ECS cluster, its capacity providers, default strategy, Container Insights and tags
version_added: 0.1.0
description:
  - Creates, updates or deletes one Amazon ECS cluster.
  - Manages in one place what M(community.aws.ecs_cluster) 10.0.0 splits or lacks, which is why this
    collection's roles use this module instead. That module sets capacity providers and a default
    strategy, but neither the C(containerInsights) setting nor tags, and it shows no diff.
  - Only the options given are managed; the others are left as they are.
  - Supports check mode (no mutating call) and C(--diff) (the managed settings before and after).
author:
  - Wanzami infrastructure team
options:
  name:
    description: Cluster name, for example C(wanzami-cluster).
    type: str
    required: true
  state:
    description: Whether the cluster should exist. A deleted cluster stays C(INACTIVE) for a while and counts as absent.
    type: str
    choices: [present, absent]
    default: present
  capacity_providers:
    description:
      - Capacity providers the cluster may use, for example C(FARGATE) and C(FARGATE_SPOT). Compared as a set.
      - An empty list removes them all (then O(capacity_provider_strategy) must be empty too).
    type: list
    elements: str
  capacity_provider_strategy:
    description:
      - The cluster's default capacity provider strategy, used by services and tasks created without a launch
        type or a strategy of their own. Compared without regard to order.
      - Every provider named here must be in O(capacity_providers) (or already on the cluster when
        O(capacity_providers) is not given). At most one entry may have a O(capacity_provider_strategy[].base),
        and at least one needs a O(capacity_provider_strategy[].weight) above zero.
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: Name of a capacity provider.
        type: str
        required: true
      weight:
        description: Relative share of the tasks beyond the base placed on this provider, 0 to 1000.
        type: int
        default: 0
      base:
        description: Tasks placed on this provider first, 0 to 100000.
        type: int
        default: 0
  container_insights:
    description:
      - The cluster's C(containerInsights) setting. C(enhanced) adds task and container level metrics.
      - Left alone when not given.
    type: str
    choices: [enabled, disabled, enhanced]
  only_if_tagged:
    description:
      - With O(state=absent), delete the cluster only when it carries every one of these tags (the ownership tags);
        one without them is someone else's and is kept, with RV(kept=true) and a message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - Deleting a cluster fails while it still has services or tasks; remove those first.
"""

EXAMPLES = r"""
- name: Seed 000's Fargate-only cluster, Spot available, on-demand by default, with Container Insights
  wanzami.infra.ecs_cluster:
    name: wanzami-cluster
    capacity_providers: [FARGATE, FARGATE_SPOT]
    capacity_provider_strategy:
      - capacity_provider: FARGATE
        weight: 1
    container_insights: enabled
    tags:
      project: wanzami
  register: cluster

- name: Seed 004's cost choice - one on-demand task, then four Spot tasks for each on-demand one
  wanzami.infra.ecs_cluster:
    name: wanzami-staging-cluster
    capacity_providers: [FARGATE, FARGATE_SPOT]
    capacity_provider_strategy:
      - {capacity_provider: FARGATE, base: 1, weight: 1}
      - {capacity_provider: FARGATE_SPOT, weight: 4}

- name: Delete a cluster
  wanzami.infra.ecs_cluster:
    name: old-cluster
    state: absent
"""

RETURN = r"""
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the cluster exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the cluster was kept.
  returned: when RV(kept=true)
  type: str
cluster:
  description:
    - The cluster after the change. In check mode, what it would be; a cluster that would be created has no
      C(cluster_arn) yet.
  returned: when O(state=present)
  type: dict
  contains:
    cluster_name:
      description: Name.
      type: str
      sample: wanzami-cluster
    cluster_arn:
      description: ARN.
      type: str
      sample: arn:aws:ecs:us-east-2:123456789012:cluster/wanzami-cluster
    status:
      description: C(ACTIVE), C(PROVISIONING) while capacity providers are being attached, ...
      type: str
      sample: ACTIVE
    capacity_providers:
      description: Capacity providers.
      type: list
      elements: str
      sample: [FARGATE, FARGATE_SPOT]
    default_capacity_provider_strategy:
      description: The default strategy.
      type: list
      elements: dict
      sample: [{capacity_provider: FARGATE, weight: 1, base: 0}]
    container_insights:
      description: The C(containerInsights) setting.
      type: str
      sample: enabled
    settings:
      description: Every cluster setting, as ECS reports them.
      type: list
      elements: dict
      sample: [{name: containerInsights, value: enabled}]
    tags:
      description: Tags.
      type: dict
      sample: {project: wanzami}
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.wanzami.infra.plugins.module_utils.ecs import AnsibleECSError
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import create_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import delete_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import describe_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import ecs_tag_dict
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import ecs_tag_list
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import put_cluster_capacity_providers
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import tag_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import untag_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.ecs import update_cluster_settings
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message

MAX_WEIGHT = 1000
MAX_BASE = 100000


def strategy_from_params(strategy):
    """The module's snake_case strategy as ECS takes it, in the order given."""
    return [
        {"capacityProvider": s["capacity_provider"], "weight": s.get("weight") or 0, "base": s.get("base") or 0}
        for s in strategy
    ]


def normalised_strategy(strategy):
    """A strategy in snake_case with every field, sorted by provider, so that order and omitted zeros never read as a change."""
    return sorted(
        (
            {"capacity_provider": s["capacityProvider"], "weight": s.get("weight", 0), "base": s.get("base", 0)}
            for s in strategy or []
        ),
        key=lambda s: s["capacity_provider"],
    )


def container_insights_of(cluster):
    for setting in cluster.get("settings") or []:
        if setting.get("name") == "containerInsights":
            return setting.get("value")
    return None


def settings_of(cluster):
    """The settings this module manages, as --diff shows them."""
    if not cluster:
        return {}
    return {
        "capacity_providers": sorted(cluster.get("capacityProviders") or []),
        "capacity_provider_strategy": normalised_strategy(cluster.get("defaultCapacityProviderStrategy")),
        "container_insights": container_insights_of(cluster),
        "tags": dict(sorted(ecs_tag_dict(cluster.get("tags")).items())),
    }


def strategy_problems(strategy, providers):
    """Why ECS would refuse this default strategy, before any call is made."""
    problems = []
    unknown = sorted({s["capacity_provider"] for s in strategy} - set(providers))
    if unknown:
        problems.append(
            f"capacity_provider_strategy names {', '.join(unknown)}, which capacity_providers does not list"
            f" ({', '.join(providers) or 'none'})"
        )
    names = [s["capacity_provider"] for s in strategy]
    if len(set(names)) != len(names):
        problems.append("capacity_provider_strategy names a provider more than once")
    if len([s for s in strategy if s["base"]]) > 1:
        problems.append("only one provider of capacity_provider_strategy may have a base above 0")
    if [s for s in strategy if not 0 <= s["weight"] <= MAX_WEIGHT]:
        problems.append(f"capacity_provider_strategy weights must be between 0 and {MAX_WEIGHT}")
    if [s for s in strategy if not 0 <= s["base"] <= MAX_BASE]:
        problems.append(f"capacity_provider_strategy bases must be between 0 and {MAX_BASE}")
    if strategy and not [s for s in strategy if s["weight"] > 0]:
        problems.append("at least one provider of capacity_provider_strategy needs a weight above 0")
    return problems


def wanted_settings(current, params):
    """What the managed settings will be once params are applied (current for those not given)."""
    wanted = dict(current) if current else {
        "capacity_providers": [], "capacity_provider_strategy": [], "container_insights": None, "tags": {}}
    if params["capacity_providers"] is not None:
        wanted["capacity_providers"] = sorted(params["capacity_providers"])
    if params["capacity_provider_strategy"] is not None:
        wanted["capacity_provider_strategy"] = normalised_strategy(strategy_from_params(params["capacity_provider_strategy"]))
    if params["container_insights"] is not None:
        wanted["container_insights"] = params["container_insights"]
    elif not current:
        # What ECS gives a new cluster when nothing is asked (the account default may differ).
        wanted["container_insights"] = "disabled"
    if params["tags"] is not None:
        tags = dict(params["tags"]) if params["purge_tags"] else {**wanted["tags"], **params["tags"]}
        wanted["tags"] = dict(sorted((k, str(v)) for k, v in tags.items()))
    return wanted


def check_strategy(module, wanted):
    problems = strategy_problems(wanted["capacity_provider_strategy"], wanted["capacity_providers"])
    if problems:
        module.fail_json(msg=f"Cluster {module.params['name']}: " + "; ".join(problems) + ".")


def ensure_created(module, client, wanted):
    """Create the cluster with every setting at once; returns the cluster, None in check mode."""
    if module.check_mode:
        return None
    params = module.params
    create = {"clusterName": params["name"]}
    if params["capacity_providers"] is not None:
        create["capacityProviders"] = list(params["capacity_providers"])
    if params["capacity_provider_strategy"] is not None:
        create["defaultCapacityProviderStrategy"] = strategy_from_params(params["capacity_provider_strategy"])
    if params["container_insights"] is not None:
        create["settings"] = [{"name": "containerInsights", "value": params["container_insights"]}]
    if wanted["tags"]:
        create["tags"] = ecs_tag_list(wanted["tags"])
    return create_cluster(client, **create)


def ensure_container_insights(module, client, name, current, wanted):
    if current["container_insights"] == wanted["container_insights"]:
        return False
    if not module.check_mode:
        update_cluster_settings(client, name, [{"name": "containerInsights", "value": wanted["container_insights"]}])
    return True


def ensure_capacity_providers(module, client, cluster, current, wanted):
    same_providers = current["capacity_providers"] == wanted["capacity_providers"]
    if same_providers and current["capacity_provider_strategy"] == wanted["capacity_provider_strategy"]:
        return False
    if not module.check_mode:
        params = module.params
        # The API takes both lists every time; the ones not given stay as they are.
        providers = params["capacity_providers"]
        if providers is None:
            providers = cluster.get("capacityProviders") or []
        strategy = params["capacity_provider_strategy"]
        if strategy is None:
            strategy = cluster.get("defaultCapacityProviderStrategy") or []
        else:
            strategy = strategy_from_params(strategy)
        put_cluster_capacity_providers(client, cluster["clusterName"], list(providers), strategy)
    return True


def ensure_tags(module, client, arn, current, wanted):
    return apply_tags(module, current, None if module.params["tags"] is None else wanted, True,
                      tag=lambda tags: tag_cluster(client, arn, tags),
                      untag=lambda keys: untag_cluster(client, arn, keys))


def result_of(cluster, name, settings):
    """The cluster as returned: ECS's fields in snake_case, with the managed settings as they are (or would be)."""
    result = camel_dict_to_snake_dict(cluster, ignore_list=["tags"]) if cluster else {"cluster_name": name}
    result.update(
        {
            "capacity_providers": settings["capacity_providers"],
            "default_capacity_provider_strategy": settings["capacity_provider_strategy"],
            "container_insights": settings["container_insights"],
            "tags": settings["tags"],
        }
    )
    others = [s for s in result.get("settings") or [] if s.get("name") != "containerInsights"]
    result["settings"] = others + [{"name": "containerInsights", "value": settings["container_insights"]}]
    return result


def ensure_present(module, client):
    name = module.params["name"]
    cluster = describe_cluster(client, name)
    before = settings_of(cluster)
    after = wanted_settings(before, module.params)
    check_strategy(module, after)

    if cluster is None:
        created = ensure_created(module, client, after)
        return True, result_of(created, name, after), {"before": {}, "after": after}

    changed = ensure_container_insights(module, client, name, before, after)
    changed |= ensure_capacity_providers(module, client, cluster, before, after)
    changed |= ensure_tags(module, client, cluster["clusterArn"], before["tags"], after["tags"])
    if changed and not module.check_mode:
        cluster = describe_cluster(client, name) or cluster
    return changed, result_of(cluster, name, after), {"before": before, "after": after}


def ensure_absent(module, client):
    name = module.params["name"]
    cluster = describe_cluster(client, name)
    gone = {"name": name, "state": "absent"}
    if cluster is None:
        return False, {"before": gone, "after": gone}, None
    tags = ecs_tag_dict(cluster.get("tags"))
    required = module.params.get("only_if_tagged") or {}
    if not carries_tags(tags, required):
        return False, {}, kept_message("ECS cluster", name, tags, required)
    if not module.check_mode:
        delete_cluster(client, name)
    return True, {"before": {"name": name, "state": "present", **settings_of(cluster)}, "after": gone}, None


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        capacity_providers=dict(type="list", elements="str"),
        capacity_provider_strategy=dict(
            type="list",
            elements="dict",
            options=dict(
                capacity_provider=dict(type="str", required=True),
                weight=dict(type="int", default=0),
                base=dict(type="int", default=0),
            ),
        ),
        container_insights=dict(type="str", choices=["enabled", "disabled", "enhanced"]),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        only_if_tagged=dict(type="dict", default={}),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ecs")
    try:
        if module.params["state"] == "absent":
            changed, diff, kept = ensure_absent(module, client)
            module.exit_json(changed=changed, diff=diff, kept=bool(kept), **({"msg": kept} if kept else {}))
        changed, cluster, diff = ensure_present(module, client)
    except AnsibleECSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=changed, cluster=cluster, diff=diff)


if __name__ == "__main__":
    main()
