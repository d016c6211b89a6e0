"""The alarm topics' subscriptions (plugins/filter/sns.py): only what the collection subscribed is ever removed."""

from ansible_collections.wanzami.infra.plugins.filter.sns import FilterModule

filters = FilterModule().filters()
kept, tags_of = filters["sns_kept_subscriptions"], filters["sns_subscription_tags"]


def sub(protocol, endpoint, arn="arn:aws:sns:us-east-2:123456789012:t:1"):
    return {"protocol": protocol, "endpoint": endpoint, "subscription_arn": arn}


EXISTING = [sub("email", "oncall@example.com"), sub("email", "old@example.com"), sub("https", "https://pager.example.com/x"),
            sub("email", "by-hand@example.com")]
REMEMBERED = {"wanzami:alarm-emails": "oncall@example.com old@example.com", "team": "x"}


def endpoints(subscriptions):
    return sorted(f"{s['protocol']}:{s['endpoint']}" for s in subscriptions)


def test_a_dropped_address_we_subscribed_goes_and_the_hand_made_ones_stay():
    assert endpoints(kept(EXISTING, ["oncall@example.com", "new@example.com"], REMEMBERED)) == [
        "email:by-hand@example.com", "email:new@example.com", "email:oncall@example.com", "https:https://pager.example.com/x"]


def test_nothing_remembered_removes_nothing():
    assert endpoints(kept(EXISTING, [], {})) == endpoints(EXISTING)


def test_purge_all_keeps_only_the_list():
    assert endpoints(kept(EXISTING, ["oncall@example.com"], REMEMBERED, True)) == ["email:oncall@example.com"]


def test_the_tags_remember_the_list_and_a_dropped_address_still_pending():
    existing = [*EXISTING[:1], sub("email", "old@example.com", "PendingConfirmation")]
    assert tags_of(["oncall@example.com"], existing, REMEMBERED) == {
        "wanzami:alarm-emails": "oncall@example.com old@example.com"}
    assert tags_of(["oncall@example.com"], EXISTING, REMEMBERED) == {"wanzami:alarm-emails": "oncall@example.com"}
    assert tags_of([]) == {}


def test_a_long_list_spreads_over_tags_and_is_read_back_whole():
    emails = [f"person-number-{n:02d}@a-rather-long-domain.example.com" for n in range(20)]
    tags = tags_of(emails)
    assert len(tags) > 1 and all(len(v) <= 256 for v in tags.values())
    assert list(tags)[:2] == ["wanzami:alarm-emails", "wanzami:alarm-emails-2"]
    existing = [sub("email", e) for e in emails]
    assert kept(existing, [], tags) == []


def test_an_address_a_tag_cannot_hold_is_not_remembered():
    assert tags_of(["o'brien@example.com", "a@example.com"]) == {"wanzami:alarm-emails": "a@example.com"}
