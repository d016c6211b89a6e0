"""Every command the guide shows exists: the fenced code blocks of README.md, docs/*.md and
playbooks/runbooks/README.md name playbooks, inventories, make targets, scripts, variables and
services that are really there. Fast: files and the inventories' own variables, no emulator."""

import functools
import re
import shlex
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.test_inventories import resolved

GUIDES = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")),
          "playbooks/runbooks/README.md"]

# Variables whose value must be a service of the inventory the command names (or `all`).
SERVICE_VARS = {"runbook_service", "restart_service", "scale_service"}

FENCE = re.compile(r"^```")
PLACEHOLDER = re.compile(r"<[^>]*>|\.\.\.")


def fenced_blocks(text):
    """(language, [lines]) of each ``` block."""
    blocks, current, lang = [], None, ""
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            if current is None:
                current, lang = [], line.strip()[3:].strip()
            else:
                blocks.append((lang, current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def commands(text):
    """Each shell command of the text's fenced blocks, as tokens (continuations joined, comments gone)."""
    found = []
    for lang, lines in fenced_blocks(text):
        if lang not in ("", "sh", "bash", "shell", "console"):
            continue
        joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
        for line in joined.splitlines():
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
                tokens = tokens[1:]   # environment assignments before the command
            if tokens:
                found.append(tokens)
    return found


@functools.cache
def make_targets():
    makefile = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):(?!=)", makefile, re.M))


@functools.cache
def known_variables():
    """Variables a command may set: role arguments, group_vars, playbook vars and defaults."""
    names = set()
    for spec in REPO.glob("roles/*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(spec.read_text()).get("argument_specs") or {}).values():
            names.update((entry or {}).get("options") or {})
    for group_vars in [*REPO.glob("group_vars/*/*.yml"), *REPO.glob("inventories/examples/*/group_vars/*/*.yml")]:
        names.update(yaml.safe_load(group_vars.read_text()) or {})
    for playbook in REPO.glob("playbooks/**/*.yml"):
        text = playbook.read_text()
        names.update(re.findall(r"\b([a-z_][a-z0-9_]*) \| default\(", text))
        for play in yaml.safe_load(text) or []:
            if isinstance(play, dict):
                names.update(play.get("vars") or {})
    return names


@functools.cache
def services_of(inventory):
    env = inventory.removeprefix("inventories/").rstrip("/")
    expression = "ecs_service_services | map(attribute='name') | list"
    return set(resolved(env, expression)[expression])


def extra_vars(tokens):
    """{name: value} of every -e / --extra-vars of a command ('@file' and '...' skipped)."""
    found = {}
    for flag, value in pairwise(tokens):
        if flag not in ("-e", "--extra-vars") or value.startswith("@") or value == "...":
            continue
        if value.lstrip().startswith("{"):
            found.update(yaml.safe_load(value))
        else:
            found.update(pair.split("=", 1) for pair in value.split() if "=" in pair)
    return found


def problems(tokens):
    """What does not exist in one command; [] when everything it names is there."""
    found = []
    line = " ".join(tokens)
    program = Path(tokens[0]).name
    paths = [t for t in tokens if re.match(r"^(playbooks|molecule|scripts)/", t)]
    if program == "python" or program.startswith("python3"):
        paths += [t for t in tokens[1:2] if t.endswith(".py")]
    if program == "make":
        for target in tokens[1:]:
            if "=" in target or target.startswith("-"):
                continue
            if target not in make_targets():
                found.append(f"make target {target!r} is not in the Makefile: {line}")
    for path in paths:
        if PLACEHOLDER.search(path):
            continue
        if not (REPO / path).exists():
            found.append(f"{path} does not exist: {line}")
    if program != "ansible-playbook":
        return found
    inventory = next((value for flag, value in pairwise(tokens) if flag in ("-i", "--inventory")), None)
    if inventory and not PLACEHOLDER.search(inventory) and not (REPO / inventory).exists():
        found.append(f"inventory {inventory} does not exist: {line}")
    for name, value in extra_vars(tokens).items():
        if name not in known_variables():
            found.append(f"variable {name!r} is in no role's argument_specs, group_vars or playbook: {line}")
        if name in SERVICE_VARS and value != "all" and not PLACEHOLDER.search(str(value)):
            if not inventory or PLACEHOLDER.search(inventory):
                found.append(f"{name}={value} names a service without naming the inventory: {line}")
            elif value not in services_of(inventory):
                found.append(f"{name}={value}: {inventory} has no such service "
                             f"(it has {', '.join(sorted(services_of(inventory)))}): {line}")
    return found


@pytest.mark.parametrize("guide", GUIDES)
def test_every_command_shown_exists(guide):
    shown = commands((REPO / guide).read_text())
    errors = [p for tokens in shown for p in problems(tokens)]
    assert errors == [], "\n".join(errors)


def test_the_guides_show_commands():
    """The parser finds what the guide shows (an empty parse would pass everything)."""
    shown = [" ".join(t) for t in commands((REPO / "README.md").read_text())]
    assert any(c.startswith("make demo") for c in shown)
    assert any("playbooks/site.yml" in c and "--check" in c for c in shown)
    assert any("playbooks/summary.yml" in c for c in shown)
    assert any("playbooks/secrets.yml" in c for c in shown)


def test_a_service_the_inventory_does_not_have_is_caught():
    """The runbooks README once named wanzami-worker-service, which no inventory has."""
    old = ("```\nansible-playbook playbooks/runbooks/worker_failing.yml -i inventories/production "
           "-e runbook_service=wanzami-worker-service\n```\n")
    errors = [p for tokens in commands(old) for p in problems(tokens)]
    assert len(errors) == 1 and "has no such service" in errors[0], errors
    good = old.replace("wanzami-worker-service", "wanzami-worker-transcode-svc")
    assert [p for tokens in commands(good) for p in problems(tokens)] == []


def test_what_does_not_exist_is_caught():
    text = """```
.venv/bin/ansible-playbook playbooks/nothing.yml -i inventories/nowhere -e no_such_variable=1  # a comment
make no-such-target
scripts/no-such-script start
AWS_PROFILE=x .venv/bin/ansible-playbook playbooks/deploy.yml -i inventories/local \\
    -e '{"release_nonsense": ["a"]}'
```
"""
    errors = [p for tokens in commands(text) for p in problems(tokens)]
    assert any("playbooks/nothing.yml does not exist" in e for e in errors), errors
    assert any("inventory inventories/nowhere" in e for e in errors), errors
    assert any("'no_such_variable'" in e for e in errors), errors
    assert any("'no-such-target'" in e for e in errors), errors
    assert any("scripts/no-such-script does not exist" in e for e in errors), errors
    assert any("'release_nonsense'" in e for e in errors), errors
    assert len(errors) == 6, errors
