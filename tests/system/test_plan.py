"""The table wanzami.infra.plan prints after the recap, on the network and the registry of an empty account:
the dry run's plan, the real run's record of the same creates, a converged run's "No changes." and the
teardown's REMOVE rows, each after a PLAY RECAP that is still parsed as before."""

import itertools
import re

import pytest

from tests.conftest import run_playbook

pytestmark = pytest.mark.system

SITE = "playbooks/site.yml"
TEARDOWN = "playbooks/teardown.yml"
PREFIX = "wanzami-local"
TAGS = ("--tags", "vpc,ecr")
SUBNETS = [f"{PREFIX}-vpc-{tier}-us-east-2{zone}" for tier in ("public", "private") for zone in "ab"]


TABLE_LINE = re.compile(r"(PLAN \(dry run|APPLIED |\d+ to create, |[+~=x] [a-z]|!! REMOVE|No changes\.$| +\.\.\. and \d+ more)")


def table(run):
    """The plan callback's table: the lines after the last PLAY RECAP's host lines, up to stderr (output ends with it)."""
    lines = [line for line in run.output[run.output.rindex("PLAY RECAP"):].splitlines()[1:]
             if line.strip() and not line.startswith("localhost ")]
    return list(itertools.takewhile(TABLE_LINE.match, lines))


def rows(run, marker):
    return [line for line in table(run) if line.startswith(marker)]


def test_the_dry_run_on_an_empty_account_plans_the_creates(emulator):
    emulator.reset()
    run = run_playbook(SITE, "--check", "--diff", *TAGS, env=emulator.env())
    assert run.recap["localhost"]["changed"] > 0, run
    lines = table(run)
    assert lines[0].startswith("PLAN (dry run: nothing was changed) ***"), lines
    creates = rows(run, "+ create")
    assert f"+ create   vpc {PREFIX}-vpc" in creates, lines
    assert "+ create   ecr wanzami-backend" in creates, lines
    # The subnets are planned once the VPC has an id (the vpc role says so in the run): nothing else shows.
    assert len(creates) == 2 and lines[1] == "2 to create, 0 to change, 0 to adopt, 0 to remove, 0 refused", lines
    assert not [line for line in lines if "REMOVE" in line], lines
    assert emulator.mutating_calls() == []


def test_the_real_run_records_the_same_creates(emulator):
    run = run_playbook(SITE, "--diff", *TAGS, env=emulator.env())
    lines = table(run)
    assert lines[0].startswith("APPLIED ***"), lines
    assert "+ create   ecr wanzami-backend" in rows(run, "+ create"), lines
    # ec2_vpc_net and ec2_vpc_subnet say neither what they created nor a diff: a row each, create or change.
    shown = [line.split(None, 2)[2] for line in rows(run, "+ create") + rows(run, "~ change")]
    assert f"vpc {PREFIX}-vpc" in shown, lines
    for subnet in SUBNETS:
        assert [s for s in shown if s.startswith(f"vpc {subnet} ")], (subnet, lines)
    assert not [line for line in lines if "REMOVE" in line], lines


def test_a_converged_run_says_no_changes(emulator):
    run = run_playbook(SITE, "--diff", *TAGS, env=emulator.env())
    assert run.changed == 0, run
    assert table(run) == ["No changes."], run


def test_the_teardown_lists_what_it_removes(emulator):
    dry = run_playbook(TEARDOWN, "--check", *TAGS, env=emulator.env())
    assert table(dry)[0].startswith("PLAN (dry run: nothing was changed) ***"), dry
    run = run_playbook(TEARDOWN, *TAGS, env=emulator.env())
    lines = table(run)
    assert lines[0].startswith("APPLIED ***"), lines
    removes = rows(run, "!! REMOVE")
    assert [r for r in removes if r.startswith("!! REMOVE  ecr wanzami-backend  ")], lines
    for subnet in SUBNETS:
        assert [r for r in removes if r.startswith(f"!! REMOVE  vpc {subnet} ")], (subnet, lines)
    assert not rows(run, "+ create") and not rows(run, "~ change"), lines
    # The dry run planned exactly the rows the teardown then did.
    assert rows(dry, "!! REMOVE") == removes
    assert emulator.client("ecr").describe_repositories()["repositories"] == []
