"""wanzami.infra.ecr_repository with the boto layer patched at the module_utils seam."""

import pytest

from ansible_collections.wanzami.infra.plugins.modules import ecr_repository as mod

ARN = "arn:aws:ecr:us-east-2:123456789012:repository/wanzami-backend"
POLICY = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                                       "countUnit": "days", "countNumber": 7},
                     "action": {"type": "expire"}}]}


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {"name": "wanzami-backend", "state": "present", "scan_on_push": True,
                       "image_tag_mutability": "MUTABLE", "lifecycle_policy": None, "encryption_type": "AES256",
                       "kms_key": None, "force_delete": False, "tags": {"project": "wanzami"}, "purge_tags": True}
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


def existing(**overrides):
    repo = {"repositoryName": "wanzami-backend", "repositoryArn": ARN, "registryId": "123456789012",
            "repositoryUri": "123456789012.dkr.ecr.us-east-2.amazonaws.com/wanzami-backend",
            "imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfiguration": {"encryptionType": "AES256"}}
    repo.update(overrides)
    return repo


@pytest.fixture
def aws(monkeypatch):
    """Record every call to the boto seam; tests set what describe/get/list return."""
    state = {"repository": None, "policy": None, "tags": {}, "calls": []}

    def record(name, result=None):
        def call(*args, **kwargs):
            state["calls"].append(name)
            return result(*args, **kwargs) if callable(result) else result
        return call

    monkeypatch.setattr(mod, "describe_repository", lambda client, name: state["repository"])
    monkeypatch.setattr(mod, "get_lifecycle_policy", lambda client, name: state["policy"])
    monkeypatch.setattr(mod, "list_repository_tags", lambda client, arn: dict(state["tags"]))
    monkeypatch.setattr(mod, "describe_images", lambda client, name: list(state.get("images", [])))
    monkeypatch.setattr(mod, "create_repository", record("create_repository", lambda client, **p: existing()))
    for name in ("put_image_tag_mutability", "put_image_scanning_configuration", "put_lifecycle_policy",
                 "delete_lifecycle_policy", "tag_repository", "untag_repository", "delete_repository"):
        monkeypatch.setattr(mod, name, record(name))
    return state


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_a_missing_repository_with_every_setting(aws, check_mode):
    module = FakeModule(check_mode=check_mode, lifecycle_policy=POLICY)
    changed, repo, diff = mod.ensure_present(module, None)
    assert changed
    assert aws["calls"] == ([] if check_mode else ["create_repository", "put_lifecycle_policy"])
    assert diff["before"] == {}
    assert diff["after"]["lifecycle_policy"] == POLICY
    assert diff["after"]["tags"] == {"project": "wanzami"}
    assert repo["repository_name"] == "wanzami-backend"


@pytest.mark.parametrize("check_mode", [True, False])
def test_converged_repository_changes_nothing(aws, check_mode):
    aws.update(repository=existing(), policy=mod.normalised(POLICY), tags={"project": "wanzami"})
    # Key order and JSON text versus dict must not read as a change.
    module = FakeModule(check_mode=check_mode, lifecycle_policy='{"rules": ' + str(POLICY["rules"]).replace("'", '"') + "}")
    changed, repo, diff = mod.ensure_present(module, None)
    assert not changed
    assert aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert repo["repository_uri"].endswith("/wanzami-backend")


@pytest.mark.parametrize("check_mode", [True, False])
def test_drift_is_corrected_and_shown(aws, check_mode):
    aws.update(repository=existing(imageTagMutability="IMMUTABLE", imageScanningConfiguration={"scanOnPush": False}),
               policy=None, tags={"project": "wanzami", "owner": "someone"})
    changed, _, diff = mod.ensure_present(FakeModule(check_mode=check_mode, lifecycle_policy=POLICY), None)
    assert changed
    expected = ["put_image_tag_mutability", "put_image_scanning_configuration", "put_lifecycle_policy", "untag_repository"]
    assert aws["calls"] == ([] if check_mode else expected)
    assert diff["before"]["image_tag_mutability"] == "IMMUTABLE" and diff["after"]["image_tag_mutability"] == "MUTABLE"
    assert diff["before"]["tags"] == {"owner": "someone", "project": "wanzami"}
    assert diff["after"]["tags"] == {"project": "wanzami"}


def test_settings_not_given_are_left_alone(aws):
    aws.update(repository=existing(imageTagMutability="IMMUTABLE"), policy=mod.normalised(POLICY), tags={"a": "b"})
    module = FakeModule(image_tag_mutability=None, scan_on_push=None, lifecycle_policy=None, tags=None)
    changed, _, _ = mod.ensure_present(module, None)
    assert not changed and aws["calls"] == []


def test_empty_policy_removes_it(aws):
    aws.update(repository=existing(), policy=mod.normalised(POLICY), tags={"project": "wanzami"})
    changed, _, diff = mod.ensure_present(FakeModule(lifecycle_policy={}), None)
    assert changed and aws["calls"] == ["delete_lifecycle_policy"]
    assert diff["after"]["lifecycle_policy"] is None


def test_encryption_cannot_change(aws):
    aws.update(repository=existing())
    with pytest.raises(AssertionError, match="ECR cannot change the encryption of an existing repository"):
        mod.ensure_present(FakeModule(encryption_type="KMS", kms_key="arn:aws:kms:us-east-2:123456789012:key/x"), None)


@pytest.mark.parametrize("check_mode", [True, False])
def test_delete(aws, check_mode):
    aws.update(repository=existing())
    changed, diff, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert kept is None
    assert changed and diff["after"]["state"] == "absent"
    assert aws["calls"] == ([] if check_mode else ["delete_repository"])
    aws.update(repository=None)
    assert mod.ensure_absent(FakeModule(state="absent"), None)[0] is False


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_repository_without_the_ownership_tags_is_kept(aws, check_mode):
    aws.update(repository=existing(), tags={"team": "media"})
    required = {"project": "wanzami", "managed-by": "ansible"}
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert not changed and aws["calls"] == []
    assert "ECR repository wanzami-backend is not ours" in kept and "managed-by=ansible, project=wanzami" in kept
    aws.update(tags={"project": "wanzami", "managed-by": "ansible", "team": "media"})
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert changed and kept is None and aws["calls"] == ([] if check_mode else ["delete_repository"])


KEEP_TWO = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                         "countNumber": 2}, "action": {"type": "expire"}}]}


def image(tag, second):
    return {"imageDigest": f"sha256:{second:064d}", "imageTags": [tag], "imagePushedAt": f"2025-12-0{second}T00:00:00Z"}


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_policy_that_expires_images_nothing_names_says_so_in_a_plan_row(aws, check_mode):
    aws.update(repository=existing(), policy=None, tags={"project": "wanzami"},
               images=[image("v1", 1), image("v2", 2), image("v3", 3), image("v4", 4)])
    changed, repo, _ = mod.ensure_present(FakeModule(check_mode=check_mode, lifecycle_policy=KEEP_TWO), None)
    assert changed
    assert repo["wanzami_plan"] == [{"action": "remove", "resource": "ECR repository wanzami-backend",
                                     "detail": "its new lifecycle policy expires 2 image(s) nothing names: v1; v2"}]


def test_an_unchanged_policy_has_no_plan_row(aws):
    aws.update(repository=existing(), policy=mod.normalised(KEEP_TWO), tags={"project": "wanzami"},
               images=[image("v1", 1), image("v2", 2), image("v3", 3)])
    _, repo, _ = mod.ensure_present(FakeModule(lifecycle_policy=KEEP_TWO), None)
    assert "wanzami_plan" not in repo
