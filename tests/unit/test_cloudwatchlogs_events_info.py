"""wanzami.infra.cloudwatchlogs_events_info with the boto layer patched at the module_utils seam, and its wrapper
against botocore's Stubber."""

import pytest

from ansible_collections.wanzami.infra.plugins.module_utils import logs
from ansible_collections.wanzami.infra.plugins.modules import cloudwatchlogs_events_info as mod
from tests.unit.stubs import stubbed_client

GROUP = "/ecs/wanzami-backend"
NOW = 1_800_000_000_000
MINUTE = 60_000


def params(**changes):
    values = {"log_group_name": GROUP, "log_stream_name_prefix": "", "filter_pattern": "", "lines": 50,
              "since_minutes": None, "scan_limit": 10000}
    values.update(changes)
    return values


def event(minutes_ago, message, stream="backend/api/t1"):
    return {"timestamp": NOW - minutes_ago * MINUTE, "message": message + "\n", "logStreamName": stream,
            "eventId": f"{minutes_ago:06d}"}


class Logs:
    """FilterLogEvents over a list of events, two to a page, recording each request."""

    def __init__(self, events, exists=True):
        self.events, self.exists, self.requests = events, exists, []

    def __call__(self, client, **request):
        self.requests.append(request)
        if not self.exists:
            return None
        found = [e for e in self.events if request.get("startTime", 0) <= e["timestamp"] <= request["endTime"]
                 and request.get("filterPattern", "") in e["message"]]
        start = int(request.get("nextToken", 0))
        page = {"events": found[start:start + 2]}
        if start + 2 < len(found):
            page["nextToken"] = str(start + 2)
        return page


@pytest.fixture
def aws(monkeypatch):
    def install(events, exists=True):
        fake = Logs(events, exists)
        monkeypatch.setattr(mod, "filter_log_events", fake)
        return fake
    return install


def test_the_last_lines_oldest_first_from_the_first_window_that_holds_enough(aws):
    fake = aws([event(30, "c"), event(5, "b", "backend/api/t2"), event(20, "a"), event(1, "d")])
    result = mod.read(None, params(lines=3), NOW)
    assert [e["message"] for e in result["events"]] == ["a", "b", "d"]
    assert result["events"][-1] == {"timestamp": NOW - MINUTE, "time": "2027-01-15T07:59:00.000Z",
                                    "log_stream_name": "backend/api/t1", "message": "d", "event_id": "000001"}
    # 15 minutes held two, the hour all four (two pages).
    assert [r.get("startTime") for r in fake.requests] == [NOW - 15 * MINUTE, NOW - 60 * MINUTE, NOW - 60 * MINUTE]
    assert (result["searched_minutes"], result["scanned"], result["truncated"]) == (60, 4, False)


def test_too_few_events_search_the_whole_group(aws):
    fake = aws([event(60 * 24 * 400, "old")])
    result = mod.read(None, params(), NOW)
    assert [e["message"] for e in result["events"]] == ["old"]
    assert result["searched_minutes"] is None
    assert "startTime" not in fake.requests[-1] and len(fake.requests) == len(mod.WINDOWS)


def test_since_minutes_is_one_window_and_lines_zero_keeps_all(aws):
    fake = aws([event(m, str(m)) for m in (50, 40, 30, 20, 10)])
    result = mod.read(None, params(since_minutes=35, lines=0), NOW)
    assert [e["message"] for e in result["events"]] == ["30", "20", "10"]
    assert {r["startTime"] for r in fake.requests} == {NOW - 35 * MINUTE}
    assert mod.read(None, params(since_minutes=35, lines=2), NOW)["events"][0]["message"] == "20"


def test_the_filter_pattern_and_the_stream_prefix_are_passed_and_the_prefix_applied(aws):
    fake = aws([event(3, "ERROR x", "worker/worker-cron/t1"), event(2, "ERROR y", "worker/worker-transcode/t2"),
                event(1, "fine", "worker/worker-cron/t1")])
    result = mod.read(None, params(filter_pattern="ERROR", log_stream_name_prefix="worker/worker-cron/"), NOW)
    assert [e["message"] for e in result["events"]] == ["ERROR x"]
    assert fake.requests[0]["filterPattern"] == "ERROR"
    assert fake.requests[0]["logStreamNamePrefix"] == "worker/worker-cron/"


def test_the_scan_limit_stops_reading_and_says_so(aws):
    fake = aws([event(m, str(m)) for m in range(10, 0, -1)])
    result = mod.read(None, params(scan_limit=4, lines=2), NOW)
    assert result["truncated"] and result["scanned"] == 4
    assert [e["message"] for e in result["events"]] == ["8", "7"]
    assert [r["limit"] for r in fake.requests] == [4, 2]


def test_a_missing_group_is_an_answer(aws):
    aws([], exists=False)
    assert mod.read(None, params(), NOW) == {"log_group_exists": False, "events": [], "searched_minutes": None,
                                             "scanned": 0, "truncated": False}


def test_the_wrapper_sends_what_filter_log_events_takes_and_a_missing_group_is_none():
    with stubbed_client("logs") as (client, stubber):
        request = {"logGroupName": GROUP, "startTime": 1, "endTime": 2, "logStreamNamePrefix": "backend/",
                   "filterPattern": "ERROR", "limit": 50}
        stubber.add_response("filter_log_events", {"events": [{"message": "x"}]}, request)
        stubber.add_client_error("filter_log_events", "ResourceNotFoundException", expected_params=request)
        assert logs.filter_log_events(client, **request)["events"] == [{"message": "x"}]
        assert logs.filter_log_events(client, **request) is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"lines": -1}, "lines must be 0 or more (got -1)"),
    ({"since_minutes": 0}, "since_minutes must be 1 or more (got 0)"),
    ({"scan_limit": 0}, "scan_limit must be 1 or more (got 0)"),
])
def test_bad_numbers_fail_before_any_call(monkeypatch, changes, message):
    class Failed(Exception):
        pass

    class FakeModule:
        def __init__(self, **kwargs):
            self.params = params(**changes)

        def fail_json(self, msg):
            raise Failed(msg)

        def client(self, service):
            raise AssertionError("no client before the inputs are checked")

    monkeypatch.setattr(mod, "WanzamiInfraAWSModule", FakeModule)
    with pytest.raises(Failed, match=message.replace("(", r"\(").replace(")", r"\)")):
        mod.main()
