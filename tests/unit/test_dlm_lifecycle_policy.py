"""wanzami.infra.dlm_lifecycle_policy with the boto layer patched at the module_utils seam, and
module_utils/dlm.py against botocore's Stubber."""

import copy

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils import dlm as utils
from ansible_collections.wanzami.infra.plugins.modules import dlm_lifecycle_policy as mod
from tests.unit.stubs import stubbed_client

DESCRIPTION = "wanzami-api root volume daily snapshots"
ROLE = "arn:aws:iam::123456789012:role/wanzami-api-dlm"
POLICY_ID = "policy-0123456789abcdef0"
ARN = f"arn:aws:dlm:us-east-2:123456789012:policy/{POLICY_ID}"


class Failed(Exception):
    pass


def schedule(**overrides):
    params = {"name": "daily-0500", "interval": 24, "interval_unit": "HOURS", "times": ["05:00"], "cron_expression": None,
              "retain_count": 7, "copy_tags": True, "tags_to_add": None}
    params.update(overrides)
    return params


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {
            "description": DESCRIPTION, "state": "present", "execution_role_arn": ROLE, "enabled": True,
            "resource_types": ["VOLUME"], "target_tags": {"snapshot-schedule": "wanzami-api-root"},
            "schedules": [schedule()], "tags": {"project": "wanzami"}, "purge_tags": True,
        }
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])


def stored(details=None, state="ENABLED", tags=None, role=ROLE, description=DESCRIPTION, policy_id=POLICY_ID):
    """A policy as GetLifecyclePolicy answers, with the defaults DLM fills in."""
    details = copy.deepcopy(details or {
        "PolicyType": "EBS_SNAPSHOT_MANAGEMENT", "ResourceTypes": ["VOLUME"], "ResourceLocations": ["CLOUD"],
        "TargetTags": [{"Key": "snapshot-schedule", "Value": "wanzami-api-root"}],
        "Schedules": [{"Name": "daily-0500", "CopyTags": True,
                       "CreateRule": {"Location": "CLOUD", "Interval": 24, "IntervalUnit": "HOURS", "Times": ["05:00"]},
                       "RetainRule": {"Count": 7}}],
        "PolicyLanguage": "STANDARD",
    })
    return {"PolicyId": policy_id, "Description": description, "State": state, "StatusMessage": state,
            "ExecutionRoleArn": role, "PolicyDetails": details, "PolicyArn": ARN.replace(POLICY_ID, policy_id),
            "Tags": {"project": "wanzami"} if tags is None else tags, "DefaultPolicy": False}


@pytest.fixture
def aws(monkeypatch):
    """A small fake of DLM: reads answer from state; mutating calls are recorded and applied."""
    state = {"policies": {}, "calls": []}

    def summaries(client):
        return [{"PolicyId": p["PolicyId"], "Description": p["Description"], "State": p["State"], "Tags": p["Tags"]}
                for p in state["policies"].values()]

    def get(client, policy_id):
        policy = state["policies"].get(policy_id)
        return copy.deepcopy(policy) if policy else None

    def create(client, description, role, policy_state, details, tags=None):
        state["calls"].append(("create", description, role, policy_state, details, tags))
        state["policies"][POLICY_ID] = stored(details=details, state=policy_state, tags=tags or {}, role=role,
                                              description=description)
        return POLICY_ID

    def update(client, policy_id, role, policy_state, details):
        state["calls"].append(("update", policy_id, role, policy_state, details))
        state["policies"][policy_id].update(ExecutionRoleArn=role, State=policy_state, PolicyDetails=details)

    def delete(client, policy_id):
        state["calls"].append(("delete", policy_id))
        del state["policies"][policy_id]
        return True

    def tag(client, arn, tags):
        state["calls"].append(("tag", arn, tags))
        state["policies"][POLICY_ID]["Tags"].update(tags)

    def untag(client, arn, keys):
        state["calls"].append(("untag", arn, sorted(keys)))
        for key in keys:
            state["policies"][POLICY_ID]["Tags"].pop(key)

    for name, fake in (("get_lifecycle_policies", summaries), ("get_lifecycle_policy", get),
                       ("create_lifecycle_policy", create), ("update_lifecycle_policy", update),
                       ("delete_lifecycle_policy", delete), ("tag_lifecycle_policy", tag),
                       ("untag_lifecycle_policy", untag)):
        monkeypatch.setattr(mod, name, fake)
    return state


def holding(aws, *policies):
    aws["policies"] = {p["PolicyId"]: p for p in policies}


