"""wanzami.infra.rds_parameter_group and rds_master_user_secret with the boto layer patched at the module_utils seam."""

import pytest

from ansible_collections.wanzami.infra.plugins.modules import rds_master_user_secret as secret_mod
from ansible_collections.wanzami.infra.plugins.modules import rds_parameter_group as group_mod

ARN = "arn:aws:rds:us-east-2:123456789012:pg:wanzami-db-postgres16"
SECRET_ARN = "arn:aws:secretsmanager:us-east-2:123456789012:secret:rds!db-0f2a-AbCdEf"  # noqa: S105 (an ARN)
SEED_003 = {"max_connections": 100, "log_statement": "ddl", "log_min_duration_statement": 1000}


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = params
        self.warnings = []

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])

    def warn(self, message):
        self.warnings.append(message)


def group_module(check_mode=False, **params):
    defaults = {"name": "wanzami-db-postgres16", "scope": "instance", "family": "postgres16", "description": None,
                "parameters": dict(SEED_003), "purge_parameters": True, "tags": {"project": "wanzami"}, "purge_tags": True}
    defaults.update(params)
    return FakeModule(check_mode=check_mode, **defaults)


def catalog_entry(name, value=None, source="engine-default", apply_type="dynamic", data_type="string", modifiable=True):
    entry = {"ParameterName": name, "Source": source, "ApplyType": apply_type, "DataType": data_type,
             "IsModifiable": modifiable}
    if value is not None:
        entry["ParameterValue"] = value
    return entry


# What AWS lists for a fresh postgres16 group: the whole catalog, engine defaults without values.
FRESH_CATALOG = [
    catalog_entry("max_connections", apply_type="static", data_type="integer"),
    catalog_entry("log_statement"),
    catalog_entry("log_min_duration_statement", data_type="integer"),
    catalog_entry("log_connections", data_type="boolean"),
    catalog_entry("rds.extensions", source="system", value="pg_stat_statements", modifiable=False),
]


@pytest.fixture
def rds(monkeypatch):
    """Record every call to the boto seam; tests set what describe/list return."""
    state = {"group": None, "parameters": [], "tags": {}, "calls": []}

    def record(name, result=None):
        def call(*args, **kwargs):
            state["calls"].append((name, args[1:], kwargs))
            return result(*args, **kwargs) if callable(result) else result
        return call

    monkeypatch.setattr(group_mod, "describe_parameter_group", lambda client, scope, name: state["group"])
    monkeypatch.setattr(group_mod, "describe_parameters", lambda client, scope, name: list(state["parameters"]))
    monkeypatch.setattr(group_mod, "list_tags", lambda client, arn: dict(state["tags"]))

    def created(client, scope, name, family, description, tags):
        return {"DBParameterGroupName": name, "DBParameterGroupFamily": family, "Description": description,
                "DBParameterGroupArn": ARN}

    monkeypatch.setattr(group_mod, "create_parameter_group", record("create_parameter_group", created))
    for name in ("modify_parameters", "reset_parameters", "add_tags", "remove_tags"):
        monkeypatch.setattr(group_mod, name, record(name))
    return state


def existing_group(family="postgres16"):
    return {"DBParameterGroupName": "wanzami-db-postgres16", "DBParameterGroupFamily": family,
            "Description": "wanzami-db parameters (postgres16)", "DBParameterGroupArn": ARN}


def names(calls):
    return [call[0] for call in calls]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_missing_group_is_created_with_its_parameters(rds, check_mode):
    rds["parameters"] = FRESH_CATALOG
    changed, group, diff = group_mod.ensure_present(group_module(check_mode=check_mode), None)
    assert changed
    assert diff["before"] == {}
    assert diff["after"]["parameters"] == {"log_min_duration_statement": "1000", "log_statement": "ddl",
                                           "max_connections": "100"}
    assert diff["after"]["tags"] == {"project": "wanzami"}
    if check_mode:
        assert rds["calls"] == []
        assert group["arn"] == ""
        return
    assert names(rds["calls"]) == ["create_parameter_group", "modify_parameters"]
    assert rds["calls"][0][1] == ("instance", "wanzami-db-postgres16", "postgres16", "Parameters of wanzami-db-postgres16",
                                  {"project": "wanzami"})
    sent = {p["ParameterName"]: p for p in rds["calls"][1][1][2]}
    # Static parameters wait for a reboot; dynamic ones apply at once.
    assert sent["max_connections"] == {"ParameterName": "max_connections", "ParameterValue": "100",
                                       "ApplyMethod": "pending-reboot"}
    assert sent["log_statement"]["ApplyMethod"] == "immediate"
    assert group["arn"] == ARN


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_converged_group_changes_nothing(rds, check_mode):
    rds.update(group=existing_group(), tags={"project": "wanzami"}, parameters=[
        catalog_entry("max_connections", "100", source="user", apply_type="static", data_type="integer"),
        catalog_entry("log_statement", "ddl", source="user"),
        catalog_entry("log_min_duration_statement", "1000", source="user", data_type="integer"),
        catalog_entry("log_connections", data_type="boolean"),
    ])
    changed, group, diff = group_mod.ensure_present(group_module(check_mode=check_mode), None)
    assert not changed
    assert rds["calls"] == []
    assert diff["before"] == diff["after"]
    assert group["parameters"] == {"log_min_duration_statement": "1000", "log_statement": "ddl", "max_connections": "100"}


