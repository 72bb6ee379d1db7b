"""Unit tests waiting for their recordings (not collected: the name does not start with test_). Record them on the
deployed stack with `MONITOR_RECORD_FIXTURES=1 pytest tests/monitor` (writes fixtures/healthy.json,
redis-stopped.json, alertmanager-firing.json through the playbook), then move these into test_monitor_judge.py,
which has the helpers they use (recorded, raw, judge, row, monitor, copy)."""

# ruff: noqa: F821


def test_redis_stopped_is_named_with_its_log_lines_and_the_failing_health_check():
    data = recorded("redis-stopped")
    judged = judge(copy.deepcopy(data["raw"]))
    assert judged["result"] == "problem"
    assert row(judged, "redis")["problem"].startswith("not running (exited, exit code 0")
    assert judged["problems"][0].startswith("redis: not running")
    assert any(p.startswith("/api/health: ") and "HTTP 503" in p and "redis fail" in p for p in judged["problems"])
    assert [t["service"] for t in judged["log_targets"]] == ["redis"]
    assert data["logs"]["iac-redis-1"], "Redis' last log lines were recorded"
    text = monitor.report(judged, data["logs"])
    assert "--- last log lines of iac-redis-1:" in text
    last = data["logs"]["iac-redis-1"][-1]
    assert monitor._log_line(last) in text
    assert "RESULT: PROBLEM on localhost: redis: not running" in text


def test_firing_alerts_from_alertmanager_with_their_age_and_a_critical_one_fails():
    judged = judge(raw("alertmanager-firing"))
    alerts = judged["alerts"]
    assert alerts["available"]
    assert [a["name"] for a in alerts["firing"]] == ["TargetDown", "AvailabilityBudgetBurnSlow"]
    assert alerts["firing"][0]["critical"]
    assert not alerts["firing"][1]["critical"]
    assert alerts["firing"][0]["age"].startswith("7m")
    assert judged["problems"] == ["critical alert(s) firing: TargetDown"]
    text = monitor.report(judged, {})
    assert "CRITICAL: TargetDown for 7m" in text
    assert "warning: AvailabilityBudgetBurnSlow for 7m" in text


def test_a_warning_alert_alone_does_not_fail_and_the_critical_severities_are_a_setting():
    data = raw("alertmanager-firing")
    data["alerts"]["answer"]["json"] = [
        a for a in data["alerts"]["answer"]["json"] if a["labels"]["severity"] != "critical"
    ]
    assert judge(data)["problems"] == []
    assert judge(data, critical_severities=["critical", "warning"])["problems"] == [
        "critical alert(s) firing: AvailabilityBudgetBurnSlow"
    ]
