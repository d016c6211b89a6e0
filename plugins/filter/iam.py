# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether IAM policy documents allow an action on a resource, offline, for the runbooks; whether a trust policy
lets a service assume a role, for the ecs_cluster role's shared roles."""

import fnmatch
import json

from ansible.errors import AnsibleFilterError


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(patterns, value, case_sensitive):
    if not case_sensitive:
        value = value.lower()
        patterns = [p.lower() for p in patterns]
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _statements(documents):
    for document in _as_list(documents):
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError as e:
                raise AnsibleFilterError(f"iam_policy_allows: a policy document is not JSON: {e}") from e
        if not isinstance(document, dict):
            raise AnsibleFilterError(f"iam_policy_allows: a policy document must be a mapping, got {type(document).__name__}")
        yield from _as_list(document.get("Statement"))


def _applies(statement, action, resource):
    if "Action" in statement:
        if not _matches(_as_list(statement["Action"]), action, case_sensitive=False):
            return False
    elif "NotAction" in statement:
        if _matches(_as_list(statement["NotAction"]), action, case_sensitive=False):
            return False
    else:
        return False
    if "Resource" in statement:
        return _matches(_as_list(statement["Resource"]), resource, case_sensitive=True)
    if "NotResource" in statement:
        return not _matches(_as_list(statement["NotResource"]), resource, case_sensitive=True)
    return False


def iam_policy_allows(documents, action, resource="*"):
    """True when a statement allows action on resource and none denies it (conditions are not evaluated)."""
    statements = list(_statements(documents))
    if any(s.get("Effect") == "Deny" and _applies(s, action, resource) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _applies(s, action, resource) for s in statements)


def iam_trusts_service(document, service):
    """True when a trust policy lets the AWS service assume the role (an Allow of sts:AssumeRole to it)."""
    for statement in _statements(document):
        principals = statement.get("Principal")
        services = _as_list(principals.get("Service")) if isinstance(principals, dict) else []
        actions = _as_list(statement.get("Action"))
        assumes = _matches(actions, "sts:AssumeRole", case_sensitive=False)
        if statement.get("Effect") == "Allow" and service in services and assumes:
            return True
    return False


class FilterModule:
    def filters(self):
        return {"iam_policy_allows": iam_policy_allows, "iam_trusts_service": iam_trusts_service}