@pytest.mark.parametrize("check_mode", [True, False])
def test_creates_a_missing_policy_with_its_schedule_and_tags(aws, check_mode):
    changed, policy, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert changed
    details = {"PolicyType": "EBS_SNAPSHOT_MANAGEMENT", "ResourceTypes": ["VOLUME"],
               "TargetTags": [{"Key": "snapshot-schedule", "Value": "wanzami-api-root"}],
               "Schedules": [{"Name": "daily-0500", "CopyTags": True,
                              "CreateRule": {"Interval": 24, "IntervalUnit": "HOURS", "Times": ["05:00"]},
                              "RetainRule": {"Count": 7}}]}
    assert aws["calls"] == ([] if check_mode else [("create", DESCRIPTION, ROLE, "ENABLED", details, {"project": "wanzami"})])
    assert diff["before"] == {}
    assert diff["after"]["schedules"] == [{"name": "daily-0500", "interval": 24, "interval_unit": "HOURS", "times": ["05:00"],
                                           "cron_expression": None, "retain_count": 7, "copy_tags": True, "tags_to_add": {}}]
    assert diff["after"]["target_tags"] == {"snapshot-schedule": "wanzami-api-root"}
    if check_mode:
        assert policy == {}
    else:
        assert policy["policy_id"] == POLICY_ID and policy["tags"] == {"project": "wanzami"}
        assert policy["policy_details"]["schedules"][0]["retain_rule"] == {"count": 7}


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_converged_policy_makes_no_call_despite_dlm_defaults(aws, check_mode):
    holding(aws, stored())
    changed, policy, diff = mod.ensure_present(FakeModule(check_mode=check_mode), None)
    assert not changed
    assert aws["calls"] == []
    assert diff["before"] == diff["after"]
    assert policy["policy_arn"] == ARN


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_new_retention_and_time_is_one_update(aws, check_mode):
    holding(aws, stored())
    module = FakeModule(check_mode=check_mode, schedules=[schedule(times=["03:00"], retain_count=14)])
    changed, policy, diff = mod.ensure_present(module, None)
    assert changed
    assert [c[0] for c in aws["calls"]] == ([] if check_mode else ["update"])
    assert (diff["before"]["schedules"][0]["retain_count"], diff["after"]["schedules"][0]["retain_count"]) == (7, 14)
    assert diff["after"]["schedules"][0]["times"] == ["03:00"]
    if not check_mode:
        assert aws["calls"][0][4]["Schedules"][0]["RetainRule"] == {"Count": 14}
        assert policy["policy_details"]["schedules"][0]["create_rule"]["times"] == ["03:00"]


def test_disabling_and_a_new_role_update_the_policy(aws):
    holding(aws, stored())
    changed, _, _ = mod.ensure_present(FakeModule(enabled=False, execution_role_arn=ROLE + "-2"), None)
    assert changed
    assert aws["calls"][0][:4] == ("update", POLICY_ID, ROLE + "-2", "DISABLED")


@pytest.mark.parametrize("check_mode", [True, False])
def test_only_the_tags_differ(aws, check_mode):
    holding(aws, stored(tags={"project": "wanzami", "old": "x"}))
    changed, _, diff = mod.ensure_present(FakeModule(check_mode=check_mode, tags={"project": "wanzami", "env": "local"}), None)
    assert changed
    assert aws["calls"] == ([] if check_mode else [("untag", ARN, ["old"]), ("tag", ARN, {"env": "local"})])
    assert diff["after"]["tags"] == {"env": "local", "project": "wanzami"}


def test_tags_left_out_are_left_alone(aws):
    holding(aws, stored(tags={"someone": "else"}))
    changed, _, _ = mod.ensure_present(FakeModule(tags=None), None)
    assert not changed and aws["calls"] == []


def test_a_cron_schedule_replaces_interval_and_times(aws):
    module = FakeModule(schedules=[schedule(cron_expression="cron(0 5 ? * * *)", tags_to_add={"kind": "root"})])
    mod.ensure_present(module, None)
    created = aws["calls"][0][4]["Schedules"][0]
    assert created["CreateRule"] == {"CronExpression": "cron(0 5 ? * * *)"}
    assert created["TagsToAdd"] == [{"Key": "kind", "Value": "root"}]
    changed, _, _ = mod.ensure_present(module, None)
    assert not changed


def test_another_policy_is_left_alone(aws):
    holding(aws, stored(description="someone else's policy", policy_id="policy-other"))
    mod.ensure_present(FakeModule(), None)
    assert [c[0] for c in aws["calls"]] == ["create"]
    assert set(aws["policies"]) == {"policy-other", POLICY_ID}


