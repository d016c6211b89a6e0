"""Unit tests of the rds role's offline input checks (filter rds_input_errors)."""

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, REPO / "plugins" / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rds = load("filter/rds.py", "wanzami_filter_rds")

# The role's own defaults plus seed 000's required inputs: a valid starting point.
DEFAULTS = yaml.safe_load((REPO / "roles" / "rds" / "defaults" / "main.yml").read_text())


def settings(**overrides):
    values = dict(DEFAULTS)
    values.update(rds_name="wanzami-db", rds_db_name="wanzami", rds_master_username="wanzami",
                  rds_secrets_path="/wanzami/production",
                  rds_password_parameter="/wanzami/production/DATABASE_PASSWORD",
                  rds_database_url_parameter="/wanzami/production/DATABASE_URL",
                  rds_parameters={"max_connections": 100, "log_statement": "ddl", "log_min_duration_statement": 1000})
    values.update(overrides)
    return values


def errors(**overrides):
    return rds.rds_input_errors(settings(**overrides))


def test_seed_003_instance_and_seed_004_aurora_are_valid():
    assert errors() == []
    assert errors(rds_engine_mode="aurora_serverless_v2", rds_master_password_source="managed",
                  rds_serverless_min_capacity=0.5, rds_serverless_max_capacity=16) == []


def test_the_defaults_file_agrees_with_seed_003():
    assert DEFAULTS["rds_backup_window"] == "03:00-04:00"
    assert DEFAULTS["rds_maintenance_window"] == "sun:04:00-sun:05:00"
    assert (DEFAULTS["rds_allocated_storage"], DEFAULTS["rds_max_allocated_storage"]) == (20, 100)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"rds_name": "1db"}, "rds_name '1db' must be 1 to 63 letters"),
        ({"rds_name": "wanzami_db"}, "rds_name 'wanzami_db' must be"),
        ({"rds_name": "db-"}, "rds_name 'db-' must be"),
        ({"rds_name": "a--b"}, "rds_name 'a--b' must be"),
        ({"rds_name": "a" * 64}, "must be 1 to 63 letters"),
        # The writer is <name>-writer, so a cluster name stops at 56.
        ({"rds_name": "a" * 57, "rds_engine_mode": "aurora_serverless_v2"}, "must be 1 to 56 letters"),
        ({"rds_engine_mode": "serverless"}, "rds_engine_mode 'serverless' must be one of instance, aurora_serverless_v2"),
        ({"rds_master_password_source": "vault"}, "rds_master_password_source 'vault' must be one of managed, ssm"),
        ({"rds_subnet_tier": "public"}, "rds_subnet_tier 'public' must be one of private, database"),
        ({"rds_engine_version": "sixteen"}, "rds_engine_version 'sixteen'"),
        ({"rds_instance_class": "t4g.micro"}, "rds_instance_class 't4g.micro'"),
        ({"rds_db_name": "wanzami-db"}, "rds_db_name 'wanzami-db' must be 1 to 63 letters, digits and underscores"),
        ({"rds_master_username": "rdsadmin"}, "rds_master_username 'rdsadmin' is reserved"),
        ({"rds_port": 80}, "rds_port 80 must be between 1150 and 65535"),
        ({"rds_storage_type": "standard"}, "rds_storage_type 'standard' must be one of gp2, gp3, io1"),
        ({"rds_allocated_storage": 19}, "rds_allocated_storage 19 must be a whole number of GiB from 20 (gp3)"),
        ({"rds_storage_type": "io1", "rds_allocated_storage": 50, "rds_iops": 3000}, "from 100 (io1)"),
        ({"rds_max_allocated_storage": 10}, "rds_max_allocated_storage 10 must be 0 (no storage autoscaling) or between "
                                            "rds_allocated_storage (20)"),
        ({"rds_iops": 500}, "rds_iops 500 must be 0"),
        ({"rds_storage_type": "gp2", "rds_iops": 3000}, "rds_iops is only for gp3 and io1 storage, not gp2"),
        ({"rds_storage_type": "gp2", "rds_storage_throughput": 125}, "rds_storage_throughput is only for gp3"),
        ({"rds_storage_throughput": 100}, "rds_storage_throughput 100 must be 0"),
        ({"rds_backup_retention": 36}, "rds_backup_retention 36 must be between 0 and 35 days"),
        ({"rds_backup_retention": -1}, "rds_backup_retention -1 must be between 0 and 35 days"),
        ({"rds_backup_retention": 0, "rds_engine_mode": "aurora_serverless_v2"}, "must be between 1 and 35 days"),
        ({"rds_backup_window": "3:00-4:00"}, "rds_backup_window '3:00-4:00' must look like hh24:mi-hh24:mi"),
        ({"rds_backup_window": "24:00-01:00"}, "rds_backup_window '24:00-01:00' must look like"),
        ({"rds_backup_window": "03:00-03:20"}, "rds_backup_window '03:00-03:20' must last at least 30 minutes"),
        ({"rds_maintenance_window": "sunday:04:00-sunday:05:00"},
         "rds_maintenance_window 'sunday:04:00-sunday:05:00' must look like"),
        ({"rds_maintenance_window": "sun:04:00-sun:04:10"}, "must last at least 30 minutes"),
        ({"rds_maintenance_window": "sun:04:00-mon:05:00"}, "must last at most 24 hours"),
        ({"rds_backup_window": "03:30-04:30"},
         "rds_backup_window 03:30-04:30 overlaps rds_maintenance_window sun:04:00-sun:05:00"),
        ({"rds_performance_insights": True, "rds_performance_insights_retention": 30},
         "rds_performance_insights_retention 30 must be 7, a multiple of 31"),
        ({"rds_parameters": {"shared_preload_libraries": ["pg_stat_statements"]}}, "rds_parameters must map parameter names"),
        ({"rds_database_url_query": "sslmode=require"}, "rds_database_url_query 'sslmode=require' must be empty or start with ?"),
        ({"rds_secrets_path": ""}, "rds_secrets_path '' must be the SSM path playbooks/secrets.yml writes to"),
        ({"rds_database_url_parameter": "DATABASE_URL"},
         "rds_database_url_parameter 'DATABASE_URL' must be an SSM parameter name"),
        ({"rds_database_url_parameter": "/wanzami/production/DATABASE_PASSWORD"}, "must be two different parameters"),
    ],
)
def test_bad_inputs_are_named(overrides, expected):
    found = errors(**overrides)
    assert any(expected in message for message in found), found


