# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one retry policy of the collection's own AWS calls (README, "Reliability").

Two layers, each doing what it does best:

- botocore's own retries, set for every module (ours, amazon.aws's and community.aws's) by the
  ``aws_config.retries`` that ``wanzami_aws_module_defaults`` passes through module_defaults: the
  ``standard`` mode retries every throttling code and HTTP 500/502/503/504 with jittered
  exponential backoff capped at 20 s, ``wanzami_aws_max_attempts`` times (10: about 80 s of
  backoff in all, a minute-long burst).
- Around each of our calls, ``aws_retry``: AWSRetry's jittered backoff (10 attempts in all,
  at most 60 s apart) for when the SDK's attempts ran out in a longer burst. amazon.aws's AWSRetry
  knows ``Throttling`` and ``RequestLimitExceeded`` (the query and EC2 protocols) but not the codes
  of the JSON, REST-JSON, REST-XML and CBOR services (``ThrottlingException``: ECS, ECR, Logs,
  CloudWatch, SSM, EventBridge, Application Auto Scaling...), which are added here.

The codes added here are throttling only: a throttled request was refused before it ran, so
sending it again is always safe. A 5xx may come after the change was made (a lost answer), and
a create sent again blind could make a second resource; the 5xx retries are the SDK's (and the
few coded 5xx AWSRetry knows itself: ServiceUnavailable, InternalFailure, InternalError), and a
create that AWS takes no idempotency token for is looked up by name before it is made again.
"""

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Every throttling code AWS answers, by protocol; AWSRetry already knows Throttling, RequestLimitExceeded and
# TooManyRequestsException, listed again so that this is the whole list in one place.
THROTTLING_CODES = (
    "Throttling",  # query protocol (IAM, STS, ELBv2, RDS, ElastiCache, CloudWatch's query API, SNS, Auto Scaling)
    "RequestLimitExceeded",  # EC2
    "ThrottlingException",  # JSON, REST-JSON and CBOR (ECS, ECR, Logs, CloudWatch, SSM, EventBridge...)
    "ThrottledException",
    "TooManyRequestsException",  # REST-JSON (Lambda, API Gateway)
    "SlowDown",  # S3
    "RequestThrottled",
    "RequestThrottledException",
    "PriorRequestNotComplete",  # Route 53
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
)


def aws_retry(catch_extra_error_codes=()):
    """AWSRetry.jittered_backoff for every throttling code, plus a call's own "busy" codes
    (UpdateInProgressException, ConcurrentUpdateException...)."""
    return AWSRetry.jittered_backoff(catch_extra_error_codes=list(THROTTLING_CODES) + list(catch_extra_error_codes))