@pytest.mark.parametrize("check_mode", [True, False])
def test_drift_is_corrected_purged_and_shown(rds, check_mode):
    rds.update(group=existing_group(), tags={"project": "wanzami", "owner": "someone"}, parameters=[
        catalog_entry("max_connections", "200", source="user", apply_type="static", data_type="integer"),
        catalog_entry("log_statement", "ddl", source="user"),
        catalog_entry("log_min_duration_statement", "1000", source="user", data_type="integer"),
        # Set by hand, no longer wanted.
        catalog_entry("log_connections", "1", source="user", data_type="boolean"),
    ])
    changed, _group, diff = group_mod.ensure_present(group_module(check_mode=check_mode), None)
    assert changed
    assert diff["before"]["parameters"]["max_connections"] == "200"
    assert diff["after"]["parameters"] == {"log_connections": None, "log_min_duration_statement": "1000",
                                           "log_statement": "ddl", "max_connections": "100"}
    assert diff["after"]["tags"] == {"project": "wanzami"}
    if check_mode:
        assert rds["calls"] == []
        return
    assert names(rds["calls"]) == ["reset_parameters", "modify_parameters", "remove_tags"]
    assert rds["calls"][0][1][2] == [{"ParameterName": "log_connections", "ApplyMethod": "immediate"}]
    assert rds["calls"][1][1][2] == [{"ParameterName": "max_connections", "ParameterValue": "100",
                                      "ApplyMethod": "pending-reboot"}]
    assert rds["calls"][2][1] == (ARN, ["owner"])


def test_without_purge_parameters_set_by_hand_stay(rds):
    rds.update(group=existing_group(), tags={"project": "wanzami"}, parameters=[
        catalog_entry("log_connections", "1", source="user", data_type="boolean"),
        *FRESH_CATALOG[:3],
    ])
    changed, _group, _diff = group_mod.ensure_present(group_module(purge_parameters=False), None)
    assert changed
    assert names(rds["calls"]) == ["modify_parameters"]


def test_booleans_are_sent_as_one_and_zero(rds):
    rds.update(group=existing_group(), tags={"project": "wanzami"}, parameters=FRESH_CATALOG)
    group_mod.ensure_present(group_module(parameters={"log_connections": "on", "log_statement": True}), None)
    sent = {p["ParameterName"]: p["ParameterValue"] for p in rds["calls"][0][1][2]}
    assert sent == {"log_connections": "1", "log_statement": "1"}


def test_unknown_and_fixed_parameters_fail_by_name(rds):
    rds.update(group=existing_group(), parameters=FRESH_CATALOG)
    module = group_module(parameters={"max_conections": 100, "rds.extensions": "postgis"})
    expected = r"max_conections is not a parameter of the postgres16 family; rds.extensions cannot be modified"
    with pytest.raises(Failed, match=expected):
        group_mod.ensure_present(module, None)
    assert rds["calls"] == []


def test_a_listing_of_set_parameters_only_is_trusted_by_name(rds):
    # Some emulators list only the parameters set on a group, without their catalog metadata.
    rds.update(group=existing_group(), tags={"project": "wanzami"},
               parameters=[{"ParameterName": "max_connections", "ParameterValue": "100", "ApplyMethod": "pending-reboot"}])
    changed, _group, _diff = group_mod.ensure_present(group_module(), None)
    assert changed
    sent = rds["calls"][0][1][2]
    assert [p["ParameterName"] for p in sent] == ["log_min_duration_statement", "log_statement"]
    assert {p["ApplyMethod"] for p in sent} == {"pending-reboot"}


def test_the_family_of_an_existing_group_cannot_change(rds):
    rds.update(group=existing_group(family="postgres15"))
    with pytest.raises(Failed, match="has the family postgres15, not postgres16"):
        group_mod.ensure_present(group_module(), None)


# ---- rds_master_user_secret --------------------------------------------------


@pytest.fixture
def db(monkeypatch):
    state = {"instance": None, "cluster": None, "calls": []}

    def modified(kind):
        def call(client, **params):
            state["calls"].append((f"modify_db_{kind}", params))
            state[kind] = dict(state[kind], MasterUserSecret={"SecretArn": SECRET_ARN, "SecretStatus": "creating"})
            return state[kind]
        return call

    def waited(kind):
        def call(client, identifier, delay, attempts):
            state["calls"].append((f"wait_db_{kind}_available", identifier))
            state[kind]["MasterUserSecret"]["SecretStatus"] = "active"
        return call

    kinds = {kind: dict(calls, describe=lambda client, identifier, kind=kind: state[kind], modify=modified(kind),
                        wait=waited(kind))
             for kind, calls in secret_mod.KINDS.items()}
    monkeypatch.setattr(secret_mod, "KINDS", kinds)
    return state


