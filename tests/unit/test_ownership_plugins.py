"""The ownership test and filter (plugins/test/ownership.py, plugins/filter/ownership.py) and iam_trusts_service."""

import pytest

from ansible_collections.wanzami.infra.plugins.filter.iam import iam_trusts_service
from ansible_collections.wanzami.infra.plugins.filter.ownership import FilterModule
from ansible_collections.wanzami.infra.plugins.test.ownership import TestModule

owned = TestModule().tests()["owned"]
without_ownership_tags = FilterModule().filters()["without_ownership_tags"]
OURS = {"project": "wanzami", "environment": "production", "managed-by": "ansible"}


@pytest.mark.parametrize(("tags", "expected"), [
    ({"project": "wanzami", "environment": "production", "managed-by": "ansible", "team": "x"}, True),
    ([{"Key": "project", "Value": "wanzami"}, {"Key": "environment", "Value": "production"},
      {"Key": "managed-by", "Value": "ansible"}], True),
    ([{"key": "project", "value": "wanzami"}, {"key": "environment", "value": "production"},
      {"key": "managed-by", "value": "ansible"}], True),
    ({"project": "wanzami", "environment": "staging", "managed-by": "ansible"}, False),
    ({"project": "wanzami", "environment": "production"}, False),
    ({}, False),
    (None, False),
])
def test_owned(tags, expected):
    assert owned(tags, OURS) is expected


def test_without_ownership_tags_nothing_is_ours():
    assert owned(OURS, {}) is False


def test_without_ownership_tags_keeps_the_others():
    assert without_ownership_tags({**OURS, "cost-center": "42"}, OURS) == {"cost-center": "42"}
    assert without_ownership_tags(OURS, OURS) == {}


@pytest.mark.parametrize(("document", "expected"), [
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, True),
    ('{"Statement": {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]},'
     ' "Action": ["sts:*"]}}', True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, False),
    ({"Statement": [{"Effect": "Deny", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, False),
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                     "Action": "sts:AssumeRole"}]}, False),
])
def test_iam_trusts_service(document, expected):
    assert iam_trusts_service(document, "ecs-tasks.amazonaws.com") is expected