def test_the_ssm_paths_do_not_matter_when_aws_manages_the_password():
    assert errors(rds_master_password_source="managed", rds_secrets_path="", rds_password_parameter="/DATABASE_PASSWORD",
                  rds_database_url_parameter="/DATABASE_URL") == []


def test_storage_is_not_checked_in_aurora_mode_nor_capacity_in_instance_mode():
    assert errors(rds_engine_mode="aurora_serverless_v2", rds_allocated_storage=5) == []
    assert errors(rds_serverless_min_capacity=0.25) == []


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 16, "must satisfy 0.5 <= min <= max <= 256 ACUs"),
        (0.25, 16, "rds_serverless_min_capacity 0.25 must be a number of ACUs in steps of 0.5"),
        (1.5, 16, None),
        (0.6, 16, "rds_serverless_min_capacity 0.6 must be a number of ACUs in steps of 0.5"),
        (2, 1, "rds_serverless_min_capacity (2) and rds_serverless_max_capacity (1) must satisfy"),
        (0.5, 300, "must satisfy 0.5 <= min <= max <= 256 ACUs"),
        (0.5, "lots", "rds_serverless_max_capacity 'lots' must be a number of ACUs"),
        (1, 1, None),
    ],
)
def test_aurora_capacity(low, high, expected):
    found = errors(rds_engine_mode="aurora_serverless_v2", rds_serverless_min_capacity=low, rds_serverless_max_capacity=high)
    if expected is None:
        assert found == []
    else:
        assert any(expected in message for message in found), found


@pytest.mark.parametrize(
    ("backup", "maintenance", "overlap"),
    [
        # Seed 003: the windows touch at 04:00, which AWS accepts.
        ("03:00-04:00", "sun:04:00-sun:05:00", False),
        ("03:00-04:01", "sun:04:00-sun:05:00", True),
        ("04:30-05:30", "sun:04:00-sun:05:00", True),
        ("05:00-06:00", "sun:04:00-sun:05:00", False),
        # A backup across midnight meets Monday's early maintenance.
        ("23:30-00:30", "mon:00:00-mon:01:00", True),
        ("23:30-00:30", "mon:00:30-mon:01:00", False),
        # A maintenance window across the end of the week meets Monday's backup.
        ("00:00-00:30", "sun:23:45-mon:00:15", True),
        ("00:15-00:45", "sun:23:45-mon:00:15", False),
        ("23:00-23:30", "sat:23:45-sun:00:30", False),
        ("00:00-01:00", "sat:23:45-sun:00:30", True),
    ],
)
def test_windows_overlap(backup, maintenance, overlap):
    found = errors(rds_backup_window=backup, rds_maintenance_window=maintenance)
    assert any("overlaps rds_maintenance_window" in message for message in found) is overlap, found


def test_numbers_given_as_text_count_as_numbers():
    # ansible-playbook -e rds_allocated_storage=30 passes a string.
    assert errors(rds_allocated_storage="30", rds_max_allocated_storage="100", rds_port="5432", rds_backup_retention="7") == []
    assert any("rds_allocated_storage 'thirty'" in m for m in errors(rds_allocated_storage="thirty"))
