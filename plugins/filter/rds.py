# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline validation of the rds role's inputs, so bad input fails before any AWS call."""

import re

ENGINE_MODES = ("instance", "aurora_serverless_v2")
PASSWORD_SOURCES = ("managed", "ssm")
SUBNET_TIERS = ("private", "database")
STORAGE_TYPES = ("gp2", "gp3", "io1")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# The writer of an Aurora cluster is <name>-writer, and identifiers stop at 63 characters.
WRITER_SUFFIX = "-writer"
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
SQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
HHMM = r"([01][0-9]|2[0-3]):([0-5][0-9])"
BACKUP_WINDOW = re.compile(rf"^{HHMM}-{HHMM}$")
MAINTENANCE_WINDOW = re.compile(rf"^([A-Za-z]{{3}}):{HHMM}-([A-Za-z]{{3}}):{HHMM}$")
SSM_NAME = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")
# Performance Insights keeps 7 days (free), a whole number of months (31 days each) or 731 days.
PI_RETENTIONS = (7, 731, *range(31, 31 * 23 + 1, 31))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(settings, name):
    """The setting as an int when it is one or spells one (extra vars arrive as text), else as given."""
    value = settings.get(name)
    if isinstance(value, str) and re.match(r"^-?[0-9]+$", value.strip()):
        return int(value)
    return value


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _identifier_errors(name, limit):
    if not isinstance(name, str) or not IDENTIFIER.match(name) or len(name) > limit or name.endswith("-") or "--" in name:
        return [
            f"rds_name {name!r} must be 1 to {limit} letters, digits and hyphens, start with a letter, "
            "and neither end with a hyphen nor contain two in a row"
        ]
    return []


def _backup_window(value, errors):
    """(start, end) in minutes of the day, end past start; None when invalid."""
    match = BACKUP_WINDOW.match(str(value))
    if not match:
        errors.append(f"rds_backup_window {value!r} must look like hh24:mi-hh24:mi in UTC (for example 03:00-04:00)")
        return None
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end <= start:
        end += MINUTES_PER_DAY
    if end - start < 30:
        errors.append(f"rds_backup_window {value!r} must last at least 30 minutes")
        return None
    return start, end


def _maintenance_window(value, errors):
    """(start, end) in minutes of the week from Monday 00:00, end past start; None when invalid."""
    match = MAINTENANCE_WINDOW.match(str(value))
    if not match or match[1].lower() not in DAYS or match[4].lower() not in DAYS:
        errors.append(
            f"rds_maintenance_window {value!r} must look like ddd:hh24:mi-ddd:hh24:mi in UTC, ddd one of "
            f"{', '.join(DAYS)} (for example sun:04:00-sun:05:00)"
        )
        return None
    start = DAYS.index(match[1].lower()) * MINUTES_PER_DAY + int(match[2]) * 60 + int(match[3])
    end = DAYS.index(match[4].lower()) * MINUTES_PER_DAY + int(match[5]) * 60 + int(match[6])
    if end <= start:
        end += MINUTES_PER_WEEK
    if end - start < 30:
        errors.append(f"rds_maintenance_window {value!r} must last at least 30 minutes")
        return None
    if end - start > MINUTES_PER_DAY:
        errors.append(f"rds_maintenance_window {value!r} must last at most 24 hours")
        return None
    return start, end


def windows_overlap(backup, maintenance):
    """Whether a daily backup window (minutes of the day) meets a weekly maintenance window.

    Windows that only touch (03:00-04:00 and sun:04:00-sun:05:00) do not overlap, as on AWS.
    """
    b_start, b_end = backup
    m_start, m_end = maintenance
    # The backup runs every day; the day before Monday covers a backup spilling into Monday,
    # day 7 a maintenance window spilling from Sunday into the next week.
    return any(day * MINUTES_PER_DAY + b_start < m_end and m_start < day * MINUTES_PER_DAY + b_end for day in range(-1, 8))


def _storage_errors(s, errors):
    storage_type = s.get("rds_storage_type")
    if storage_type not in STORAGE_TYPES:
        errors.append(f"rds_storage_type {storage_type!r} must be one of {', '.join(STORAGE_TYPES)}")
    allocated, maximum = _whole(s, "rds_allocated_storage"), _whole(s, "rds_max_allocated_storage")
    floor = 100 if storage_type == "io1" else 20
    if not _is_int(allocated) or not floor <= allocated <= 65536:
        errors.append(f"rds_allocated_storage {allocated!r} must be a whole number of GiB from {floor} ({storage_type}) to 65536")
    elif not _is_int(maximum) or not (maximum == 0 or allocated <= maximum <= 65536):
        errors.append(
            f"rds_max_allocated_storage {maximum!r} must be 0 (no storage autoscaling) or between "
            f"rds_allocated_storage ({allocated}) and 65536"
        )
    iops, throughput = _whole(s, "rds_iops"), _whole(s, "rds_storage_throughput")
    if not _is_int(iops) or not (iops == 0 or 1000 <= iops <= 256000):
        errors.append(f"rds_iops {iops!r} must be 0 (the storage type's baseline) or from 1000 to 256000")
    elif iops and storage_type not in ("gp3", "io1"):
        errors.append(f"rds_iops is only for gp3 and io1 storage, not {storage_type}")
    if not _is_int(throughput) or not (throughput == 0 or 125 <= throughput <= 4000):
        errors.append(f"rds_storage_throughput {throughput!r} must be 0 (gp3's baseline) or from 125 to 4000 MiB/s")
    elif throughput and storage_type != "gp3":
        errors.append(f"rds_storage_throughput is only for gp3 storage, not {storage_type}")


