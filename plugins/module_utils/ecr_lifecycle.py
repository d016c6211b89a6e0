# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an ECR lifecycle policy would expire, and which images are still named by what runs.

A lifecycle policy expires images hours after it is put, and an expired image
cannot be pulled again: a service scaling out, a task restarting or a rollback
to the previous release then fails. ecr_repository refuses to put a policy
that would expire an image named by an ACTIVE task definition, a service or
the release record (ecr_images_in_use_info finds those), before any mutating
call.

The evaluation follows ECR's documented rules: rules in rulePriority order
(lowest first); an image that matches the tag selection of a rule is not seen
by any rule of lower priority; within a rule, the newest images are kept
(imageCountMoreThan) or the ones pushed more than N days ago expire
(sinceImagePushed); tagPrefixList and tagPatternList select images carrying a
matching tag for every entry of the list.
"""

import json
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

try:
    import botocore  # noqa: F401  (the error handlers catch botocore's exceptions)
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AnsibleECRLifecycleError(AnsibleAWSError):
    pass


class ImagesErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleECRLifecycleError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("RepositoryNotFoundException")


@ImagesErrorHandler.list_error_handler("describe images", default_value=[])
@aws_retry()
def describe_images(client, repository):
    """Every image of the repository ({imageDigest, imageTags, imagePushedAt...}); [] when it does not exist."""
    paginator = client.get_paginator("describe_images")
    return paginator.paginate(repositoryName=repository).build_full_result().get("imageDetails", [])


# --- evaluation (pure) -----------------------------------------------------------------------------------------


def _pushed_at(image):
    value = image.get("imagePushedAt")
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=UTC)
    if value is None:
        return EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _pattern(pattern):
    """An ECR tag pattern ('*' matches any run of characters, nothing else is special) as a regular expression."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def selects(selection, image):
    """Whether a rule's selection matches the image by its tags (the count is applied afterwards)."""
    tags = image.get("imageTags") or []
    status = selection.get("tagStatus", "any")
    if status == "untagged":
        return not tags
    if status == "any":
        return True
    if not tags:
        return False
    prefixes = selection.get("tagPrefixList") or []
    patterns = [_pattern(p) for p in selection.get("tagPatternList") or []]
    # Every entry of the list must be matched by one of the image's tags (ECR: "images with all specified tags").
    return (all(any(t.startswith(p) for t in tags) for p in prefixes)
            and all(any(p.match(t) for t in tags) for p in patterns))


def expired_images(policy, images, now=None):
    """[(image, rule)] for every image the policy would expire, oldest first within each rule.

    Raises ValueError for a count type this evaluation does not know (then nothing can be promised).
    """
    now = now or datetime.now(UTC)
    rules = sorted((policy or {}).get("rules") or [], key=lambda r: int(r.get("rulePriority", 0)))
    seen = set()
    expired = []
    for rule in rules:
        selection = rule.get("selection") or {}
        candidates = [i for i in images if i["imageDigest"] not in seen and selects(selection, i)]
        # Matched here: no rule of lower priority sees them, whether this one expires them or keeps them.
        seen.update(i["imageDigest"] for i in candidates)
        candidates.sort(key=_pushed_at, reverse=True)
        count_type = selection.get("countType")
        number = int(selection.get("countNumber", 0))
        if count_type == "imageCountMoreThan":
            victims = candidates[number:]
            # Images pushed at the same instant as the newest one expired may be taken in its stead: all of them may go.
            if victims:
                boundary = _pushed_at(victims[0])
                victims = [i for i in candidates[:number] if _pushed_at(i) == boundary] + victims
        elif count_type in ("sinceImagePushed", "sinceImagePulled"):
            limit = now - timedelta(days=number)
            if count_type == "sinceImagePulled":
                victims = [i for i in candidates if _pushed_at({"imagePushedAt": i.get("lastRecordedPullTime")
                                                                or i.get("imagePushedAt")}) < limit]
            else:
                victims = [i for i in candidates if _pushed_at(i) < limit]
        else:
            raise ValueError(f"rule {rule.get('rulePriority')}: countType {count_type!r} cannot be evaluated")
        expired.extend((image, rule) for image in sorted(victims, key=_pushed_at))
    return expired


