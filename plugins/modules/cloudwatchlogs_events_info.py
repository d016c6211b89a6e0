#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the wanzami.infra collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatchlogs_events_info
short_description: The last lines of a CloudWatch log group, or those of the last minutes, optionally filtered
version_added: 0.1.0
description:
  - Reads a log group's events with C(FilterLogEvents), every page, and returns them oldest first (newest last),
    each with its time and its stream.
  - With O(since_minutes), the events of the last minutes. Without it, the module looks back in growing windows
    (15 minutes, 1 hour, 6 hours, 1 day, 7 days, 30 days, then everything) until it has O(lines) events.
  - O(lines) keeps the newest of them; C(0) keeps all.
  - amazon.aws and community.aws have modules for log groups and metric filters, but none reads log events.
  - Read-only; runs the same in check mode. A missing log group is an answer, not a failure.
author:
  - Wanzami infrastructure team
options:
  log_group_name:
    description: The log group, for example C(/ecs/wanzami-backend).
    type: str
    required: true
  log_stream_name_prefix:
    description:
      - Only streams whose names start with this; an ECS container logging with C(awslogs) writes to
        C(<stream prefix>/<container name>/<task id>).
      - Applied to the events returned as well, for endpoints that ignore it.
    type: str
    default: ""
  filter_pattern:
    description: A CloudWatch Logs filter pattern, for example C(ERROR) or C("Cannot find module"); empty matches every event.
    type: str
    default: ""
  lines:
    description: Keep the newest this many events; C(0) keeps every event found.
    type: int
    default: 50
  since_minutes:
    description: Only events of the last this many minutes. Without it, see the description.
    type: int
  scan_limit:
    description:
      - At most this many events are read per window; when a window holds more, RV(truncated) is true and the events
        returned are the newest of the first O(scan_limit).
    type: int
    default: 10000
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - IAM permission needed is logs:FilterLogEvents on the log group.
"""

EXAMPLES = r"""
- name: The API's last 50 lines
  wanzami.infra.cloudwatchlogs_events_info:
    log_group_name: /ecs/wanzami-backend
    log_stream_name_prefix: backend/api/
    lines: 50
  register: api_log

- name: Every error of the workers in the last 30 minutes
  wanzami.infra.cloudwatchlogs_events_info:
    log_group_name: /ecs/wanzami-backend-workers
    filter_pattern: ERROR
    since_minutes: 30
    lines: 0
  register: worker_errors

- name: Print them
  ansible.builtin.debug:
    msg: "{{ api_log.events | map(attribute='message') | list }}"
"""

RETURN = r"""
log_group_exists:
  description: Whether the log group exists.
  returned: always
  type: bool
events:
  description: The events, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    timestamp:
      description: When it was logged, in milliseconds since the epoch.
      type: int
    time:
      description: The same in ISO 8601, UTC, to the millisecond.
      type: str
      sample: "2026-12-07T12:30:28.123Z"
    log_stream_name:
      description: Its stream.
      type: str
      sample: backend/api/0f1e2d3c4b5a69788796a5b4c3d2e1f0
    message:
      description: The line, without its trailing newline.
      type: str
    event_id:
      description: Its id.
      type: str
searched_minutes:
  description: How far back the events were looked for, in minutes; null when the whole group was.
  returned: always
  type: int
  sample: 60
scanned:
  description: How many events were read in the last window.
  returned: always
  type: int
truncated:
  description: Whether the last window held more than O(scan_limit) events (the newest may be missing).
  returned: always
  type: bool
"""

import datetime
import time

from ansible_collections.wanzami.infra.plugins.module_utils.logs import AnsibleLogsError
from ansible_collections.wanzami.infra.plugins.module_utils.logs import filter_log_events
from ansible_collections.wanzami.infra.plugins.module_utils.modules import WanzamiInfraAWSModule

# Growing windows, in minutes, when no since_minutes is given; None: the whole group.
WINDOWS = (15, 60, 6 * 60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60, None)


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_view(event):
    return {"timestamp": event.get("timestamp", 0), "time": iso(event.get("timestamp", 0)),
            "log_stream_name": event.get("logStreamName", ""), "message": event.get("message", "").rstrip("\n"),
            "event_id": event.get("eventId", "")}


def scan(client, params, start_ms, end_ms):
    """The events of [start_ms, end_ms] (start None: from the beginning), oldest first, at most scan_limit of them:
    (events, truncated), or (None, False) when the group does not exist."""
    request = {"logGroupName": params["log_group_name"], "endTime": end_ms}
    if start_ms is not None:
        request["startTime"] = start_ms
    if params["log_stream_name_prefix"]:
        request["logStreamNamePrefix"] = params["log_stream_name_prefix"]
    if params["filter_pattern"]:
        request["filterPattern"] = params["filter_pattern"]
    events, limit = [], params["scan_limit"]
    while True:
        page = filter_log_events(client, **request, limit=min(10000, limit - len(events)))
        if page is None:
            return None, False
        events.extend(e for e in page.get("events", [])
                      if e.get("logStreamName", "").startswith(params["log_stream_name_prefix"]))
        token = page.get("nextToken")
        if not token:
            break
        if len(events) >= limit:
            return sort(events)[:limit], True
        request["nextToken"] = token
    return sort(events), False


def sort(events):
    return sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))


def read(client, params, now):
    lines, since = params["lines"], params["since_minutes"]
    windows = (since,) if since is not None else WINDOWS
    for minutes in windows:
        start = now - minutes * 60 * 1000 if minutes is not None else None
        events, truncated = scan(client, params, start, now)
        if events is None:
            return {"log_group_exists": False, "events": [], "searched_minutes": since, "scanned": 0, "truncated": False}
        if truncated or (lines and len(events) >= lines):
            break
    kept = events[-lines:] if lines else events
    return {"log_group_exists": True, "events": [event_view(e) for e in kept], "searched_minutes": minutes,
            "scanned": len(events), "truncated": truncated}


def main():
    argument_spec = dict(
        log_group_name=dict(type="str", required=True),
        log_stream_name_prefix=dict(type="str", default=""),
        filter_pattern=dict(type="str", default=""),
        lines=dict(type="int", default=50),
        since_minutes=dict(type="int"),
        scan_limit=dict(type="int", default=10000),
    )
    module = WanzamiInfraAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["lines"] < 0:
        module.fail_json(msg=f"lines must be 0 or more (got {params['lines']})")
    if params["since_minutes"] is not None and params["since_minutes"] < 1:
        module.fail_json(msg=f"since_minutes must be 1 or more (got {params['since_minutes']})")
    if params["scan_limit"] < 1:
        module.fail_json(msg=f"scan_limit must be 1 or more (got {params['scan_limit']})")
    try:
        result = read(module.client("logs"), params, now_ms())
    except AnsibleLogsError as e:
        module.fail_json_aws_error(e)
    if result["truncated"]:
        window = f"the last {result['searched_minutes']} minutes" if result["searched_minutes"] else "the whole group"
        module.warn(f"{params['log_group_name']}: more than {params['scan_limit']} events in {window}; the newest may "
                    "be missing: narrow with a filter pattern or fewer minutes")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
