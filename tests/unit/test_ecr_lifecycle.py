"""The lifecycle policy evaluation (module_utils/ecr_lifecycle.py), ecr_images_in_use_info, and
ecr_repository's refusal to put a policy that expires an image still in use."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils import ecr_lifecycle as lc
from ansible_collections.wanzami.infra.plugins.modules import ecr_images_in_use_info as info
from ansible_collections.wanzami.infra.plugins.modules import ecr_repository as repo_mod
from tests.unit.stubs import stubbed_client
from tests.unit.test_ecr_repository import FakeModule
from tests.unit.test_ecr_repository import existing

NOW = datetime(2025, 12, 22, tzinfo=UTC)
REGISTRY = "123456789012.dkr.ecr.us-east-2.amazonaws.com"


def digest(n):
    return f"sha256:{n:064x}"


def image(n, *tags, days_ago=None):
    """Image n, pushed n hours after the first unless days_ago says when."""
    pushed = NOW - timedelta(days=days_ago) if days_ago is not None else NOW - timedelta(days=30) + timedelta(hours=n)
    return {"imageDigest": digest(n), "imageTags": list(tags), "imagePushedAt": pushed}


def rule(priority, count_type="imageCountMoreThan", number=1, **selection):
    sel = {"tagStatus": "tagged", "countType": count_type, "countNumber": number, **selection}
    if count_type == "sinceImagePushed":
        sel["countUnit"] = "days"
    return {"rulePriority": priority, "selection": sel, "action": {"type": "expire"}}


def expired(policy, images):
    return [i["imageDigest"] for i, _ in lc.expired_images(policy, images, NOW)]


# The role's own policy (roles/ecr/tasks/repositories.yml), keeping 10 tagged images.
ROLE_POLICY = {"rules": [
    {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                                      "countNumber": 7}, "action": {"type": "expire"}},
    {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                                      "countNumber": 10}, "action": {"type": "expire"}},
]}


def test_the_roles_policy_on_seed_000s_fifteen_images_expires_the_five_oldest_tagged_and_old_untagged_ones():
    images = [image(n, f"v{n}") for n in range(1, 16)] + [image(20, days_ago=8), image(21, days_ago=2)]
    assert sorted(expired(ROLE_POLICY, images)) == sorted([digest(20)] + [digest(n) for n in range(1, 6)])


def test_an_image_matched_by_a_higher_priority_rule_is_not_seen_by_lower_ones():
    images = [image(n, f"prod-{n}") for n in range(1, 4)] + [image(n, f"dev-{n}") for n in range(4, 7)]
    policy = {"rules": [rule(1, number=5, tagPrefixList=["prod"]), rule(2, tagStatus="any", number=1)]}
    # Rule 1 keeps every prod image; rule 2 counts the dev ones only and keeps the newest of them.
    assert expired(policy, images) == [digest(4), digest(5)]


def test_rules_are_taken_in_priority_order_whatever_the_list_order():
    images = [image(n, f"prod-{n}") for n in range(1, 4)]
    policy = {"rules": [rule(2, tagStatus="any", number=0), rule(1, number=3, tagPrefixList=["prod"])]}
    assert expired(policy, images) == []


def test_prefix_and_pattern_lists_need_a_matching_tag_for_every_entry():
    images = [image(1, "prod", "web-1"), image(2, "prod"), image(3, "web-3"), image(4, "release-1.2-web")]
    assert expired({"rules": [rule(1, number=0, tagPrefixList=["prod", "web"])]}, images) == [digest(1)]
    assert expired({"rules": [rule(1, number=0, tagPatternList=["release-*-web"])]}, images) == [digest(4)]
    # Only '*' is special in a pattern.
    assert expired({"rules": [rule(1, number=0, tagPatternList=["release-?.2*"])]}, images) == []


def test_untagged_since_pushed_and_any():
    images = [image(1, days_ago=10), image(2, days_ago=3), image(3, "v3", days_ago=30)]
    assert expired({"rules": [rule(1, "sinceImagePushed", 7, tagStatus="untagged")]}, images) == [digest(1)]
    assert expired({"rules": [rule(1, "sinceImagePushed", 7, tagStatus="any")]}, images) == [digest(3), digest(1)]


def test_images_pushed_at_the_same_instant_as_an_expired_one_may_expire_too():
    same = NOW - timedelta(days=1)
    images = [image(1, "v1", days_ago=3), *({**image(n, f"v{n}"), "imagePushedAt": same} for n in (2, 3)),
              image(4, "v4", days_ago=0)]
    assert sorted(expired({"rules": [rule(1, number=3, tagPatternList=["*"])]}, images)) == [digest(1)]
    # Keep 2: v2 and v3 were pushed in the same second, and ECR may keep either of them.
    assert sorted(expired({"rules": [rule(1, number=2, tagPatternList=["*"])]}, images)) == [digest(1), digest(2), digest(3)]


def test_an_unknown_count_type_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="sinceImageTransitioned"):
        lc.expired_images({"rules": [rule(1, "sinceImageTransitioned")]}, [image(1, "v1")], NOW)


def test_refused_expiries_name_the_images_in_use_by_tag_or_digest():
    images = [image(n, f"v{n}") for n in range(1, 15)]
    protected = [{"repository": "wanzami-backend", "tag": None, "digest": digest(2), "used_by": ["task definition t:4"]},
                 {"repository": "wanzami-backend", "tag": "v3", "digest": None, "used_by": ["release record /w/release"]},
                 {"repository": "wanzami-backend", "tag": "v14", "digest": None, "used_by": ["service api"]}]
    refused = lc.refused_expiries(ROLE_POLICY, images, protected, NOW)
    assert [(r["tags"], r["used_by"]) for r in refused] == [(["v2"], ["task definition t:4"]),
                                                            (["v3"], ["release record /w/release"])]
    message = lc.describe_refusal("wanzami-backend", refused)
    assert "would expire 2 image(s) still in use" in message and f"v2 {digest(2)}" in message


@pytest.mark.parametrize(("reference", "parsed"), [
    (f"{REGISTRY}/wanzami-backend:v1", ("wanzami-backend", "v1", None)),
    (f"{REGISTRY}/team/app@{digest(1)}", ("team/app", None, digest(1))),
    (f"{REGISTRY}/wanzami-backend:v1@{digest(1)}", ("wanzami-backend", "v1", digest(1))),
    ("localhost:5000/app", ("app", None, None)),
    ("nginx:1.27", ("nginx", "1.27", None)),
])
def test_parse_reference(reference, parsed):
    assert lc.parse_reference(reference) == parsed


def test_the_release_record_names_its_release_and_the_previous_one():
    record = {"tag": "v2", "digest": digest(2), "image": f"{REGISTRY}/wanzami-backend@{digest(2)}",
              "repository": "wanzami-backend",
              "images": {"wanzami-backend": f"{REGISTRY}/wanzami-backend@{digest(2)}"},
              "previous": {"tag": "v1", "digest": digest(1), "image": f"{REGISTRY}/wanzami-backend@{digest(1)}"}}
    merged = lc.merge_references(lc.record_references(record, {"wanzami-backend"}))
    assert [(m["digest"], m["used_by"]) for m in merged] == [
        (digest(1), ["release record (previous release)"]), (digest(2), ["release record"])]
    assert lc.record_references(None, {"wanzami-backend"}) == []


def test_images_in_use_reads_families_services_and_the_record():
    arn = "arn:aws:ecs:us-east-2:123456789012:task-definition/{}"
    definition = {"containerDefinitions": [{"name": "api", "image": f"{REGISTRY}/wanzami-backend@{digest(7)}"},
                                           {"name": "sidecar", "image": "public.ecr.aws/otel/collector:latest"}]}
    with stubbed_client("ecs") as (ecs, ecs_stub), stubbed_client("ssm") as (ssm, ssm_stub):
        ecs_stub.add_response("list_task_definitions",
                              {"taskDefinitionArns": [arn.format("api:4"), arn.format("api-canary:1")]},
                              {"familyPrefix": "api", "status": "ACTIVE", "sort": "DESC"})
        ecs_stub.add_response("describe_task_definition", {"taskDefinition": definition, "tags": []},
                              {"taskDefinition": arn.format("api:4"), "include": ["TAGS"]})
        ecs_stub.add_response("describe_services", {"services": [
            {"serviceName": "api-svc", "status": "ACTIVE", "taskDefinition": arn.format("api:3"),
             "deployments": [{"taskDefinition": arn.format("api:3")}]}]},
            {"cluster": "c", "services": ["api-svc"]})
        ecs_stub.add_response("describe_task_definition", {"taskDefinition": {"containerDefinitions": [
            {"name": "api", "image": f"{REGISTRY}/wanzami-backend:latest"}]}, "tags": []},
            {"taskDefinition": arn.format("api:3"), "include": ["TAGS"]})
        ssm_stub.add_client_error("get_parameter", "ParameterNotFound", expected_params={"Name": "/w/release"})
        found = info.images_in_use(ecs, ssm, {"repositories": ["wanzami-backend"], "task_definition_families": ["api"],
                                              "cluster": "c", "services": ["api-svc"], "release_record_parameter": "/w/release"})
    assert found == [
        {"repository": "wanzami-backend", "tag": None, "digest": digest(7), "used_by": ["task definition api:4"]},
        {"repository": "wanzami-backend", "tag": "latest", "digest": None, "used_by": ["service api-svc (api:3)"]},
    ]


@pytest.fixture
def aws(monkeypatch):
    state = {"calls": [], "images": [image(n, f"v{n}") for n in range(1, 16)]}
    monkeypatch.setattr(repo_mod, "describe_repository", lambda client, name: existing())
    monkeypatch.setattr(repo_mod, "get_lifecycle_policy", lambda client, name: state.get("policy"))
    monkeypatch.setattr(repo_mod, "list_repository_tags", lambda client, arn: {"project": "wanzami"})
    monkeypatch.setattr(repo_mod, "describe_images", lambda client, name: state["images"])
    for name in ("put_image_tag_mutability", "put_image_scanning_configuration", "put_lifecycle_policy",
                 "delete_lifecycle_policy", "tag_repository", "untag_repository"):
        monkeypatch.setattr(repo_mod, name, lambda *a, _n=name, **k: state["calls"].append(_n))
    return state


class Failed(Exception):
    pass


class RefusingModule(FakeModule):
    def fail_json(self, **kwargs):
        raise Failed(kwargs)


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_policy_that_expires_an_image_in_use_is_refused_before_any_change(aws, check_mode):
    # Seed 000: 15 images, the task definition at revision 4 runs the oldest one.
    module = RefusingModule(check_mode=check_mode, lifecycle_policy=ROLE_POLICY, image_tag_mutability="IMMUTABLE",
                            protected_images=[{"repository": "wanzami-backend", "digest": digest(1),
                                               "used_by": ["task definition wanzami-backend-task:4"]}])
    with pytest.raises(Failed) as failed:
        repo_mod.ensure_present(module, None)
    assert aws["calls"] == []
    assert [r["digest"] for r in failed.value.args[0]["refused_images"]] == [digest(1)]
    assert "wanzami-backend-task:4" in failed.value.args[0]["msg"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_policy_that_spares_every_image_in_use_is_put(aws, check_mode):
    module = RefusingModule(check_mode=check_mode, lifecycle_policy=ROLE_POLICY,
                            protected_images=[{"repository": "wanzami-backend", "tag": "v15", "used_by": ["service api"]},
                                              {"repository": "other", "tag": "v1", "used_by": ["service other"]}])
    changed, _, _ = repo_mod.ensure_present(module, None)
    assert changed and aws["calls"] == ([] if check_mode else ["put_lifecycle_policy"])


def test_an_unchanged_policy_is_not_evaluated_again(aws):
    aws["policy"] = repo_mod.normalised(ROLE_POLICY)
    module = RefusingModule(lifecycle_policy=ROLE_POLICY,
                            protected_images=[{"repository": "wanzami-backend", "digest": digest(1), "used_by": ["x"]}])
    changed, _, _ = repo_mod.ensure_present(module, None)
    assert not changed and aws["calls"] == []
