"""scripts/iam-policy: one hand-written recorded request of each wire protocol, and the policy it writes and checks."""

import base64
import importlib.machinery
import importlib.util
import json

import pytest

from tests.conftest import REPO

loader = importlib.machinery.SourceFileLoader("iam_policy", str(REPO / "scripts" / "iam-policy"))
spec = importlib.util.spec_from_loader("iam_policy", loader)
iam_policy = importlib.util.module_from_spec(spec)
loader.exec_module(iam_policy)


def request(service, method="POST", path="/", body="", headers=None, user_agent="APN/1.0 Ansible/2.19 Botocore/1.44"):
    return {"method": method, "url": f"http://127.0.0.1:4790{path}", "body_encoded": True,
            "body": base64.b64encode(body.encode()).decode(),
            "headers": {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-2/{service}/aws4_request, "
                                         "SignedHeaders=host, Signature=0", "User-Agent": user_agent,
                        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" if body.startswith("Action=")
                        else "application/x-amz-json-1.1", **(headers or {})}}


ROLE = "arn:aws:iam::123456789012:role/wanzami-local-ecs-execution"


@pytest.mark.parametrize(("entry", "expected"), [
    # query (EC2's and the others'): Action= in the form body
    (request("ec2", body="Action=DescribeVpcs&Version=2016-11-15"), {"ec2:DescribeVpcs"}),
    (request("elasticloadbalancing", body="Action=CreateLoadBalancer&Name=x"),
     {"elasticloadbalancing:CreateLoadBalancer", "iam:CreateServiceLinkedRole"}),
    # JSON: X-Amz-Target; a role in a mutating request is passed
    (request("ecs", body=json.dumps({"family": "f", "executionRoleArn": ROLE}),
             headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"}),
     {"ecs:RegisterTaskDefinition", "iam:PassRole"}),
    (request("ecs", body=json.dumps({"taskDefinition": "f", "include": ["TAGS"], "x": ROLE}),
             headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"}),
     {"ecs:DescribeTaskDefinition"}),
    (request("logs", headers={"X-Amz-Target": "Logs_20140328.FilterLogEvents"}), {"logs:FilterLogEvents"}),
    # an EC2 query request naming an instance profile (URL-encoded) passes its role
    (request("ec2", body="Action=CreateLaunchTemplate&LaunchTemplateData.IamInstanceProfile.Arn="
                         "arn%3Aaws%3Aiam%3A%3A123456789012%3Ainstance-profile%2Fx"),
     {"ec2:CreateLaunchTemplate", "iam:PassRole"}),
    # Smithy RPCv2 CBOR: the operation in the path; CloudWatch signs as monitoring
    (request("monitoring", path="/service/GraniteServiceVersion20100801/operation/DescribeAlarms"),
     {"cloudwatch:DescribeAlarms"}),
    # rest-json (DLM)
    (request("dlm", method="GET", path="/policies?resourceTypes=VOLUME"), {"dlm:GetLifecyclePolicies"}),
    (request("dlm", method="GET", path="/policies/policy-0123"), {"dlm:GetLifecyclePolicy"}),
    # rest-xml: Route 53 and S3, with S3's own action names
    (request("route53", method="GET", path="/2013-04-01/healthcheck/abc"), {"route53:GetHealthCheck"}),
    (request("s3", method="GET", path="/bucket?list-type=2&prefix=a"), {"s3:ListBucket"}),
    (request("s3", method="HEAD", path="/bucket/wanzami_assets/.env"), {"s3:GetObject"}),
    (request("s3", method="GET", path="/bucket?tagging"), {"s3:GetBucketTagging"}),
    (request("s3", method="PUT", path="/bucket?encryption"), {"s3:PutEncryptionConfiguration"}),
    (request("s3", method="GET", path="/bucket?inventory"), {"s3:GetInventoryConfiguration"}),
    (request("s3", method="PUT", path="/bucket/key"), {"s3:PutObject"}),
    (request("s3", method="PUT", path="/bucket/key", headers={"x-amz-copy-source": "/other/key"}),
     {"s3:PutObject", "s3:GetObject"}),
    (request("s3", method="GET", path="/"), {"s3:ListAllMyBuckets"}),
    # not the operator's: the test harness, an unsigned request to the emulator's own API
    (request("ecs", headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.UpdateService"},
             user_agent="Boto3/1.40 wanzami-test-harness"), set()),
    ({"method": "POST", "url": "http://127.0.0.1:4790/moto-api/reset", "headers": {}, "body": ""}, set()),
])
def test_each_request_maps_to_its_iam_actions(entry, expected):
    assert set(iam_policy.actions_of(entry)) == expected


def test_a_rest_request_no_operation_matches_is_named():
    with pytest.raises(iam_policy.Unmapped, match="PATCH /bucket"):
        iam_policy.actions_of(request("s3", method="PATCH", path="/bucket"))


def test_write_then_check(tmp_path, capsys):
    recording = tmp_path / "recording.jsonl"
    recording.write_text("\n".join(json.dumps(e) for e in [
        request("sts", body="Action=GetCallerIdentity&Version=2011-06-15"),
        request("ecs", body=json.dumps({"executionRoleArn": ROLE}),
                headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"}),
        request("ecs", body="{}", headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster"}),
    ]) + "\n" + '{"headers": {')  # the line moto was writing when the recording was read
    policy_file = tmp_path / "policy.json"
    assert iam_policy.main(["--write", str(policy_file), str(recording)]) == 0
    policy = json.loads(policy_file.read_text())
    assert policy["Version"] == "2012-10-17"
    assert {s["Sid"]: (s["Action"], s.get("Condition")) for s in policy["Statement"]} == {
        "Ecs": (["ecs:CreateCluster", "ecs:RegisterTaskDefinition"], None),
        "Sts": (["sts:GetCallerIdentity"], None),
        "IamCreateServiceLinkedRole": (["iam:CreateServiceLinkedRole"],
                                       {"StringEquals": {"iam:AWSServiceName": ["ecs.amazonaws.com"]}}),
        "IamPassRole": (["iam:PassRole"], {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}}),
    }
    assert iam_policy.main(["--check", str(policy_file), str(recording)]) == 0

    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "Sts"]
    policy["Statement"].append({"Sid": "Sqs", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"})
    policy_file.write_text(json.dumps(policy))
    capsys.readouterr()
    assert iam_policy.main(["--check", str(policy_file), str(recording)]) == 1
    out = capsys.readouterr().out
    assert "ERROR: not allowed: sts:GetCallerIdentity" in out
    assert "ERROR: service in the policy no recording uses: sqs" in out
    assert iam_policy.main(["--check", str(policy_file), "--partial", str(recording)]) == 1
    assert "warning: service in the policy no recording uses: sqs" in capsys.readouterr().out
