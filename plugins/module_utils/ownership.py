# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a resource is this collection's: it carries every ownership tag (project, environment, managed-by).
Shared by the filter without_ownership_tags and the test owned."""


def tag_dict(tags):
    """Tags as AWS services return them - a mapping, [{Key, Value}] or [{key, value}] - as a mapping."""
    if tags is None:
        return {}
    if isinstance(tags, dict):
        return dict(tags)
    if isinstance(tags, list):
        found = {}
        for tag in tags:
            if not isinstance(tag, dict):
                raise TypeError(f"owned: a tag must be a mapping, got {type(tag).__name__}")
            key = tag.get("Key", tag.get("key"))
            found[key] = tag.get("Value", tag.get("value"))
        return found
    raise TypeError(f"owned: tags must be a mapping or a list, got {type(tags).__name__}")


def owned(tags, ownership_tags):
    """True when ownership_tags is not empty and tags hold each of them with the same value.

    With no ownership tags nothing is ours: a resource is never purged or deleted on a guess."""
    wanted = tag_dict(ownership_tags)
    have = tag_dict(tags)
    return bool(wanted) and all(k in have and str(have[k]) == str(v) for k, v in wanted.items())


def foreign_tags(tags, ownership_tags):
    """tags without the ownership tags: what may be merged into a resource that is not ours without adopting it."""
    wanted = tag_dict(ownership_tags)
    return {k: v for k, v in tag_dict(tags).items() if k not in wanted}
