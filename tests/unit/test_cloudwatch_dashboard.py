"""wanzami.infra.cloudwatch_dashboard with the boto layer patched at the module_utils seam, and
module_utils/cloudwatch_dashboard.py against botocore's Stubber."""

import json

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils import cloudwatch_dashboard as utils
from ansible_collections.wanzami.infra.plugins.modules import cloudwatch_dashboard as mod
from tests.unit.stubs import stubbed_client

NAME = "wanzami-dashboard"
ARN = f"arn:aws:cloudwatch::123456789012:dashboard/{NAME}"
BODY = {
    "widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
         "properties": {"region": "us-east-2", "title": "ECS CPU", "period": 60,
                        "metrics": [["AWS/ECS", "CPUUtilization", "ClusterName", "wanzami-cluster"]]}},
    ],
}


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {"name": NAME, "state": "present", "body": json.dumps(BODY), "tags": {"project": "wanzami"},
                       "purge_tags": True}
        self.params.update(params)
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])


def stored(body=None, **overrides):
    """A dashboard as GetDashboard answers: the body as JSON text, here formatted differently from ours."""
    dashboard = {"DashboardName": NAME, "DashboardArn": ARN,
                 "DashboardBody": json.dumps(BODY if body is None else body, indent=2, sort_keys=False)}
    dashboard.update(overrides)
    return dashboard


@pytest.fixture
def aws(monkeypatch):
    state = {"dashboard": None, "tags": {}, "calls": [], "messages": []}

    def put(client, name, body, tags=None):
        state["calls"].append(("put_dashboard", name, body, tags))
        state["dashboard"] = stored(body)
        return state["messages"]

    def record(name):
        def call(client, *args):
            state["calls"].append((name, *args))
            if name == "delete_dashboard":
                state["dashboard"] = None
        return call

    monkeypatch.setattr(mod, "get_dashboard", lambda client, name: state["dashboard"])
    monkeypatch.setattr(mod, "list_dashboard_tags", lambda client, arn: dict(state["tags"]))
    monkeypatch.setattr(mod, "put_dashboard", put)
    for name in ("delete_dashboard", "tag_dashboard", "untag_dashboard"):
        monkeypatch.setattr(mod, name, record(name))
    return state


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_a_missing_dashboard_with_its_tags(aws, check_mode):
    changed, dashboard, messages, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed and messages == []
    assert aws["calls"] == ([] if check_mode else [("put_dashboard", NAME, BODY, {"project": "wanzami"})])
    assert diff == {"before": {}, "after": {"body": BODY, "tags": {"project": "wanzami"}}}
    assert dashboard["dashboard_body"] == BODY
    assert ("dashboard_arn" in dashboard) is not check_mode


@pytest.mark.parametrize("check_mode", [True, False])
def test_the_same_body_in_other_json_text_is_no_change(aws, check_mode):
    # Key order, indentation and 12 against 12.0 are the same data.
    reordered = {"widgets": [dict(reversed(list(BODY["widgets"][0].items())), width=12.0)]}
    aws.update(dashboard=stored(reordered), tags={"project": "wanzami"})
    changed, dashboard, messages, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert not changed and aws["calls"] == [] and messages == []
    assert diff["before"] == diff["after"]
    assert dashboard["dashboard_arn"] == ARN


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_changed_body_is_put_and_shown_in_the_diff(aws, check_mode):
    old = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": "# old"}}]}
    aws.update(dashboard=stored(old), tags={"project": "wanzami"})
    changed, _, _, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed
    # Tags on PutDashboard are ignored for an existing dashboard, so none are sent.
    assert aws["calls"] == ([] if check_mode else [("put_dashboard", NAME, BODY, None)])
    assert diff["before"]["body"] == old and diff["after"]["body"] == BODY


@pytest.mark.parametrize("check_mode", [True, False])
def test_tag_drift_is_corrected_and_only_read_in_check_mode(aws, check_mode):
    aws.update(dashboard=stored(), tags={"project": "wanzami", "owner": "console", "environment": "old"})
    module = FakeModule(check_mode=check_mode, tags={"project": "wanzami", "environment": "production"})
    changed, dashboard, _, diff = mod.ensure_present(module, None)
    assert changed
    expected = [("untag_dashboard", ARN, ["owner"]), ("tag_dashboard", ARN, {"environment": "production"})]
    assert aws["calls"] == ([] if check_mode else expected)
    assert diff["after"]["tags"] == {"environment": "production", "project": "wanzami"}
    assert dashboard["tags"] == diff["after"]["tags"]


def test_tags_not_given_are_left_alone(aws):
    aws.update(dashboard=stored(), tags={"owner": "someone"})
    changed, dashboard, _, _ = mod.ensure_present(FakeModule(tags=None), None)
    assert not changed and aws["calls"] == []
    assert dashboard["tags"] == {"owner": "someone"}


