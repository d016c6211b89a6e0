#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecr_authorization
short_description: Get a Docker login for an ECR registry from the AWS SDK
version_added: 0.1.0
description:
  - Calls ECR C(GetAuthorizationToken) with the task's AWS credentials and returns what
    C(docker login) needs, the registry host, the user name (C(AWS)) and the password, without
    the AWS CLI or a credential helper. Feed it to M(community.docker.docker_login).
  - The password is a secret, valid for 12 hours. The action plugin of the same name hides the
    task's result from every callback, at any verbosity, as C(no_log=true) would; the registered
    variable holds the values. A module alone cannot do this; a value it adds to its no_log values
    is replaced by a placeholder in its own result, which would make the password useless.
  - Read-only; it runs in check mode too and never reports a change.
author:
  - Wanzami infrastructure team
options:
  registry_ids:
    description:
      - Account ids of the registries to log in to; the caller's own registry when not given.
      - The first one is returned at the top level, all of them in RV(authorizations).
    type: list
    elements: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Get a Docker login for the account's ECR registry
  wanzami.infra.ecr_authorization:
  register: ecr_login

- name: Log Docker in to ECR
  community.docker.docker_login:
    registry_url: "{{ ecr_login.registry }}"
    username: "{{ ecr_login.username }}"
    password: "{{ ecr_login.password }}"
  no_log: true
"""

RETURN = r"""
registry:
  description: The registry host to log in to and to prefix image names with (the proxy endpoint without C(https://)).
  returned: always
  type: str
  sample: 123456789012.dkr.ecr.us-east-2.amazonaws.com
username:
  description: The user name, always C(AWS) for ECR.
  returned: always
  type: str
  sample: AWS
password:
  description: The password (the decoded authorization token without its C(AWS:) prefix). A secret.
  returned: always
  type: str
expires_at:
  description: When the password expires (ISO 8601, 12 hours after the call).
  returned: always
  type: str
  sample: "2026-11-23T05:34:40+00:00"
authorizations:
  description: One login per registry asked for (one when O(registry_ids) is not given), each with the keys above.
  returned: always
  type: list
  elements: dict
  contains:
    registry:
      description: The registry host.
      type: str
      sample: 123456789012.dkr.ecr.us-east-2.amazonaws.com
    username:
      description: The user name.
      type: str
      sample: AWS
    password:
      description: The password. A secret.
      type: str
    expires_at:
      description: When the password expires.
      type: str
"""

import base64
import binascii
import datetime

from ansible_collections.wanzami.infra.plugins.module_utils.ecr import AnsibleECRError
from ansible_collections.wanzami.infra.plugins.module_utils.ecr import ECRErrorHandler
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.retries import aws_retry


@ECRErrorHandler.common_error_handler("get authorization token")
@aws_retry()
def get_authorization_token(client, registry_ids=None):
    params = {"registryIds": registry_ids} if registry_ids else {}
    return client.get_authorization_token(**params)["authorizationData"]


def registry_host(proxy_endpoint):
    """https://123456789012.dkr.ecr.us-east-2.amazonaws.com -> the host Docker expects in image names."""
    host = proxy_endpoint.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    return host.rstrip("/")


def decode_token(token):
    """The base64 authorizationToken holds "user:password"; return both."""
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"ECR returned an authorization token that is not base64 'user:password' ({e})") from None
    username, separator, password = decoded.partition(":")
    if not separator or not username or not password:
        raise ValueError("ECR returned an authorization token that is not 'user:password'")
    return username, password


def expiry(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value) if value is not None else None


def authorization(data):
    username, password = decode_token(data["authorizationToken"])
    return {
        "registry": registry_host(data["proxyEndpoint"]),
        "username": username,
        "password": password,
        "expires_at": expiry(data.get("expiresAt")),
    }


def get_authorizations(module, client):
    data = get_authorization_token(client, module.params["registry_ids"])
    if not data:
        module.fail_json(msg="ECR returned no authorization data")
    try:
        return [authorization(entry) for entry in data]
    except ValueError as e:
        module.fail_json(msg=str(e))


def main():
    argument_spec = dict(
        registry_ids=dict(type="list", elements="str"),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ecr")
    try:
        authorizations = get_authorizations(module, client)
    except AnsibleECRError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, authorizations=authorizations, **authorizations[0])


if __name__ == "__main__":
    main()
