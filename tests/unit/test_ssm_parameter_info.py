"""wanzami.infra.ssm_parameter_info with the boto layer patched at the module_utils seam."""

from ansible_collections.wanzami.infra.plugins.module_utils import ssm
from ansible_collections.wanzami.infra.plugins.modules import ssm_parameter_info as mod

OURS = {"project": "wanzami", "environment": "staging", "managed-by": "ansible"}


def test_each_name_says_whether_it_exists_with_its_tags(monkeypatch):
    described = []

    def describe(client, names):
        described.append(names)
        return {"/wanzami/staging/A": {"Name": "/wanzami/staging/A", "Type": "SecureString"},
                "/wanzami/staging/B": {"Name": "/wanzami/staging/B", "Type": "String"}}

    tags = {"/wanzami/staging/A": OURS, "/wanzami/staging/B": {}}
    monkeypatch.setattr(mod, "describe_parameters", describe)
    monkeypatch.setattr(mod, "list_parameter_tags", lambda client, name: dict(tags[name]))
    found = mod.read(None, ["/wanzami/staging/A", "/wanzami/staging/B", "/wanzami/staging/C", "/wanzami/staging/A"])
    assert described == [["/wanzami/staging/A", "/wanzami/staging/B", "/wanzami/staging/C"]]
    assert found == [
        {"name": "/wanzami/staging/A", "exists": True, "type": "SecureString", "tags": dict(sorted(OURS.items()))},
        {"name": "/wanzami/staging/B", "exists": True, "type": "String", "tags": {}},
        {"name": "/wanzami/staging/C", "exists": False, "type": "", "tags": {}},
        {"name": "/wanzami/staging/A", "exists": True, "type": "SecureString", "tags": dict(sorted(OURS.items()))},
    ]


def test_a_parameter_gone_between_the_two_reads_does_not_exist(monkeypatch):
    monkeypatch.setattr(mod, "describe_parameters", lambda client, names: {"/x": {"Name": "/x", "Type": "String"}})
    monkeypatch.setattr(mod, "list_parameter_tags", lambda client, name: None)
    assert mod.read(None, ["/x"]) == [{"name": "/x", "exists": False, "type": "", "tags": {}}]


def test_no_names_makes_no_call(monkeypatch):
    monkeypatch.setattr(mod, "describe_parameters", lambda client, names: (_ for _ in ()).throw(AssertionError("called")))
    assert mod.read(None, []) == []


def test_names_are_described_fifty_at_a_time():
    calls = []

    class Pages:
        def __init__(self, names):
            self.names = names

        def build_full_result(self):
            return {"Parameters": [{"Name": n} for n in self.names]}

    class Client:
        def get_paginator(self, name):
            assert name == "describe_parameters"
            return self

        def paginate(self, ParameterFilters):
            calls.append(len(ParameterFilters[0]["Values"]))
            return Pages(ParameterFilters[0]["Values"])

    names = [f"/p/{i}" for i in range(120)]
    assert sorted(ssm.describe_parameters(Client(), names)) == sorted(names)
    assert calls == [50, 50, 20]
