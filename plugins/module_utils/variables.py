# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which inventory variables nothing reads: the judgement of wanzami.infra.check_variables, as pure
functions (unit-tested without Ansible).

A variable is *known* when a role's argument spec declares it, or when a role, a playbook or the shared
group_vars/all names it (a playbook's own switches, facts one role publishes for the next, the shared
defaults). A given variable is *ours* when it starts with a role's prefix (``vpc_``, ``ecs_service_``...) or
``wanzami_``; ours and unknown is a typo, reported with the closest known name."""

import difflib
import os
import re

# Text files whose identifiers count as read: YAML tasks, defaults, specs and vars; Jinja templates.
SCANNED = (".yml", ".yaml", ".j2")
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def prefixes_of(role_names, extra=("wanzami_",)):
    """A prefix per role (its name and an underscore), longest first so that release_image_ wins over release_."""
    return sorted({f"{name}_" for name in role_names} | set(extra), key=len, reverse=True)


def spec_options(spec):
    """Every option name an argument spec (the parsed meta/argument_specs.yml) declares, at its top level."""
    names = set()
    for entry in ((spec or {}).get("argument_specs") or {}).values():
        names.update(((entry or {}).get("options") or {}).keys())
    return names


def identifiers(text, prefixes):
    """The identifiers in text that start with one of the prefixes."""
    return {word for word in IDENTIFIER.findall(text) if word.startswith(tuple(prefixes))}


def scan(paths, prefixes):
    """The identifiers with our prefixes in every scanned file under paths (files or directories)."""
    found, seen = set(), set()
    for path in paths:
        if os.path.isfile(path):
            files = [path]
        else:
            # Links inside are not followed: playbooks/collections leads back to playbooks/ itself.
            files = [os.path.join(top, name) for top, _, names in os.walk(path) for name in names]
        for name in files:
            real = os.path.realpath(name)
            if real in seen:
                continue
            seen.add(real)
            if name.endswith(SCANNED):
                with open(name, encoding="utf-8", errors="replace") as handle:
                    found |= identifiers(handle.read(), prefixes)
    return found


def unknown(given, known, prefixes):
    """The given names that are ours and known to nothing, sorted, each with its closest known name or None."""
    ours = sorted(name for name in given if name.startswith(tuple(prefixes)) and name not in known)
    return [(name, closest(name, known)) for name in ours]


def closest(name, known):
    """The known name most like name (same prefix preferred), or None when nothing is close."""
    candidates = sorted(known)
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return matches[0] if matches else None


def message(found, mode="fail"):
    """One line per unknown variable, saying what to do."""
    lines = []
    for name, suggestion in found:
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        lines.append(f"{name} is set but no role or playbook reads it{hint}")
    head = ("Stopped before any change: " if mode == "fail" else "") + (
        f"{len(found)} inventory or extra variable(s) look like ours but nothing reads them, so they change nothing. "
        "Fix the name, or set wanzami_unknown_variables: warn to go on: ")
    return head + "; ".join(lines)