def test_two_policies_with_the_description_fail(aws):
    holding(aws, stored(), stored(policy_id="policy-twin"))
    with pytest.raises(Failed, match="2 policies are described as"):
        mod.ensure_present(FakeModule(), None)


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_deletes_only_when_there_is_one(aws, check_mode):
    holding(aws, stored())
    changed, _, diff = mod.ensure_absent(FakeModule(check_mode=check_mode, state="absent"), None)
    assert changed and diff["after"] == {} and diff["before"]["description"] == DESCRIPTION
    assert aws["calls"] == ([] if check_mode else [("delete", POLICY_ID)])
    if not check_mode:
        changed, _, _ = mod.ensure_absent(FakeModule(state="absent"), None)
        assert not changed and aws["calls"] == [("delete", POLICY_ID)]


@pytest.mark.parametrize(("params", "message"), [
    ({"schedules": []}, "schedules must list 1 to 4 schedules, not 0"),
    ({"schedules": [schedule(retain_count=0)]}, r"schedules\[daily-0500\].retain_count must be 1 to 1000, not 0"),
    ({"schedules": [schedule(interval=5)]}, r"interval must be one of 1, 2, 3, 4, 6, 8, 12, 24 hours, not 5"),
    ({"schedules": [schedule(times=["5am"])]}, r"times must be one time of day as HH:MM \(UTC\)"),
    ({"schedules": [schedule(), schedule()]}, r"schedules\[\].name must be unique"),
    ({"target_tags": {}}, "target_tags must name at least one tag"),
    ({"description": "no: colons"}, "description must be 1 to 500 letters"),
])
def test_bad_options_fail_naming_the_option(params, message):
    with pytest.raises(Failed, match=message):
        mod.check_params(FakeModule(**params))


def test_absent_needs_no_schedules():
    mod.check_params(FakeModule(state="absent", schedules=None, target_tags=None))


# module_utils/dlm.py against botocore's Stubber: the requests are the ones DLM's model accepts.

def test_no_policies_is_an_empty_list_not_an_error():
    with stubbed_client("dlm") as (client, stubber):
        stubber.add_client_error("get_lifecycle_policies", service_error_code="ResourceNotFoundException",
                                 http_status_code=404)
        assert utils.get_lifecycle_policies(client) == []


def test_a_missing_policy_is_none():
    with stubbed_client("dlm") as (client, stubber):
        stubber.add_client_error("get_lifecycle_policy", service_error_code="ResourceNotFoundException",
                                 http_status_code=404, expected_params={"PolicyId": POLICY_ID})
        assert utils.get_lifecycle_policy(client, POLICY_ID) is None


def test_create_update_tag_and_delete_send_what_dlm_takes():
    details = mod.wanted_details(FakeModule().params)
    with stubbed_client("dlm") as (client, stubber):
        stubber.add_response("create_lifecycle_policy", {"PolicyId": POLICY_ID}, {
            "Description": DESCRIPTION, "ExecutionRoleArn": ROLE, "State": "ENABLED", "PolicyDetails": details,
            "Tags": {"project": "wanzami"}})
        stubber.add_response("update_lifecycle_policy", {}, {
            "PolicyId": POLICY_ID, "ExecutionRoleArn": ROLE, "State": "DISABLED", "PolicyDetails": details})
        stubber.add_response("tag_resource", {}, {"ResourceArn": ARN, "Tags": {"env": "local"}})
        stubber.add_response("untag_resource", {}, {"ResourceArn": ARN, "TagKeys": ["old"]})
        stubber.add_response("delete_lifecycle_policy", {}, {"PolicyId": POLICY_ID})
        assert utils.create_lifecycle_policy(client, DESCRIPTION, ROLE, "ENABLED", details, {"project": "wanzami"}) == POLICY_ID
        utils.update_lifecycle_policy(client, POLICY_ID, ROLE, "DISABLED", details)
        utils.tag_lifecycle_policy(client, ARN, {"env": "local"})
        utils.untag_lifecycle_policy(client, ARN, ["old"])
        assert utils.delete_lifecycle_policy(client, POLICY_ID) is True


def test_the_whole_policy_is_read_by_id():
    with stubbed_client("dlm") as (client, stubber):
        stubber.add_response("get_lifecycle_policies", {"Policies": [
            {"PolicyId": POLICY_ID, "Description": DESCRIPTION, "State": "ENABLED", "Tags": {}}]}, {})
        stubber.add_response("get_lifecycle_policy", {"Policy": stored()}, {"PolicyId": POLICY_ID})
        policy = mod.find_policy(FakeModule(), client)
    assert policy["PolicyArn"] == ARN
