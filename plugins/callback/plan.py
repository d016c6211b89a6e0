# Copyright: Wanzami infrastructure team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: plan
type: aggregate
short_description: End every run with a table of what it would do, or did, by resource
version_added: 0.1.0
description:
  - >-
    At the end of a run, after the C(PLAY RECAP), prints one table of the resources the run would create, change,
    adopt, remove or refuse (a dry run with C(--check), header C(PLAN (dry run: nothing was changed))) or did
    (header C(APPLIED)); one line C(No changes.) when there is nothing to report. The stdout callback is not
    replaced: its output is unchanged, the table comes after it.
  - >-
    The first line counts each action, C(N to create, N to change, N to adopt, N to remove, N refused); the rows
    follow in that order. Rows that remove something start with C(!! REMOVE) and are shown in the error colour;
    every remove and refused row is kept, create and change rows are capped per role (O(rows_per_role)).
  - >-
    B(Explicit entries.) A task result, or a loop item's result, with a key C(wanzami_plan) (or a set_fact
    setting C(wanzami_plan)) is taken as it is, failed results included. C(wanzami_plan) is a list of mappings
    C({action, resource, detail}), C(action) one of C(create), C(change), C(adopt), C(remove), C(refused),
    C(resource) C(<kind> <name>), C(detail) a short text, and optionally C(attributes), the list of what a C(change)
    changes. A result that carries C(wanzami_plan) is not guessed at.
  - >-
    B(Guessed entries.) Every other changed result (per loop item; skipped and C(changed_when) false results are
    left out, and so are tasks forced into check mode in a real run) makes one entry. Its resource is the role's
    name (outside a role, the module's, C(ssm_parameter)) and the item's label, or else the module's C(name)
    argument, C(Name) tag or identifier (C(db_instance_identifier), C(bucket), C(family)...), or else the task name
    without its C(Prefix |). Create and change rows are capped per role, or per play outside a role.
  - >-
    It is a C(remove) when the task name says so (delete, remove, deregister, detach, purge, expire, replace,
    revoke, terminate, destroy, stop), when the module ran with C(state=absent), or when a C(purge_*) option is
    true and the result's diff shows that something was taken away.
  - >-
    It is a C(create) when the diff has no or an empty C(before) (or C(before.state=absent)), when the result says
    C(created) or (in C(msg), a text or a list) that the resource would be created, when a check-mode result of
    M(amazon.aws.ec2_vpc_subnet), M(amazon.aws.ec2_vpc_net), M(amazon.aws.iam_role), M(amazon.aws.rds_instance) or
    M(amazon.aws.cloudwatch_metric_alarm) has nothing to describe yet, or when the resource's creation time is after
    the run started.
  - >-
    Otherwise it is a C(change), with the top-level keys that differ between C(diff.before) and C(diff.after) as
    its attributes.
  - >-
    The same resource seen several times is one row; the strongest action wins (refused, then remove, then adopt,
    then create, then change), with the details of that action and every attribute changed.
requirements:
  - >-
    Enabled in C(ansible.cfg) with C(callbacks_enabled = wanzami.infra.plan) (the repository's C(ansible.cfg) does).
options:
  rows_per_role:
    description:
      - >-
        At most this many create rows and this many change rows per role (or play); the rest are counted in one line,
        C(... and 12 more changes in role ecs_service). Remove and refused rows are never left out.
    type: int
    default: 10
    ini:
      - section: callback_wanzami_plan
        key: rows_per_role
    env:
      - name: WANZAMI_PLAN_ROWS_PER_ROLE
notes:
  - >-
    Modules that neither return a diff nor say what they created (M(amazon.aws.ec2_vpc_net) and
    M(amazon.aws.ec2_vpc_subnet) in a real run) show a new resource as a change without attributes; a role can say
    better with an explicit C(wanzami_plan) entry.
"""

import datetime
import re
import time

from ansible import constants as C
from ansible import context
from ansible.errors import AnsibleError
from ansible.plugins.callback import CallbackBase

ACTIONS = ("create", "change", "adopt", "remove", "refused")
# Which action a resource seen several times shows: the first of these it had.
STRENGTH = ("refused", "remove", "adopt", "create", "change")
MARKERS = {"create": "+ create", "change": "~ change", "adopt": "= adopt", "remove": "!! REMOVE", "refused": "x refused"}
COLORS = {"create": C.COLOR_OK, "change": C.COLOR_CHANGED, "adopt": C.COLOR_SKIP, "remove": C.COLOR_ERROR,
          "refused": C.COLOR_WARN}
SUMMARY = (("create", "to create"), ("change", "to change"), ("adopt", "to adopt"), ("remove", "to remove"),
           ("refused", "refused"))
PLURALS = {"create": "creates", "change": "changes"}

DESTRUCTIVE_WORDS = re.compile(
    r"\b(delet|remov|deregist|detach|purg|expir|replac|revok|terminat|destroy|stop)\w*", re.IGNORECASE)
DESTRUCTIVE_STATES = ("absent", "deleted", "terminated", "stopped")
WOULD_CREATE = re.compile(r"\bwould (?:be |have been )?created\b|\bwould have created\b", re.IGNORECASE)
# Check-mode results that describe nothing when the resource does not exist yet (and only then).
EMPTY_WHEN_NEW = {"amazon.aws.ec2_vpc_subnet", "amazon.aws.ec2_vpc_net", "amazon.aws.iam_role", "amazon.aws.rds_instance",
                  "amazon.aws.cloudwatch_metric_alarm"}
# Result keys that describe the run, not the resource.
META_KEYS = {"changed", "failed", "skipped", "msg", "invocation", "diff", "warnings", "deprecations", "exception",
             "item", "ansible_loop_var", "ansible_index_var", "ansible_loop", "attempts", "retries", "wanzami_plan"}
# Keys of a creation time, without underscores and case: created_at, CreateDate, instance_create_time...
CREATION_TIME_SUFFIXES = ("createdat", "createdate", "createdtime", "createtime", "creationtime", "creationdate",
                          "createddate")
# Module arguments that name the resource, after name and the Name tag, where a loop gives no label.
NAMING_ARGS = ("db_instance_identifier", "db_cluster_identifier", "replication_group_id", "identifier", "bucket", "family",
               "cluster",
               "repository_name", "log_group_name", "alarm_name", "topic_name", "group_name")
# How much earlier than the run's start a creation time may be (clocks differ a little).
CLOCK_SKEW = 5
# purge_<option> names the diff key it takes things away from, where the two differ.
PURGED_KEYS = {"rules": ("ip_permissions",), "rules_egress": ("ip_permissions_egress",),
               "policies": ("managed_policies", "policies"), "cidrs": ("cidr_block", "cidr_blocks")}


def _prefixless(name):
    """'Subnets | Create or update subnets' -> 'Create or update subnets'."""
    return name.split(" | ", 1)[1].strip() if " | " in name else name.strip()


def _short_role(role):
    name = role.get_name() if hasattr(role, "get_name") else str(role)
    return name.rsplit(".", 1)[-1]


def _diffs(result):
    diff = result.get("diff")
    entries = diff if isinstance(diff, list) else [diff] if diff is not None else []
    return [d for d in entries if isinstance(d, dict) and ("before" in d or "after" in d)]


def _is_empty(value):
    return value is None or value == {} or value == [] or value == ""


def _timestamp(value):
    """Seconds since the epoch of a creation time as AWS modules return it, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value / 1000 if value > 1e11 else float(value)
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _is_creation_time(key):
    return isinstance(key, str) and key.lower().replace("_", "").endswith(CREATION_TIME_SUFFIXES)


def _creation_times(result):
    """Creation times in the result's top level and one level down (the resource it returns)."""
    found = []
    for key, value in result.items():
        if _is_creation_time(key):
            found.append(value)
        elif isinstance(value, dict) and key not in META_KEYS:
            found.extend(v for k, v in value.items() if _is_creation_time(k))
    return [t for t in map(_timestamp, found) if t is not None]


def _differing_keys(before, after):
    keys = list(before) + [k for k in after if k not in before]
    return [k for k in keys if before.get(k) != after.get(k)]


def _taken_away(before, after):
    """Whether after lacks something before had (a key, a list element)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return any(k not in after or _taken_away(v, after[k]) for k, v in before.items())
    if isinstance(before, list) and isinstance(after, list):
        return any(item not in after for item in before)
    return False


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "wanzami.infra.plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None, options=None):
        super().__init__(display=display, options=options)
        self.entries = {}  # resource -> entry, in the order first seen
        self.play_name = ""
        self.started = time.time()
        self.check_mode = bool(context.CLIARGS.get("check", False))
        self.invalid = []

    # Events.
    def v2_playbook_on_start(self, playbook):
        self.started = time.time()

    def set_play_context(self, play_context):
        if getattr(play_context, "check_mode", False):
            self.check_mode = True

    def v2_playbook_on_play_start(self, play):
        self.play_name = (play.get_name() or "").strip()

    def v2_runner_on_ok(self, result):
        self._record(result, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_item_on_ok(self, result):
        self._record(result, failed=False, item=True)

    def v2_runner_item_on_failed(self, result):
        self._record(result, failed=True, item=True)

    def v2_playbook_on_stats(self, stats):
        for line, color in self.render():
            self._display.display(line, color=color)

    # What a result says.
    def _record(self, result, failed, item=False):
        res = getattr(result, "result", None)
        if res is None:
            res = result._result
        task = getattr(result, "task", None) or result._task
        # A loop's final result repeats what each item already said.
        if not item and isinstance(res.get("results"), list):
            return
        explicit = self._explicit(res)
        group, kind, label = self._naming(task, res)
        resource = f"{kind} {label}"
        if explicit is not None:
            for entry in explicit:
                self._explicit_entry(entry, resource)
            return
        if failed or res.get("skipped") or not res.get("changed"):
            return
        if getattr(task, "check_mode", None) is True and not self.check_mode:
            return
        action, attributes, detail = self.guess(task, res, label=label)
        self.add(action, resource, group=group, attributes=attributes, detail=detail)

    @staticmethod
    def _explicit(res):
        """The result's wanzami_plan entries (a single mapping is one entry), or None when it has none."""
        facts = res.get("ansible_facts") if isinstance(res.get("ansible_facts"), dict) else {}
        if "wanzami_plan" in res:
            entries = res["wanzami_plan"]
        elif "wanzami_plan" in facts:
            entries = facts["wanzami_plan"]
        else:
            return None
        # debug var=wanzami_plan of an undefined variable says so in a string: one entry left out, not one per letter.
        return [] if entries is None else entries if isinstance(entries, list) else [entries]

    def _explicit_entry(self, entry, fallback_resource):
        if not isinstance(entry, dict) or entry.get("action") not in ACTIONS:
            self.invalid.append(entry)
            return
        resource = str(entry.get("resource") or fallback_resource)
        attributes = entry.get("attributes") if isinstance(entry.get("attributes"), list) else []
        self.add(entry["action"], resource, group=resource.split(" ", 1)[0], attributes=attributes,
                 detail=entry.get("detail") or "")

    def _naming(self, task, res):
        """(group, kind, label): the role or play (to cap rows by), its name, what in it the result is about."""
        role = getattr(task, "_role", None)
        # Outside a role, the module says what kind of resource it is (a play's name is a sentence).
        action = getattr(task, "resolved_action", None) or getattr(task, "action", None) or "task"
        kind = _short_role(role) if role else action.rsplit(".", 1)[-1]
        group = f"role {kind}" if role else f"play {self.play_name or kind}"
        label = None
        loop_var = res.get("ansible_loop_var", "item")
        if "_ansible_item_label" in res or loop_var in res:
            label = res.get("_ansible_item_label", res.get(loop_var))
            if isinstance(label, dict):
                label = next((label[k] for k in ("name", "Name", "id") if isinstance(label.get(k), str)), None)
            if res.get("_ansible_no_log"):
                label = "(censored due to no_log)"
        if label is None or label == "":
            args = (res.get("invocation") or {}).get("module_args") or {}
            tags = args.get("tags") if isinstance(args.get("tags"), dict) else {}
            names = (args.get("name"), tags.get("Name"), *(args.get(a) for a in NAMING_ARGS))
            label = next((v for v in names if isinstance(v, str) and v), None)
        if label is None or label == "":
            label = _prefixless(task.get_name() if hasattr(task, "get_name") else str(task))
        return group, kind, str(label)

    def guess(self, task, res, label=""):
        """(action, attributes, detail) of a changed result that says nothing itself."""
        args = dict((res.get("invocation") or {}).get("module_args") or {})
        for key, value in (getattr(task, "args", None) or {}).items():
            if key not in args and not (isinstance(value, str) and "{{" in value):
                args[key] = value
        name = _prefixless(task.get_name() if hasattr(task, "get_name") else "")
        diffs = _diffs(res)
        if DESTRUCTIVE_WORDS.search(name):
            # The task name is the detail, unless it already is the resource.
            return "remove", [], "" if name == label else name
        if str(args.get("state", "")).lower() in DESTRUCTIVE_STATES:
            return "remove", [], f"state={args['state']}"
        purged = self._purged(args, diffs)
        if purged:
            return "remove", purged, "purges " + ", ".join(purged)
        if self._created(task, res, diffs):
            return "create", [], ""
        attributes = []
        for diff in diffs:
            before, after = diff.get("before"), diff.get("after")
            if isinstance(before, dict) and isinstance(after, dict):
                attributes.extend(k for k in _differing_keys(before, after) if k not in attributes)
        return "change", attributes, ""

    @staticmethod
    def _purged(args, diffs):
        purging = [k[len("purge_"):] for k, v in args.items() if k.startswith("purge_") and v is True]
        taken = []
        for diff in diffs:
            before, after = diff.get("before"), diff.get("after")
            if not (isinstance(before, dict) and isinstance(after, dict)):
                continue
            for option in purging:
                names = PURGED_KEYS.get(option, ()) + (option,)
                for key in before:
                    if key in names and key not in taken and _taken_away(before[key], after.get(key)):
                        taken.append(key)
        return taken

    def _created(self, task, res, diffs):
        if diffs:
            befores = [d.get("before") for d in diffs]
            if all(_is_empty(b) or (isinstance(b, dict) and b.get("state") == "absent") for b in befores):
                if any(not _is_empty(d.get("after")) for d in diffs) or any("before" not in d for d in diffs):
                    return True
        if res.get("created") is True:
            return True
        messages = res.get("msg") if isinstance(res.get("msg"), list) else [res.get("msg")]
        if any(isinstance(m, str) and WOULD_CREATE.search(m) for m in messages):
            return True
        action = getattr(task, "resolved_action", None) or getattr(task, "action", "")
        if self.check_mode and action in EMPTY_WHEN_NEW:
            payload = [v for k, v in res.items() if k not in META_KEYS and not k.startswith("_")]
            if all(_is_empty(v) for v in payload):
                return True
        return any(t >= self.started - CLOCK_SKEW for t in _creation_times(res))

    # The table.
    def add(self, action, resource, group="", attributes=(), detail=""):
        entry = self.entries.setdefault(resource, {"resource": resource, "group": group, "actions": set(),
                                                   "attributes": [], "details": {}})
        entry["actions"].add(action)
        entry["attributes"].extend(a for a in attributes if a not in entry["attributes"])
        details = entry["details"].setdefault(action, [])
        if detail and str(detail) not in details:
            details.append(str(detail))

    def _rows_per_role(self):
        try:
            return int(self.get_option("rows_per_role"))
        except (AnsibleError, KeyError, TypeError, ValueError):
            return 10

    def render(self):
        """The lines of the table, each with its colour (None for the default)."""
        by_action = {a: [] for a in ACTIONS}
        for entry in self.entries.values():
            action = next(a for a in STRENGTH if a in entry["actions"])
            by_action[action].append(entry)
        lines = []
        if self.invalid:
            lines.append((f"wanzami_plan entries left out (not {{action: {'|'.join(ACTIONS)}, resource, detail}}): "
                          + "; ".join(map(repr, self.invalid)), C.COLOR_WARN))
        if not self.entries:
            return lines + [("No changes.", None)]
        header = "PLAN (dry run: nothing was changed)" if self.check_mode else "APPLIED"
        lines.append((header + " " + "*" * max(3, 79 - len(header)), None))
        lines.append((", ".join(f"{len(by_action[a])} {words}" for a, words in SUMMARY), None))
        cap = self._rows_per_role()
        for action in ACTIONS:
            shown = {}
            left_out = {}
            for entry in by_action[action]:
                if action in ("create", "change") and shown.get(entry["group"], 0) >= cap:
                    left_out[entry["group"]] = left_out.get(entry["group"], 0) + 1
                    continue
                shown[entry["group"]] = shown.get(entry["group"], 0) + 1
                lines.append((self._row(action, entry), COLORS[action]))
            for group, count in left_out.items():
                what = PLURALS[action] if count > 1 else action
                lines.append((f"{'':11}... and {count} more {what} in {group}", COLORS[action]))
        return lines

    @staticmethod
    def _row(action, entry):
        row = f"{MARKERS[action]:<9}  {entry['resource']}"
        if action == "change" and entry["attributes"]:
            row += f" ({', '.join(map(str, entry['attributes']))})"
        if action != "change" and entry["details"].get(action):
            row += "  " + "; ".join(entry["details"][action])
        return row
