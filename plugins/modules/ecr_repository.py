#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecr_repository
short_description: Manage an ECR repository, its scanning, tag mutability, lifecycle policy, encryption and tags
version_added: 0.1.0
description:
  - Creates, updates or deletes one private Amazon ECR repository.
  - Fills three gaps of M(community.aws.ecs_ecr) 10.0.0, which it replaces in this collection's roles
    a dry run of a new repository with a lifecycle policy fails there, it cannot manage tags, and
    AES256 encryption sends C(kmsKey=null), which botocore rejects.
  - Supports check mode (no mutating call) and C(--diff) (the managed settings before and after).
  - Refuses a lifecycle policy that would expire an image still in use (O(protected_images)); a dry run refuses it too.
author:
  - Wanzami infrastructure team
options:
  name:
    description: Repository name, for example C(wanzami-backend) or C(team/app).
    type: str
    required: true
  state:
    description: Whether the repository should exist.
    type: str
    choices: [present, absent]
    default: present
  scan_on_push:
    description: Scan images for vulnerabilities when they are pushed. Left alone when not given.
    type: bool
  image_tag_mutability:
    description: C(MUTABLE) lets tags move, C(IMMUTABLE) forbids overwriting a tag. Left alone when not given.
    type: str
    choices: [MUTABLE, IMMUTABLE]
  lifecycle_policy:
    description:
      - The lifecycle policy document (a dictionary, or its JSON text).
      - An empty dictionary removes the policy; left alone when not given.
    type: json
  encryption_type:
    description:
      - Encryption at rest, chosen when the repository is created; it cannot change afterwards and a
        different value on an existing repository fails with a message saying so.
    type: str
    choices: [AES256, KMS]
    default: AES256
  kms_key:
    description: ARN of the KMS key when O(encryption_type=KMS).
    type: str
  protected_images:
    description:
      - Images the lifecycle policy must never expire, as M(wanzami.infra.ecr_images_in_use_info) returns them
        (C(tag) or C(digest), and C(used_by)); entries of other repositories are ignored.
      - Before a new or changed O(lifecycle_policy) is put on an existing repository, the module lists its images,
        evaluates the policy as ECR does (rules in C(rulePriority) order, an image matched by a rule unseen by the
        rules after it, C(tagStatus), C(tagPrefixList), C(tagPatternList), C(imageCountMoreThan), C(sinceImagePushed))
        and fails before any mutating call, listing each image it would expire that one of these names.
    type: list
    elements: dict
    default: []
  force_delete:
    description: With O(state=absent), delete the repository even if it holds images.
    type: bool
    default: false
  only_if_tagged:
    description:
      - With O(state=absent), delete the repository only when it carries every one of these tags (the ownership tags);
        one without them is someone else's and is kept, with RV(kept=true) and a message saying so.
      - Empty - delete whatever has the name.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The backend's repository (seed 000), with seed 003's lifecycle rules
  wanzami.infra.ecr_repository:
    name: wanzami-backend
    scan_on_push: true
    image_tag_mutability: MUTABLE
    lifecycle_policy:
      rules:
        - rulePriority: 1
          description: Expire untagged images after 7 days
          selection: {tagStatus: untagged, countType: sinceImagePushed, countUnit: days, countNumber: 7}
          action: {type: expire}
    tags:
      project: wanzami
  register: repo

- name: Remove a repository and its images
  wanzami.infra.ecr_repository:
    name: old-app
    state: absent
    force_delete: true
"""

RETURN = r"""
wanzami_plan:
  description:
    - When a new or changed lifecycle policy will expire images (none in use, or the module fails), one C(remove) row
      naming them, for the C(wanzami.infra.plan) callback.
  returned: when the policy expires images
  type: list
  elements: dict
kept:
  description: With O(state=absent) and O(only_if_tagged), true when the repository exists but is not ours, so was kept.
  returned: when O(state=absent)
  type: bool
msg:
  description: Why the repository was kept.
  returned: when RV(kept=true)
  type: str
refused_images:
  description: When a lifecycle policy is refused, the images in use it would expire (digest, tags, rule, used_by).
  returned: on that failure
  type: list
  elements: dict
repository:
  description: The repository after the change (before it, in check mode, for settings not yet applied).
  returned: when O(state=present)
  type: dict
  contains:
    repository_name:
      description: Name.
      type: str
      sample: wanzami-backend
    repository_arn:
      description: ARN.
      type: str
      sample: arn:aws:ecr:us-east-2:123456789012:repository/wanzami-backend
    repository_uri:
      description: URI to push to and pull from.
      type: str
      sample: 123456789012.dkr.ecr.us-east-2.amazonaws.com/wanzami-backend
    registry_id:
      description: Account id of the registry.
      type: str
      sample: "123456789012"
    image_tag_mutability:
      description: C(MUTABLE) or C(IMMUTABLE).
      type: str
    image_scanning_configuration:
      description: Scanning settings.
      type: dict
      sample: {scan_on_push: true}
    encryption_configuration:
      description: Encryption settings.
      type: dict
      sample: {encryption_type: AES256}
    lifecycle_policy:
      description: The lifecycle policy, or null.
      type: dict
    tags:
      description: Tags.
      type: dict
