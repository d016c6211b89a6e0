"""wanzami.infra.text_diff (plugins/action/text_diff.py): changed exactly when the texts differ, with the diff the
template module would show under --diff, the NAME of every changed NAME=value line, and its plan-table row."""

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.wanzami.infra.plugins.action import text_diff

BEFORE = "# Managed by Ansible\nAPP_ORIGIN=https://wanzami.vercel.app\nDEVICE_LIMIT=99\nOLD=1\n"
AFTER = "# Managed by Ansible\nAPP_ORIGIN=https://wanzami.vercel.app\nDEVICE_LIMIT=4\nPORT=4000\n"


class FakeTask:
    def __init__(self, args, diff=False):
        self.args = args
        self.diff = diff


def run(monkeypatch, diff=False, **args):
    monkeypatch.setattr(text_diff.ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    plugin = object.__new__(text_diff.ActionModule)
    plugin._task = FakeTask(args, diff)
    return plugin.run(task_vars={})


def test_the_same_text_is_not_changed_and_shows_no_diff(monkeypatch):
    result = run(monkeypatch, diff=True, before=AFTER, after=AFTER, resource="s3_envfile s3://b/k")
    assert result == {"changed": False, "changed_keys": []}


def test_a_changed_text_names_its_keys_and_shows_its_diff(monkeypatch):
    result = run(monkeypatch, diff=True, before=BEFORE, after=AFTER, before_header="s3://b/k", after_header="vars",
                 resource="s3_envfile s3://b/k")
    assert result["changed"] is True
    assert result["changed_keys"] == ["DEVICE_LIMIT", "OLD", "PORT"]
    assert result["diff"] == {"before": BEFORE, "after": AFTER, "before_header": "s3://b/k", "after_header": "vars"}
    assert result["wanzami_plan"] == [{"action": "change", "resource": "s3_envfile s3://b/k",
                                       "attributes": ["DEVICE_LIMIT", "OLD", "PORT"]}]


def test_without_diff_mode_or_resource_there_is_no_diff_or_row(monkeypatch):
    result = run(monkeypatch, before=BEFORE, after=AFTER)
    assert result["changed"] is True and "diff" not in result and "wanzami_plan" not in result


def test_nothing_there_yet_is_a_create(monkeypatch):
    result = run(monkeypatch, diff=True, before=None, after=AFTER, resource="s3_envfile s3://b/k")
    assert result["changed"] is True
    assert result["wanzami_plan"] == [{"action": "create", "resource": "s3_envfile s3://b/k"}]
    assert result["diff"]["before"] == ""


def test_a_comment_or_layout_change_is_a_change_without_keys(monkeypatch):
    result = run(monkeypatch, before=AFTER, after=AFTER.replace("# Managed by Ansible", "# Managed"))
    assert result["changed"] is True and result["changed_keys"] == []


@pytest.mark.parametrize("name", ["before", "after"])
def test_a_text_that_is_not_a_string_fails(monkeypatch, name):
    args = {"before": "", "after": "", name: ["not", "text"]}
    with pytest.raises(AnsibleActionFail, match=f"text_diff: {name} must be a text, not list"):
        run(monkeypatch, **args)


def test_after_is_required(monkeypatch):
    with pytest.raises(AnsibleActionFail, match="after .* is required"):
        run(monkeypatch, before=BEFORE)
