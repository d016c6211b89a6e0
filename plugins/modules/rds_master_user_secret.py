#!/usr/bin/python

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: rds_master_user_secret
version_added: 0.1.0
short_description: Let AWS manage the master password of an RDS instance or Aurora cluster in Secrets Manager
description:
  - Turns on C(ManageMasterUserPassword) for an existing DB instance or DB cluster, with
    C(ModifyDBInstance) or C(ModifyDBCluster), unless it is on already. RDS then generates the
    master password, keeps it in a Secrets Manager secret it owns and rotates, and the password
    given when the database was created stops working.
  - Returns the secret's ARN, which an ECS task definition can reference in its C(secrets)
    (C(<arn>:password::)), so nobody ever needs to read the password.
  - M(amazon.aws.rds_instance) and M(amazon.aws.rds_cluster) have no option for it; create the
    database with them first, then run this module.
  - Turning the management off again needs a new password and is not done by this module.
author:
  - Wanzami infrastructure team
options:
  db_instance_identifier:
    description: Identifier of an RDS DB instance (not a member of an Aurora cluster).
    type: str
  db_cluster_identifier:
    description: Identifier of an Aurora DB cluster.
    type: str
  kms_key_id:
    description:
      - KMS key (ARN, id or alias) that encrypts the secret, used when the management is turned
        on; AWS's C(aws/secretsmanager) key when not given.
      - An existing secret keeps its key; the module warns when it differs.
    type: str
  wait:
    description: Wait until the instance or cluster is available again after the change.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
notes:
  - In check mode the module only describes. A database that does not exist yet is reported as
    changed (it would be managed once created); outside check mode it is an error.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the instance (the initial password is replaced right after)
  amazon.aws.rds_instance:
    db_instance_identifier: wanzami-db
    engine: postgres
    db_instance_class: db.t4g.micro
    allocated_storage: 20
    master_username: wanzami
    master_user_password: "{{ lookup('ansible.builtin.password', '/dev/null', length=40) }}"
  no_log: true

- name: Hand the password over to Secrets Manager
  wanzami.infra.rds_master_user_secret:
    db_instance_identifier: wanzami-db
  register: secret

- name: Reference it from a task definition
  ansible.builtin.set_fact:
    database_password_value_from: "{{ secret.master_user_secret.secret_arn }}:password::"
"""

RETURN = r"""
master_user_secret:
  description: The secret RDS keeps the master password in; empty in check mode when it would be created.
  returned: always
  type: dict
  contains:
    secret_arn:
      description: ARN of the Secrets Manager secret (JSON with C(username) and C(password)).
      type: str
      sample: arn:aws:secretsmanager:us-east-2:123456789012:secret:rds!db-0f2a...-AbCdEf
    secret_status:
      description: C(creating), C(active), C(rotating) or C(impaired).
      type: str
      sample: active
    kms_key_id:
      description: KMS key that encrypts the secret.
      type: str
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule
from ansible_collections.wanzami.infra.plugins.module_utils.rds import AnsibleRDSError
from ansible_collections.wanzami.infra.plugins.module_utils.rds import describe_db_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.rds import describe_db_instance
from ansible_collections.wanzami.infra.plugins.module_utils.rds import modify_db_cluster
from ansible_collections.wanzami.infra.plugins.module_utils.rds import modify_db_instance
from ansible_collections.wanzami.infra.plugins.module_utils.rds import wait_db_cluster_available
from ansible_collections.wanzami.infra.plugins.module_utils.rds import wait_db_instance_available

POLL_DELAY = 30

KINDS = {
    "instance": {
        "describe": describe_db_instance,
        "modify": modify_db_instance,
        "wait": wait_db_instance_available,
        "id_key": "DBInstanceIdentifier",
        "label": "DB instance",
    },
    "cluster": {
        "describe": describe_db_cluster,
        "modify": modify_db_cluster,
        "wait": wait_db_cluster_available,
        "id_key": "DBClusterIdentifier",
        "label": "DB cluster",
    },
}


def secret_of(resource):
    return camel_dict_to_snake_dict((resource or {}).get("MasterUserSecret") or {})


def key_matches(wanted, current):
    # AWS reports the key's ARN; a bare key id names the same key. An alias cannot be compared offline.
    return not wanted or not current or current == wanted or current.endswith("/" + wanted) or wanted.startswith("alias/")


def ensure_managed(module, client, kind, identifier):
    """Returns (changed, master_user_secret, diff)."""
    calls = KINDS[kind]
    resource = calls["describe"](client, identifier)
    if resource is None:
        if module.check_mode:
            return True, {}, {"before": {}, "after": {"manage_master_user_password": True}}
        module.fail_json(msg=f"{calls['label']} {identifier} does not exist; create it first, then run this module")

    secret = secret_of(resource)
    if secret:
        if not key_matches(module.params["kms_key_id"], secret.get("kms_key_id")):
            module.warn(
                f"The master user secret of {identifier} is encrypted with {secret.get('kms_key_id')}, not "
                f"{module.params['kms_key_id']}; kms_key_id only applies when the management is turned on"
            )
        state = {"manage_master_user_password": True}
        return False, secret, {"before": state, "after": state}

    diff = {"before": {"manage_master_user_password": False}, "after": {"manage_master_user_password": True}}
    if module.check_mode:
        return True, {}, diff
    request = {calls["id_key"]: identifier, "ManageMasterUserPassword": True, "ApplyImmediately": True}
    if module.params["kms_key_id"]:
        request["MasterUserSecretKmsKeyId"] = module.params["kms_key_id"]
    modified = calls["modify"](client, **request)
    if module.params["wait"]:
        attempts = max(1, module.params["wait_timeout"] // POLL_DELAY)
        calls["wait"](client, identifier, POLL_DELAY, attempts)
        modified = calls["describe"](client, identifier) or modified
    return True, secret_of(modified), diff


def main():
    argument_spec = dict(
        db_instance_identifier=dict(type="str"),
        db_cluster_identifier=dict(type="str"),
        kms_key_id=dict(type="str", no_log=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )
    module = WanzamiInfraAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[["db_instance_identifier", "db_cluster_identifier"]],
        required_one_of=[["db_instance_identifier", "db_cluster_identifier"]],
    )
    client = module.client("rds")
    kind = "instance" if module.params["db_instance_identifier"] else "cluster"
    # RDS stores identifiers in lowercase.
    identifier = (module.params["db_instance_identifier"] or module.params["db_cluster_identifier"]).lower()
    try:
        changed, secret, diff = ensure_managed(module, client, kind, identifier)
    except AnsibleRDSError as e:
        module.fail_json_aws_error(e)
    result = dict(changed=changed, master_user_secret=secret)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
