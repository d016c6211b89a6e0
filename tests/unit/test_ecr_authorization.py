"""wanzami.infra.ecr_authorization (module and action plugin) with a fake ECR client."""

import base64
import datetime
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.wanzami.infra.plugins.action import ecr_authorization as action
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.modules import ecr_authorization as mod

DECODED = "s3cret:with:colons"
EXPIRES = datetime.datetime(2026, 11, 23, 5, 34, 40, tzinfo=datetime.UTC)


def token(user, password):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def entry(account, password=DECODED, region="us-east-2"):
    return {"authorizationToken": token("AWS", password), "expiresAt": EXPIRES,
            "proxyEndpoint": f"https://{account}.dkr.ecr.{region}.amazonaws.com"}


class FakeECR:
    def __init__(self, data):
        self.data = data
        self.calls = []

    def get_authorization_token(self, **params):
        self.calls.append(params)
        return {"authorizationData": self.data}


def run(monkeypatch, capsys, client, check_mode=False, **args):
    """main() as Ansible runs it (real exit_json, so no_log masking would show); returns the JSON result."""
    monkeypatch.setattr(WanzamiInfraAWSModule, "client", lambda self, service, **kwargs: client)
    with patch_module_args(dict(args, region="us-east-2", _ansible_check_mode=check_mode)):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [False, True])
def test_returns_the_login_docker_needs_and_changes_nothing(monkeypatch, capsys, check_mode):
    client = FakeECR([entry("123456789012")])
    result = run(monkeypatch, capsys, client, check_mode=check_mode)
    assert result["changed"] is False
    assert result.get("failed") is not True
    assert result["registry"] == "123456789012.dkr.ecr.us-east-2.amazonaws.com"
    assert result["username"] == "AWS"
    # The password comes back usable: a value in module.no_log_values would be replaced here.
    assert result["password"] == DECODED
    assert result["expires_at"] == "2026-11-23T05:34:40+00:00"
    assert result["authorizations"] == [{k: result[k] for k in ("registry", "username", "password", "expires_at")}]
    assert client.calls == [{}]


def test_registry_ids_are_passed_and_each_gets_a_login(monkeypatch, capsys):
    client = FakeECR([entry("111111111111", "one"), entry("222222222222", "two", region="eu-west-1")])
    result = run(monkeypatch, capsys, client, registry_ids=["111111111111", "222222222222"])
    assert client.calls == [{"registryIds": ["111111111111", "222222222222"]}]
    assert result["registry"] == "111111111111.dkr.ecr.us-east-2.amazonaws.com"
    assert [a["registry"] for a in result["authorizations"]] == ["111111111111.dkr.ecr.us-east-2.amazonaws.com",
                                                                 "222222222222.dkr.ecr.eu-west-1.amazonaws.com"]
    assert [a["password"] for a in result["authorizations"]] == ["one", "two"]


def test_no_authorization_data_fails(monkeypatch, capsys):
    result = run(monkeypatch, capsys, FakeECR([]))
    assert result["failed"] is True
    assert "no authorization data" in result["msg"]


def test_a_token_that_is_not_user_password_fails_without_showing_it(monkeypatch, capsys):
    bad = {"authorizationToken": base64.b64encode(b"no-separator").decode(), "proxyEndpoint": "https://x"}
    result = run(monkeypatch, capsys, FakeECR([bad]))
    assert result["failed"] is True
    assert "not 'user:password'" in result["msg"]
    assert "no-separator" not in json.dumps(result)


@pytest.mark.parametrize(("endpoint", "host"), [
    ("https://123456789012.dkr.ecr.us-east-2.amazonaws.com", "123456789012.dkr.ecr.us-east-2.amazonaws.com"),
    ("https://123456789012.dkr.ecr.us-east-2.amazonaws.com/", "123456789012.dkr.ecr.us-east-2.amazonaws.com"),
    ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ("registry.example:443", "registry.example:443"),
])
def test_registry_host_drops_the_scheme(endpoint, host):
    assert mod.registry_host(endpoint) == host


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b":nouser").decode(), base64.b64encode(b"AWS:").decode(),
                                 base64.b64encode(b"\xff\xfe:x").decode()])
def test_decode_token_rejects_malformed_tokens(bad):
    with pytest.raises(ValueError, match="authorization token"):
        mod.decode_token(bad)


def test_expiry_without_a_datetime():
    assert mod.expiry(None) is None
    assert mod.expiry("2026-01-01") == "2026-01-01"


class FakeTask:
    args = {"registry_ids": ["123456789012"]}


@pytest.mark.parametrize(("module_result", "hidden"), [
    ({"changed": False, "registry": "r", "username": "AWS", "password": "p"}, True),
    ({"failed": True, "msg": "The module requires a region and none was found"}, False),
])
def test_action_plugin_hides_a_successful_result_only(monkeypatch, module_result, hidden):
    calls = []

    def execute_module(self, module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, module_args))
        return dict(module_result)

    monkeypatch.setattr(action.ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(action.ActionModule, "_execute_module", execute_module)
    plugin = object.__new__(action.ActionModule)
    plugin._task = FakeTask()
    result = plugin.run(task_vars={})
    assert calls == [("wanzami.infra.ecr_authorization", {"registry_ids": ["123456789012"]})]
    assert result.get("_ansible_no_log", False) is hidden
    assert {k: v for k, v in result.items() if k != "_ansible_no_log"} == module_result
