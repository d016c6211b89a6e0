"""How a recorded request is classified: the read-only guarantee rests on it."""

import base64

import pytest

from tests.emulator import operation_of


def auth(service):
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-2/{service}/aws4_request, Signed"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"headers": {**auth("ecs"), "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServices"},
          "method": "POST", "url": "http://x/", "body": "{}"}, ("ecs", "DescribeServices", False)),
        ({"headers": {**auth("ecs"), "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.UpdateService"},
          "method": "POST", "url": "http://x/", "body": "{}"}, ("ecs", "UpdateService", True)),
        ({"headers": auth("ec2"), "method": "POST", "url": "http://x/",
          "body": base64.b64encode(b"Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16").decode(),
          "body_encoded": True}, ("ec2", "CreateVpc", True)),
        ({"headers": auth("ec2"), "method": "POST", "url": "http://x/",
          "body": "Action=DescribeVpcs&Version=2016-11-15"}, ("ec2", "DescribeVpcs", False)),
        ({"headers": auth("monitoring"), "method": "POST",
          "url": "http://x/service/GraniteServiceVersion20100801/operation/PutMetricAlarm", "body": ""},
         ("monitoring", "PutMetricAlarm", True)),
        ({"headers": auth("s3"), "method": "PUT", "url": "http://x/bucket/key", "body": ""},
         ("s3", "PUT /bucket/key", True)),
        ({"headers": auth("s3"), "method": "GET", "url": "http://x/bucket?versioning", "body": ""},
         ("s3", "GET /bucket", False)),
        ({"headers": auth("sts"), "method": "POST", "url": "http://x/", "body": "Action=GetCallerIdentity"},
         ("sts", "GetCallerIdentity", False)),
        ({"headers": auth("ec2"), "method": "POST", "url": "http://x/", "body": "Action=AssociateRouteTable"},
         ("ec2", "AssociateRouteTable", True)),
        ({"headers": {**auth("logs"), "X-Amz-Target": "Logs_20140328.FilterLogEvents"},
          "method": "POST", "url": "http://x/", "body": "{}"}, ("logs", "FilterLogEvents", False)),
        ({"headers": {**auth("logs"), "X-Amz-Target": "Logs_20140328.PutLogEvents"},
          "method": "POST", "url": "http://x/", "body": "{}"}, ("logs", "PutLogEvents", True)),
    ],
)
def test_operation_of(entry, expected):
    assert operation_of(entry) == expected


def test_calls_skips_the_line_being_written_while_the_recording_is_read(monkeypatch, tmp_path):
    import io
    import json
    import urllib.request

    from tests.emulator import Emulator

    whole = json.dumps({"headers": auth("ec2"), "method": "POST", "url": "http://x/", "body": "Action=CreateVpc"})
    recording = (whole + "\n" + whole[:40]).encode()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(recording))
    assert Emulator(tmp_path, port=1).calls() == [("ec2", "CreateVpc", True)]
    recording = (whole[:40] + "\n" + whole).encode()
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):
        Emulator(tmp_path, port=1).calls()