def names_image(reference, image):
    """Whether a reference {tag, digest} names the image."""
    if reference.get("digest"):
        return reference["digest"] == image["imageDigest"]
    return bool(reference.get("tag")) and reference["tag"] in (image.get("imageTags") or [])


def refused_expiries(policy, images, protected, now=None):
    """[{digest, tags, pushed_at, rule, used_by}] of the images the policy would expire that a protected
    reference ({tag, digest, used_by}) names, sorted by digest."""
    refused = []
    for image, rule in expired_images(policy, images, now):
        users = sorted({u for ref in protected if names_image(ref, image) for u in ref.get("used_by") or ["(named)"]})
        if users:
            refused.append({"digest": image["imageDigest"], "tags": sorted(image.get("imageTags") or []),
                            "pushed_at": _pushed_at(image).isoformat(), "rule": rule.get("rulePriority"),
                            "used_by": users})
    return sorted(refused, key=lambda r: r["digest"])


def describe_refusal(repository, refused):
    lines = [f"{', '.join(r['tags']) or '(untagged)'} {r['digest']} (rule {r['rule']}; named by {', '.join(r['used_by'])})"
             for r in refused]
    return (f"ECR repository {repository}: the lifecycle policy would expire {len(refused)} image(s) still in use, so it was "
            f"not put and nothing was changed: " + "; ".join(lines) + ". Keep more images (ecr_keep_tagged_images), "
            "release or roll back to a newer image first, or deregister the task definitions that name them.")


# --- references (pure) -----------------------------------------------------------------------------------------


def parse_reference(reference):
    """(repository path, tag, digest) of an image reference such as
    123456789012.dkr.ecr.us-east-2.amazonaws.com/team/app:v1@sha256:..., Docker's grammar: the first
    component is a registry when it has a '.' or a ':' or is localhost."""
    rest, digest = (reference.split("@", 1) + [None])[:2]
    first, _, remainder = rest.partition("/")
    path = rest
    if remainder and ("." in first or ":" in first or first == "localhost"):
        path = remainder
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    return path, tag, digest


def record_references(record, repositories):
    """[(repository, tag, digest, used_by)] that a release record (ecs_release's JSON) names: its release and the
    previous one, which a rollback goes back to."""
    found = []
    if not isinstance(record, dict):
        return found
    for label, entry in (("release record", record), ("release record (previous release)", record.get("previous") or {})):
        if not isinstance(entry, dict):
            continue
        images = [entry.get("image")] + list((entry.get("images") or {}).values())
        for image in [i for i in images if isinstance(i, str) and i]:
            path, tag, digest = parse_reference(image)
            if path in repositories:
                found.append((path, tag, digest, label))
        repository = entry.get("repository") or record.get("repository")
        if repository in repositories and (entry.get("digest") or entry.get("tag")):
            found.append((repository, entry.get("tag"), entry.get("digest"), label))
    return found


def merge_references(found):
    """[(repository, tag, digest, used_by)] as sorted [{repository, tag, digest, used_by: [...]}], one per image named.
    A reference with a digest names that digest only (what is pulled); one with a tag only names the tag."""
    merged = {}
    for repository, tag, digest, used_by in found:
        key = (repository, None if digest else tag, digest)
        entry = merged.setdefault(key, {"repository": repository, "tag": key[1], "digest": digest, "used_by": set()})
        entry["used_by"].add(used_by)
    return [dict(e, used_by=sorted(e["used_by"])) for _, e in sorted(merged.items(), key=lambda kv: tuple(str(k) for k in kv[0]))]


def parse_record(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