def secret_module(check_mode=False, **params):
    defaults = {"kms_key_id": None, "wait": True, "wait_timeout": 1800}
    defaults.update(params)
    return FakeModule(check_mode=check_mode, **defaults)


@pytest.mark.parametrize("check_mode", [True, False])
def test_the_master_password_is_handed_to_secrets_manager(db, check_mode):
    db["instance"] = {"DBInstanceIdentifier": "wanzami-db"}
    changed, secret, diff = secret_mod.ensure_managed(secret_module(check_mode=check_mode), None, "instance", "wanzami-db")
    assert changed
    assert diff == {"before": {"manage_master_user_password": False}, "after": {"manage_master_user_password": True}}
    if check_mode:
        assert db["calls"] == []
        assert secret == {}
        return
    assert db["calls"] == [
        ("modify_db_instance", {"DBInstanceIdentifier": "wanzami-db", "ManageMasterUserPassword": True,
                                "ApplyImmediately": True}),
        ("wait_db_instance_available", "wanzami-db"),
    ]
    assert secret == {"secret_arn": SECRET_ARN, "secret_status": "active"}


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_managed_password_is_left_alone(db, check_mode):
    db["cluster"] = {"DBClusterIdentifier": "wanzami-db",
                     "MasterUserSecret": {"SecretArn": SECRET_ARN, "SecretStatus": "active", "KmsKeyId": "arn:aws:kms:k/1"}}
    module = secret_module(check_mode=check_mode, kms_key_id="2")
    changed, secret, _diff = secret_mod.ensure_managed(module, None, "cluster", "wanzami-db")
    assert not changed
    assert db["calls"] == []
    assert secret["secret_arn"] == SECRET_ARN
    assert module.warnings and "kms_key_id only applies when the management is turned on" in module.warnings[0]


def test_a_cluster_gets_its_key_and_no_wait_when_asked(db):
    db["cluster"] = {"DBClusterIdentifier": "wanzami-db"}
    module = secret_module(kms_key_id="alias/wanzami", wait=False)
    changed, _secret, _diff = secret_mod.ensure_managed(module, None, "cluster", "wanzami-db")
    assert changed
    assert db["calls"] == [("modify_db_cluster", {"DBClusterIdentifier": "wanzami-db", "ManageMasterUserPassword": True,
                                                  "ApplyImmediately": True, "MasterUserSecretKmsKeyId": "alias/wanzami"})]


def test_a_missing_database_is_a_change_in_check_mode_and_an_error_otherwise(db):
    changed, secret, _diff = secret_mod.ensure_managed(secret_module(check_mode=True), None, "instance", "wanzami-db")
    assert changed and secret == {}
    with pytest.raises(Failed, match="DB instance wanzami-db does not exist"):
        secret_mod.ensure_managed(secret_module(), None, "instance", "wanzami-db")


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_deletes_an_existing_group(rds, monkeypatch, check_mode):
    rds["group"] = existing_group()
    deleted = []
    monkeypatch.setattr(group_mod, "delete_parameter_group", lambda client, scope, name: deleted.append((scope, name)))
    changed, group, diff = group_mod.ensure_absent(group_module(check_mode=check_mode, state="absent", family=None), None)
    assert changed
    assert group == {"name": "wanzami-db-postgres16", "scope": "instance"}
    assert diff == {"before": {"family": "postgres16", "description": "wanzami-db parameters (postgres16)"}, "after": {}}
    assert deleted == ([] if check_mode else [("instance", "wanzami-db-postgres16")])


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_on_a_missing_group_changes_nothing(rds, monkeypatch, check_mode):
    # Also what an emulator's empty answer to DescribeDBParameterGroups reads as.
    monkeypatch.setattr(group_mod, "delete_parameter_group", lambda *args: pytest.fail("nothing to delete"))
    changed, _, diff = group_mod.ensure_absent(group_module(check_mode=check_mode, state="absent", scope="cluster"), None)
    assert not changed and diff == {"before": {}, "after": {}}


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_keeps_a_group_without_the_ownership_tags(rds, monkeypatch, check_mode):
    required = {"project": "wanzami", "managed-by": "ansible"}
    rds["group"] = existing_group()
    rds["tags"] = {"team": "data"}
    deleted = []
    monkeypatch.setattr(group_mod, "delete_parameter_group", lambda client, scope, name: deleted.append((scope, name)))
    changed, group, _ = group_mod.ensure_absent(
        group_module(check_mode=check_mode, state="absent", family=None, only_if_tagged=required), None)
    assert not changed and deleted == []
    assert group["kept"].startswith("DB parameter group wanzami-db-postgres16 is not ours (it lacks the ownership tags "
                                    "managed-by=ansible, project=wanzami)")
    rds["tags"] = dict(required)
    changed, group, _ = group_mod.ensure_absent(
        group_module(check_mode=check_mode, state="absent", family=None, only_if_tagged=required), None)
    assert changed and "kept" not in group
    assert deleted == ([] if check_mode else [("instance", "wanzami-db-postgres16")])
