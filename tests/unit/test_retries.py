"""plugins/module_utils/retries.py: every throttling code of every protocol is retried around our calls (amazon.aws's
AWSRetry alone misses ThrottlingException, the code of every JSON and CBOR service), a call's own busy codes too,
and an error that is neither fails at once; and every module_util of ours retries through it."""

import re

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils import cloud

from ansible_collections.wanzami.infra.plugins.module_utils.retries import THROTTLING_CODES
from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    slept = []
    monkeypatch.setattr(cloud.time, "sleep", slept.append)
    return slept


def failing(codes, result="done"):
    """A call that answers each code of codes in turn (an error), then result."""
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(codes):
            code = codes[len(calls) - 1]
            raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "DescribeServices")
        return result

    return call, calls


@pytest.mark.parametrize("code", ["ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
                                  "SlowDown", "PriorRequestNotComplete"])
def test_each_protocols_throttling_is_retried(code, no_waiting):
    call, calls = failing([code, code, code])
    assert aws_retry()(call)() == "done"
    assert len(calls) == 4
    assert len(no_waiting) == 3 and all(0 <= s <= 60 for s in no_waiting)


def test_the_codes_are_the_documented_ones():
    assert {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "SlowDown",
            "PriorRequestNotComplete"} <= set(THROTTLING_CODES)


def test_a_calls_own_busy_code_is_retried_too():
    call, calls = failing(["UpdateInProgressException", "ThrottlingException"])
    assert aws_retry(["UpdateInProgressException"])(call)() == "done"
    assert len(calls) == 3
    call, calls = failing(["UpdateInProgressException"])
    with pytest.raises(botocore.exceptions.ClientError):
        aws_retry()(call)()
    assert len(calls) == 1


@pytest.mark.parametrize("code", ["AccessDeniedException", "ValidationException", "ResourceInUseException"])
def test_any_other_error_fails_at_once(code):
    call, calls = failing([code])
    with pytest.raises(botocore.exceptions.ClientError):
        aws_retry()(call)()
    assert len(calls) == 1


def test_a_burst_longer_than_the_attempts_fails_with_the_last_error():
    call, calls = failing(["ThrottlingException"] * 20)
    with pytest.raises(botocore.exceptions.ClientError, match="ThrottlingException"):
        aws_retry()(call)()
    assert len(calls) == 10  # AWSRetry.jittered_backoff: 10 attempts in all


def test_every_module_util_and_module_of_ours_retries_through_it():
    """One place: no decorator of ours is AWSRetry's own, whose list misses ThrottlingException."""
    offenders = []
    for path in sorted((REPO / "plugins").rglob("*.py")):
        if path.name == "retries.py":
            continue
        if re.search(r"^\s*[^#\s].*AWSRetry\.", path.read_text(), re.M):
            offenders.append(path.relative_to(REPO).as_posix())
    assert offenders == []
