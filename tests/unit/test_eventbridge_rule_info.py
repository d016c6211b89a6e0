"""wanzami.infra.eventbridge_rule_info with the boto layer patched at the module_utils seam."""

from ansible_collections.wanzami.infra.plugins.modules import eventbridge_rule_info as mod

NAME = "wanzami-staging-ecs-deployment-failed"
ARN = f"arn:aws:events:us-east-2:123456789012:rule/{NAME}"
TOPIC = "arn:aws:sns:us-east-2:123456789012:wanzami-staging-alarms"


def test_an_existing_rule_with_its_targets_and_tags(monkeypatch):
    monkeypatch.setattr(mod, "describe_rule", lambda client, name: {"Name": name, "Arn": ARN, "State": "ENABLED",
                                                                         "ScheduleExpression": "rate(1 hour)"})
    monkeypatch.setattr(mod, "list_targets_by_rule", lambda client, name: [{"Id": "z", "Arn": TOPIC},
                                                                           {"Id": "a", "Arn": "arn:aws:sqs:q"}])
    monkeypatch.setattr(mod, "list_tags", lambda client, arn: {"team": "media"})
    assert mod.read(None, NAME) == {"name": NAME, "exists": True, "arn": ARN, "state": "ENABLED",
                                    "schedule": "rate(1 hour)", "target_arns": [TOPIC, "arn:aws:sqs:q"],
                                    "tags": {"team": "media"}}


def test_a_missing_rule_is_an_answer(monkeypatch):
    monkeypatch.setattr(mod, "describe_rule", lambda client, name: None)
    monkeypatch.setattr(mod, "list_targets_by_rule", lambda client, name: (_ for _ in ()).throw(AssertionError))
    assert mod.read(None, NAME) == {"name": NAME, "exists": False, "arn": "", "state": "", "schedule": "",
                                     "target_arns": [], "tags": {}}