def test_tags_are_added_without_purging_when_asked(aws):
    aws.update(dashboard=stored(), tags={"owner": "someone"})
    changed, dashboard, _, _ = mod.ensure_present(FakeModule(purge_tags=False), None)
    assert changed and aws["calls"] == [("tag_dashboard", ARN, {"project": "wanzami"})]
    assert dashboard["tags"] == {"owner": "someone", "project": "wanzami"}


def test_cloudwatch_validation_messages_are_returned_and_warned(aws):
    aws["messages"] = [{"DataPath": "/widgets/0/properties/metrics/0", "Message": "Should NOT have more than 2 items"}]
    changed, _, messages, _ = mod.ensure_present(module := FakeModule(), None)
    assert changed
    assert messages == [{"data_path": "/widgets/0/properties/metrics/0", "message": "Should NOT have more than 2 items"}]
    assert module.warnings and "Should NOT have more than 2 items" in module.warnings[0]


@pytest.mark.parametrize(
    ("body", "error"),
    [("{not json", "not valid JSON"), ("[]", "'widgets' list"), ('{"widgets": {}}', "'widgets' list")],
)
def test_a_body_that_is_not_a_dashboard_fails_before_any_call(aws, body, error):
    with pytest.raises(Failed, match=error):
        mod.ensure_present(FakeModule(body=body), None)
    assert aws["calls"] == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_delete(aws, check_mode):
    aws.update(dashboard=stored())
    changed, diff, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert changed and diff["after"]["state"] == "absent" and diff["before"]["state"] == "present" and kept is None
    assert aws["calls"] == ([] if check_mode else [("delete_dashboard", NAME)])
    aws.update(dashboard=None, calls=[])
    assert mod.ensure_absent(FakeModule(state="absent"), None)[0] is False
    assert aws["calls"] == []


@pytest.fixture
def cloudwatch():
    with stubbed_client("cloudwatch") as stubbed:
        yield stubbed


def test_requests_match_the_cloudwatch_model(cloudwatch):
    client, stubber = cloudwatch
    text = utils.body_text(BODY)
    stubber.add_response("get_dashboard", {"DashboardName": NAME, "DashboardArn": ARN, "DashboardBody": text},
                         {"DashboardName": NAME})
    stubber.add_response("put_dashboard", {"DashboardValidationMessages": []},
                         {"DashboardName": NAME, "DashboardBody": text, "Tags": [{"Key": "project", "Value": "wanzami"}]})
    stubber.add_response("list_tags_for_resource", {"Tags": [{"Key": "project", "Value": "wanzami"}]}, {"ResourceARN": ARN})
    stubber.add_response("tag_resource", {}, {"ResourceARN": ARN, "Tags": [{"Key": "a", "Value": "1"}]})
    stubber.add_response("untag_resource", {}, {"ResourceARN": ARN, "TagKeys": ["owner"]})
    stubber.add_response("delete_dashboards", {}, {"DashboardNames": [NAME]})

    assert utils.get_dashboard(client, NAME) == {"DashboardName": NAME, "DashboardArn": ARN, "DashboardBody": text}
    assert utils.put_dashboard(client, NAME, BODY, {"project": "wanzami"}) == []
    assert utils.list_dashboard_tags(client, ARN) == {"project": "wanzami"}
    utils.tag_dashboard(client, ARN, {"a": "1"})
    utils.untag_dashboard(client, ARN, ["owner"])
    assert utils.delete_dashboard(client, NAME) is True


def test_a_missing_dashboard_is_none_and_deleting_it_again_is_no_error(cloudwatch):
    client, stubber = cloudwatch
    stubber.add_client_error("get_dashboard", service_error_code="ResourceNotFound", http_status_code=404)
    stubber.add_client_error("delete_dashboards", service_error_code="ResourceNotFound", http_status_code=404)
    assert utils.get_dashboard(client, NAME) is None
    assert utils.delete_dashboard(client, NAME) is False


def test_other_errors_fail_with_what_was_tried(cloudwatch):
    client, stubber = cloudwatch
    stubber.add_client_error("put_dashboard", service_error_code="InvalidParameterInput", http_status_code=400,
                             service_message="The field DashboardBody must be a valid JSON object")
    with pytest.raises(utils.AnsibleCloudWatchDashboardError, match="put dashboard"):
        utils.put_dashboard(client, NAME, BODY)


def test_the_body_text_is_the_same_for_the_same_data():
    assert utils.body_text({"b": 1, "a": [1, 2]}) == utils.body_text({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    assert utils.parse_body("") == {} and utils.parse_body(None) == {}
    assert utils.parse_body(utils.body_text(BODY)) == BODY


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_dashboard_without_the_ownership_tags_is_kept(aws, check_mode):
    required = {"project": "wanzami", "managed-by": "ansible"}
    aws.update(dashboard=stored(), tags={"team": "media"})
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert not changed and aws["calls"] == []
    assert f"Dashboard {NAME} is not ours (it lacks the ownership tags managed-by=ansible, project=wanzami)" in kept
    aws.update(tags=dict(required))
    changed, _, kept = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent", only_if_tagged=required), None)
    assert changed and kept is None and aws["calls"] == ([] if check_mode else [("delete_dashboard", NAME)])
