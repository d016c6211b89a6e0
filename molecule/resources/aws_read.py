#!/usr/bin/env python3
"""Verify-step helper: call one read-only AWS API with boto3 and print the result as JSON.

    aws_read.py SERVICE OPERATION [JSON_PARAMS] [--region REGION]

Verify playbooks use it where no *_info module exists, so that what the
emulator holds is read by plain boto3, not by the module under test.
"""

import argparse
import json
import sys

import boto3

READ_ONLY = ("describe_", "get_", "list_")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("operation")
    parser.add_argument("params", nargs="?", default="{}")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    if not args.operation.startswith(READ_ONLY):
        sys.exit(f"{args.operation} is not a read-only operation")
    client = boto3.client(args.service, region_name=args.region)
    result = getattr(client, args.operation)(**json.loads(args.params))
    result.pop("ResponseMetadata", None)
    json.dump(result, sys.stdout, default=str)


if __name__ == "__main__":
    main()
