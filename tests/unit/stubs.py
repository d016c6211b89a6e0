"""One way to test a module_utils wrapper against botocore's Stubber."""

import contextlib

import boto3
from botocore.stub import Stubber


@contextlib.contextmanager
def stubbed_client(service):
    """(client, stubber) for service: every request is checked against the service's model (a wrong parameter
    name fails here, not on AWS), the answers are the ones the test adds, and each must have been asked for."""
    client = boto3.client(service, region_name="us-east-2", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
