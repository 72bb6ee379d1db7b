"""Uptime, MTBF and MTTR from Prometheus' query API (answers recorded from a real Prometheus, Debian's package,
on loopback: 2 minutes of history of one target that was down for ~12 s once)."""

from __future__ import annotations

import pytest
from ansible_collections.iac.core.plugins.module_utils.verify import checks, history
from conftest import data

# When the answers were recorded (their evaluation time).
ASKED = "2026-12-02T11:50:56+00:00"


def answers(**override):
    found = {
        name: {"status": 200, "json": data(f"prometheus-{name.replace('_', '-')}.json")} for name in history.QUERIES
    }
    found.update(override)
    return found


def judged(settings, section):
    built = checks.build({"now": ASKED, "availability": {}, "history": section}, settings)["checks"]
    return {
        c["name"].split(".", 1)[1]: c
        for c in built
        if c["name"] in ("availability.uptime", "availability.mtbf", "availability.mttr")
    }


def test_the_queries_sent_name_the_series_and_the_window():
    sent = history.queries('up{job="app"}', 30)
    assert sent["availability"] == 'avg(avg_over_time(up{job="app"}[30d]))'
    assert sent["failures"] == 'sum(resets(up{job="app"}[30d]))'
    assert sent["first_sample"] == 'min(min_over_time(timestamp(up{job="app"})[30d:1m]))'


def test_without_monitoring_the_three_are_unavailable(settings):
    found = judged(settings, {"url": ""})
    assert {c["status"] for c in found.values()} == {"unavailable"}
    assert all(c["value"] is None and "verify_prometheus_url is empty" in c["detail"] for c in found.values())


def test_less_history_than_the_window_is_unavailable_with_the_values_so_far(settings):
    found = judged(settings, {"url": "http://127.0.0.1:9090", "answers": answers()})
    assert {c["status"] for c in found.values()} == {"unavailable"}
    assert found["uptime"]["value"] == pytest.approx(86.6667, abs=0.001)
    assert found["mtbf"]["value"] is not None
    assert found["mttr"]["value"] > 0
    assert "insufficient history: 0.032 h of history in the 720.0 h window" in found["uptime"]["detail"]


def test_partial_history_judged_when_the_user_accepts_it(settings):
    settings["verify_accept_partial_history"] = True
    found = judged(settings, {"url": "http://127.0.0.1:9090", "answers": answers()})
    assert found["uptime"]["status"] == "fail"  # 86.7 % < 99.9 %
    assert found["mtbf"]["status"] == "fail"  # ~0.03 h between failures < 720 h
    assert found["mttr"]["status"] == "pass"  # ~0.26 min < 30 min
    assert found["mttr"]["value"] == pytest.approx(
        (1 - 0.8666666666666668) * (1796212256.262 - 1796212139.395) / 60, abs=0.01
    )


def test_a_full_window_without_failure_passes_and_says_so(settings):
    asked = data("prometheus-first-sample.json")
    start = 1796212256.262 - 30 * 86400
    asked["data"]["result"][0]["value"][1] = str(start)
    full = answers(
        first_sample={"json": asked},
        availability={
            "json": {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "1"]}]},
            }
        },
        failures={
            "json": {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "0"]}]},
            }
        },
    )
    found = judged(settings, {"url": "http://127.0.0.1:9090", "answers": full})
    assert {c["status"] for c in found.values()} == {"pass"}
    assert found["mtbf"]["display"] == "no failure in 720.0 h"
    assert found["uptime"]["value"] == 100.0


def test_a_series_with_no_history_a_bad_query_or_no_answer_is_an_error(settings):
    for broken in (
        {"json": data("prometheus-empty.json")},
        {"json": data("prometheus-bad-query.json")},
        {"status": -1, "msg": "Status code was -1: Connection refused"},
    ):
        found = judged(settings, {"url": "http://127.0.0.1:9090", "answers": answers(availability=broken)})
        assert {c["status"] for c in found.values()} == {"error"}, broken
        assert "127.0.0.1:9090" in found["uptime"]["detail"]