"""

import json

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

from ansible_collections.wanzami.infra.plugins.module_utils.ecr import AnsibleECRError
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import create_repository
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import delete_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import delete_repository
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import describe_repository
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import get_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import list_repository_tags
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import put_image_scanning_configuration
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import put_image_tag_mutability
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import put_lifecycle_policy
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import tag_repository
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import untag_repository
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import AnsibleECRLifecycleError
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import describe_images
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import describe_refusal
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import expired_images
from ansible_collections.wanzami.infra.plugins.module_utils.ecr_lifecycle import refused_expiries
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.modules import apply_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import carries_tags
from ansible_collections.wanzami.infra.plugins.module_utils.modules import kept_message


def normalised(policy):
    """A policy as a dict with sorted keys, so that key order never reads as a change."""
    if policy is None:
        return None
    if isinstance(policy, str):
        policy = json.loads(policy) if policy.strip() else {}
    return json.loads(json.dumps(policy, sort_keys=True))


def settings_of(repository, lifecycle_policy, tags):
    """The settings this module manages, as --diff shows them."""
    if not repository:
        return {}
    encryption = repository.get("encryptionConfiguration") or {"encryptionType": "AES256"}
    return {
        "image_tag_mutability": repository.get("imageTagMutability"),
        "scan_on_push": (repository.get("imageScanningConfiguration") or {}).get("scanOnPush", False),
        "encryption_type": encryption.get("encryptionType"),
        "kms_key": encryption.get("kmsKey"),
        "lifecycle_policy": lifecycle_policy,
        "tags": dict(sorted((tags or {}).items())),
    }


def ensure_created(module, client, params):
    """Create the repository with every setting at once; return (changed, repository)."""
    if module.check_mode:
        return True, None
    create = {
        "repositoryName": params["name"],
        "imageTagMutability": params["image_tag_mutability"] or "MUTABLE",
        "imageScanningConfiguration": {"scanOnPush": bool(params["scan_on_push"])},
        "encryptionConfiguration": {"encryptionType": params["encryption_type"]},
    }
    if params["encryption_type"] == "KMS":
        create["encryptionConfiguration"]["kmsKey"] = params["kms_key"]
    if params["tags"]:
        create["tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    return True, create_repository(client, **create)


def check_encryption(module, repository, params):
    """Encryption is fixed at creation: fail clearly rather than pretend to change it."""
    current = repository.get("encryptionConfiguration") or {"encryptionType": "AES256"}
    wanted_key = params["kms_key"] if params["encryption_type"] == "KMS" else None
    if current.get("encryptionType") != params["encryption_type"] or (wanted_key and current.get("kmsKey") != wanted_key):
        module.fail_json(
            msg=(
                f"Repository {params['name']} is encrypted with {current.get('encryptionType')}"
                f"{' key ' + current['kmsKey'] if current.get('kmsKey') else ''}; ECR cannot change the encryption of an"
                f" existing repository (wanted {params['encryption_type']}{' key ' + wanted_key if wanted_key else ''})."
                " Create a new repository and move the images, or keep the current setting."
            )
        )


def ensure_mutability(module, client, repository, wanted):
    if wanted is None or repository.get("imageTagMutability") == wanted:
        return False
    if not module.check_mode:
        put_image_tag_mutability(client, repository["repositoryName"], wanted)
    return True


def ensure_scanning(module, client, repository, wanted):
    current = (repository.get("imageScanningConfiguration") or {}).get("scanOnPush", False)
    if wanted is None or current == wanted:
        return False
    if not module.check_mode:
        put_image_scanning_configuration(client, repository["repositoryName"], wanted)
    return True


def check_expiries(module, client, name, current, wanted):
    """Fail, before anything changes, when a new or changed policy would expire an image still in use.

    Otherwise return the plan rows (wanzami.infra.plan) of what it will expire: images nothing names,
    which a person still wants to see go by before they are gone (an adopted repository's oldest)."""
    if not wanted or current == wanted:
        return []
    protected = [p for p in module.params.get("protected_images") or [] if p.get("repository") in (None, name)]
    try:
        images = describe_images(client, name)
        refused = refused_expiries(wanted, images, protected) if protected else []
        expiring = expired_images(wanted, images)
    except ValueError as e:
        module.fail_json(msg=f"ECR repository {name}: cannot tell which images the lifecycle policy would expire ({e}); "
                             "nothing was changed")
    if refused:
        module.fail_json(msg=describe_refusal(name, refused), refused_images=refused)
    if not expiring:
        return []
    names = [", ".join(sorted(image.get("imageTags") or [])) or image["imageDigest"][:19] for image, _ in expiring]
    return [{"action": "remove", "resource": f"ECR repository {name}",
             "detail": f"its new lifecycle policy expires {len(names)} image(s) nothing names: {'; '.join(names)}"}]


def ensure_lifecycle_policy(module, client, name, current, wanted):
    if wanted is None or current == (wanted or None):
        return False
    if not module.check_mode:
        if wanted:
            put_lifecycle_policy(client, name, wanted)
        else:
            delete_lifecycle_policy(client, name)
    return True


def ensure_tags(module, client, arn, current, wanted, purge):
    return apply_tags(module, current, wanted, purge,
                      tag=lambda tags: tag_repository(client, arn, tags),
                      untag=lambda keys: untag_repository(client, arn, keys))


def wanted_tags(current, params):
    if params["tags"] is None:
        return current
    tags = dict(params["tags"]) if params["purge_tags"] else {**current, **params["tags"]}
    return tags


def ensure_present(module, client):
    params = module.params
    name = params["name"]
    wanted_policy = normalised(params["lifecycle_policy"])
    repository = describe_repository(client, name)

    if repository is None:
        before = {}
        changed, repository = ensure_created(module, client, params)
        if repository is not None and wanted_policy:
            put_lifecycle_policy(client, name, wanted_policy)
        after_settings = {
            "image_tag_mutability": params["image_tag_mutability"] or "MUTABLE",
            "scan_on_push": bool(params["scan_on_push"]),
            "encryption_type": params["encryption_type"],
            "kms_key": params["kms_key"] if params["encryption_type"] == "KMS" else None,
            "lifecycle_policy": wanted_policy or None,
            "tags": dict(sorted((params["tags"] or {}).items())),
        }
        result = {"repository_name": name, **(camel_dict_to_snake_dict(repository) if repository else {})}
        result.update({"lifecycle_policy": wanted_policy or None, "tags": params["tags"] or {}})
        return changed, result, {"before": before, "after": after_settings}

    check_encryption(module, repository, params)
    current_policy = normalised(get_lifecycle_policy(client, name))
    current_tags = list_repository_tags(client, repository["repositoryArn"])
    before = settings_of(repository, current_policy, current_tags)
    plan = check_expiries(module, client, name, current_policy, wanted_policy)

    changed = ensure_mutability(module, client, repository, params["image_tag_mutability"])
    changed |= ensure_scanning(module, client, repository, params["scan_on_push"])
    changed |= ensure_lifecycle_policy(module, client, name, current_policy, wanted_policy)
    changed |= ensure_tags(module, client, repository["repositoryArn"], current_tags, params["tags"], params["purge_tags"])

    after = dict(before)
    if params["image_tag_mutability"] is not None:
        after["image_tag_mutability"] = params["image_tag_mutability"]
    if params["scan_on_push"] is not None:
        after["scan_on_push"] = params["scan_on_push"]
    if wanted_policy is not None:
        after["lifecycle_policy"] = wanted_policy or None
    after["tags"] = dict(sorted(wanted_tags(current_tags, params).items()))

    result = camel_dict_to_snake_dict(repository)
    result["image_tag_mutability"] = after["image_tag_mutability"]
    result["image_scanning_configuration"] = {"scan_on_push": after["scan_on_push"]}
    result["lifecycle_policy"] = after["lifecycle_policy"]
    result["tags"] = after["tags"]
    if plan:
        result["wanzami_plan"] = plan
    return changed, result, {"before": before, "after": after}


def ensure_absent(module, client):
    name = module.params["name"]
    repository = describe_repository(client, name)
    if repository is None:
        return False, {"before": {"name": name, "state": "absent"}, "after": {"name": name, "state": "absent"}}, None
    required = module.params.get("only_if_tagged")
    if required:
        tags = list_repository_tags(client, repository["repositoryArn"])
        if not carries_tags(tags, required):
            return False, {}, kept_message("ECR repository", name, tags, required)
    if not module.check_mode:
        delete_repository(client, name, module.params["force_delete"])
    return True, {"before": {"name": name, "state": "present"}, "after": {"name": name, "state": "absent"}}, None


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        scan_on_push=dict(type="bool"),
        image_tag_mutability=dict(type="str", choices=["MUTABLE", "IMMUTABLE"]),
        lifecycle_policy=dict(type="json"),
        encryption_type=dict(type="str", choices=["AES256", "KMS"], default="AES256"),
        kms_key=dict(type="str", no_log=False),
        force_delete=dict(type="bool", default=False),
        protected_images=dict(type="list", elements="dict", default=[]),
        only_if_tagged=dict(type="dict", default={}),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[["encryption_type", "KMS", ["kms_key"]]],
    )
    client = module.client("ecr")
    try:
        if module.params["state"] == "absent":
            changed, diff, kept = ensure_absent(module, client)
            module.exit_json(changed=changed, diff=diff, kept=bool(kept), **({"msg": kept} if kept else {}))
        changed, repository, diff = ensure_present(module, client)
    except (AnsibleECRError, AnsibleECRLifecycleError) as e:
        module.fail_json_aws_error(e)
    plan = repository.pop("wanzami_plan", None) if repository else None
    module.exit_json(changed=changed, repository=repository, diff=diff, **({"wanzami_plan": plan} if plan else {}))


if __name__ == "__main__":
    main()