def _capacity_errors(s, errors):
    low, high = _number(s.get("rds_serverless_min_capacity")), _number(s.get("rds_serverless_max_capacity"))
    for name, value in (("rds_serverless_min_capacity", low), ("rds_serverless_max_capacity", high)):
        if value is None or value * 2 != int(value * 2):
            errors.append(f"{name} {s.get(name)!r} must be a number of ACUs in steps of 0.5 (0.5, 1, 1.5, ...)")
            return
    if not 0.5 <= low <= high <= 256:
        errors.append(
            f"rds_serverless_min_capacity ({low:g}) and rds_serverless_max_capacity ({high:g}) must satisfy "
            "0.5 <= min <= max <= 256 ACUs"
        )


def _secret_errors(s, errors):
    source = s.get("rds_master_password_source")
    if source not in PASSWORD_SOURCES:
        errors.append(f"rds_master_password_source {source!r} must be one of {', '.join(PASSWORD_SOURCES)}")
    if source != "ssm":
        return
    path = s.get("rds_secrets_path")
    if not isinstance(path, str) or not SSM_NAME.match(path):
        errors.append(
            f"rds_secrets_path {path!r} must be the SSM path playbooks/secrets.yml writes to, such as /wanzami/production "
            "(rds_master_password_source is ssm)"
        )
    for name in ("rds_password_parameter", "rds_database_url_parameter"):
        value = s.get(name)
        if not isinstance(value, str) or not SSM_NAME.match(value):
            errors.append(f"{name} {value!r} must be an SSM parameter name such as /wanzami/production/DATABASE_URL")
    if s.get("rds_password_parameter") == s.get("rds_database_url_parameter"):
        errors.append("rds_password_parameter and rds_database_url_parameter must be two different parameters")


def rds_input_errors(settings):
    """Return a list of human-readable problems with the rds role's inputs (empty when valid).

    ``settings`` maps each input's variable name to its value; messages name the variable.
    """
    s = settings
    errors = []
    mode = s.get("rds_engine_mode")
    if mode not in ENGINE_MODES:
        errors.append(f"rds_engine_mode {mode!r} must be one of {', '.join(ENGINE_MODES)}")
    aurora = mode == "aurora_serverless_v2"
    errors += _identifier_errors(s.get("rds_name"), 63 - len(WRITER_SUFFIX) if aurora else 63)
    if s.get("rds_subnet_tier") not in SUBNET_TIERS:
        errors.append(f"rds_subnet_tier {s.get('rds_subnet_tier')!r} must be one of {', '.join(SUBNET_TIERS)}")
    if not re.match(r"^[0-9]+(\.[0-9]+)*$", str(s.get("rds_engine_version"))):
        errors.append(f"rds_engine_version {s.get('rds_engine_version')!r} must be a PostgreSQL version such as 16 or 16.4")
    if not aurora and not re.match(r"^db\.[a-z0-9]+\.[a-z0-9]+$", str(s.get("rds_instance_class"))):
        errors.append(f"rds_instance_class {s.get('rds_instance_class')!r} must be an instance class such as db.t4g.micro")
    for name in ("rds_db_name", "rds_master_username"):
        value = s.get(name)
        if not isinstance(value, str) or not SQL_NAME.match(value) or len(value) > 63:
            errors.append(f"{name} {value!r} must be 1 to 63 letters, digits and underscores, starting with a letter")
        elif name == "rds_master_username" and (value.lower() == "rdsadmin" or value.lower().startswith(("pg_", "rds_"))):
            errors.append(f"rds_master_username {value!r} is reserved by RDS or PostgreSQL")
    port = _whole(s, "rds_port")
    if not _is_int(port) or not 1150 <= port <= 65535:
        errors.append(f"rds_port {port!r} must be between 1150 and 65535 (RDS refuses lower ports)")

    if not aurora:
        _storage_errors(s, errors)
    else:
        _capacity_errors(s, errors)

    retention = _whole(s, "rds_backup_retention")
    low = 1 if aurora else 0
    if not _is_int(retention) or not low <= retention <= 35:
        errors.append(f"rds_backup_retention {retention!r} must be between {low} and 35 days")
    backup = _backup_window(s.get("rds_backup_window"), errors)
    maintenance = _maintenance_window(s.get("rds_maintenance_window"), errors)
    if backup and maintenance and windows_overlap(backup, maintenance):
        errors.append(
            f"rds_backup_window {s.get('rds_backup_window')} overlaps rds_maintenance_window "
            f"{s.get('rds_maintenance_window')} (backups run every day; the windows may touch but not overlap)"
        )

    # Checked even while Performance Insights is off: turning it on later must not meet a bad value at AWS.
    if _whole(s, "rds_performance_insights_retention") not in PI_RETENTIONS:
        errors.append(
            f"rds_performance_insights_retention {s.get('rds_performance_insights_retention')!r} must be 7, "
            "a multiple of 31 up to 713, or 731 days"
        )
    for name in ("rds_parameters", "rds_cluster_parameters"):
        value = s.get(name)
        if not isinstance(value, dict) or any(isinstance(v, dict | list) or v is None for v in value.values()):
            errors.append(f"{name} must map parameter names to single values (text, numbers or booleans)")
    query = s.get("rds_database_url_query")
    if not isinstance(query, str) or (query and not query.startswith("?")):
        errors.append(f"rds_database_url_query {query!r} must be empty or start with ? (for example ?sslmode=require)")
    _secret_errors(s, errors)
    return errors


class FilterModule:
    def filters(self):
        return {"rds_input_errors": rds_input_errors}
