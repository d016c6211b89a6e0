# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The e-mail subscriptions of an alarm topic: ours are remembered in the topic's tags, others are never removed.

community.aws.sns_topic either keeps every subscription it is not given (purge_subscriptions: false) or removes
every one (true). The roles give it, with purge_subscriptions: true, the addresses they list plus every
subscription the topic has that they did not make, so it removes exactly the addresses the collection
subscribed and no longer lists. What the collection subscribed is remembered in the topic's tags
wanzami:alarm-emails, wanzami:alarm-emails-2... (space-separated addresses, 256 characters a tag value; an
address with a character a tag value cannot hold is not remembered, so never removed)."""

import re

TAG = "wanzami:alarm-emails"
TAG_VALUE_LENGTH = 256
# What an AWS tag value may hold (letters, digits, whitespace and _ . : / = + - @).
TAG_VALUE = re.compile(r"^[\w.:/=+\-@]+$")


def remembered_emails(tags):
    """The addresses the collection subscribed, from the topic's tags (a dict)."""
    found = []
    for key in sorted(tags or {}, key=lambda k: (len(k), k)):
        if key == TAG or re.fullmatch(re.escape(TAG) + r"-\d+", key):
            found.extend(tags[key].split())
    return found


def kept_subscriptions(existing, emails, tags, purge_all=False):
    """The subscriptions to give sns_topic (purge_subscriptions: true): the listed addresses, and every subscription
    of the topic (sns_topic_info's, snake_case) but an e-mail one the collection made and no longer lists.
    purge_all: only the listed addresses (every other subscription is removed)."""
    wanted = [{"protocol": "email", "endpoint": address} for address in emails]
    if purge_all:
        return wanted
    dropped = set(remembered_emails(tags)) - set(emails)
    keys = {("email", address) for address in emails}
    for sub in existing or []:
        key = (sub["protocol"], sub["endpoint"])
        if key in keys or (sub["protocol"] == "email" and sub["endpoint"] in dropped):
            continue
        keys.add(key)
        wanted.append({"protocol": sub["protocol"], "endpoint": sub["endpoint"]})
    return wanted


def subscription_tags(emails, existing=None, tags=None):
    """The tags that remember what the collection subscribed: the listed addresses, and those it no longer lists
    whose subscription still waits for confirmation (SNS cannot remove those yet: the next run will)."""
    pending = {sub["endpoint"] for sub in existing or []
               if sub["protocol"] == "email" and sub.get("subscription_arn") == "PendingConfirmation"}
    remembered = list(emails) + [a for a in remembered_emails(tags) if a in pending and a not in emails]
    # An address a tag value cannot hold is not remembered: it is never unsubscribed by the collection.
    remembered = [a for a in remembered if TAG_VALUE.match(a) and len(a) <= TAG_VALUE_LENGTH]
    chunks = []
    for address in remembered:
        if chunks and len(chunks[-1]) + 1 + len(address) <= TAG_VALUE_LENGTH:
            chunks[-1] += " " + address
        else:
            chunks.append(address)
    return {TAG if n == 0 else f"{TAG}-{n + 1}": chunk for n, chunk in enumerate(chunks)}


class FilterModule:
    def filters(self):
        return {"sns_kept_subscriptions": kept_subscriptions, "sns_subscription_tags": subscription_tags}
