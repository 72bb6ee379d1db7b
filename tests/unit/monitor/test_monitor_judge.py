"""The monitor role's judgement (module_utils/monitor.py) on what its tasks read from this project's real stack:
the healthy stack, Redis stopped (`docker compose stop redis`) and a real Alertmanager with firing alerts, recorded
by `MONITOR_RECORD_FIXTURES=1 pytest tests/monitor` into fixtures/; every other failure is one of those readings
with one thing changed."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from ansible_collections.iac.core.plugins.module_utils import cgroups, monitor
from ansible_collections.iac.core.plugins.module_utils.verify.parse import ParseError

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = {
    "critical_severities": ["critical"],
    "require_alerts": False,
    "logs_all": False,
    "health_entries": 5,
    "health_url": "https://127.0.0.1:443/api/health",
}


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def raw(name: str = "healthy") -> dict:
    return copy.deepcopy(recorded(name)["raw"])


def judge(data: dict, **settings) -> dict:
    return monitor.judge(data, {**SETTINGS, **settings})


def container(data: dict, service: str) -> dict:
    return next(c for c in data["containers"] if c["Config"]["Labels"]["com.docker.compose.service"] == service)


def row(judged: dict, service: str) -> dict:
    return next(r for r in judged["rows"] if r["service"] == service)


# --- The recorded states --------------------------------------------------------------------------------------
def test_the_healthy_stack_has_a_row_for_every_service_and_no_problem():
    judged = judge(raw())
    assert judged["problems"] == []
    assert judged["result"] == "ok"
    services = {r["service"] for r in judged["rows"]}
    assert {"nginx", "postgres", "redis"} <= services
    assert {"flask-blue", "flask-green"} <= services
    running = [r for r in judged["rows"] if r["state"] == "running"]
    assert len(running) == 4
    for each in running:
        assert each["health"] == "healthy"
        assert each["restarts"] == 0
        assert float(each["cpu"]) >= 0
        assert "MiB" in each["memory"]
        assert "%" in each["memory"], "the memory limit is shown"
    idle = [r for r in judged["rows"] if r["state"] == "scaled to 0"]
    assert len(idle) == 1, "the app's idle colour is a row, not a problem"
    assert judged["log_targets"] == []
    assert judged["health"]["ok"]


def test_the_healthy_report_prints_the_table_the_health_check_and_unavailable_alerts():
    text = monitor.report(judge(raw()), {})
    assert text.splitlines()[2].split() == [
        "SERVICE",
        "CONTAINER",
        "STATE",
        "HEALTH",
        "RESTARTS",
        "CPU",
        "%",
        "MEMORY",
        "UP",
    ]
    assert "/api/health: OK: https://127.0.0.1:443/api/health: HTTP 200, ok (postgres ok, redis ok)" in text
    assert "alerts: UNAVAILABLE: no Alertmanager or Prometheus configured" in text
    assert "no alerts" not in text
    assert text.endswith("RESULT: OK on localhost: every service running and healthy, /api/health answers")


def test_logs_all_reads_the_logs_of_every_container():
    judged = judge(raw(), logs_all=True)
    assert sorted(t["service"] for t in judged["log_targets"]) == sorted(
        r["service"] for r in judged["rows"] if r["id"]
    )


# --- One thing changed ----------------------------------------------------------------------------------------
def test_an_unhealthy_container_shows_its_last_health_checks_and_logs():
    data = raw()
    health = container(data, "nginx")["State"]["Health"]
    health["Status"] = "unhealthy"
    health["Log"][-1].update({"ExitCode": 1, "Output": "bash: connect: Connection refused\n"})
    judged = judge(data)
    assert "nginx: unhealthy" in judged["problems"]
    assert [t["service"] for t in judged["log_targets"]] == ["nginx"]
    entries = judged["health_logs"]["iac-nginx-1"]
    assert 1 <= len(entries) <= 5
    assert entries[-1]["exit_code"] == 1
    text = monitor.report(judged, {"iac-nginx-1": []})
    assert "--- last health checks of iac-nginx-1:" in text
    assert "exit 1: bash: connect: Connection refused" in text


def test_a_restarting_container_is_a_problem():
    data = raw()
    state = container(data, "postgres")["State"]
    state.update({"Status": "restarting", "Restarting": True})
    container(data, "postgres")["RestartCount"] = 4
    assert "postgres: restarting (restarted 4 times)" in judge(data)["problems"]


def test_a_service_without_a_container_is_a_problem():
    data = raw()
    data["containers"].remove(container(data, "redis"))
    judged = judge(data)
    assert row(judged, "redis")["state"] == "missing"
    assert "redis: no container" in judged["problems"]


def test_no_compose_file_and_no_container_are_problems():
    data = raw()
    data["compose"] = {"rc": 1, "stdout": "", "stderr": "no configuration file provided: not found\n"}
    data["containers"] = []
    problems = judge(data)["problems"]
    assert problems[0] == (
        "stack: docker compose config failed: no configuration file provided: not found in /opt/iac/stack"
    )
    assert "stack: no container of compose project iac" in problems


def test_compose_config_that_is_not_json_is_an_error():
    data = raw()
    data["compose"]["stdout"] = "services:\n"
    with pytest.raises(ParseError):
        judge(data)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": -1, "msg": "Request failed: <urlopen error [Errno 111] Connection refused>"}, "no answer"),
        ({"status": 200, "content": "<html>ok</html>"}, "HTTP 200, no JSON body"),
        ({"status": 502, "content": "<html>Bad Gateway</html>"}, "HTTP 502"),
        ({"skipped": True}, "not requested"),
    ],
)
def test_api_health_that_does_not_answer_ok_is_a_problem(answer, expected):
    data = raw()
    data["health"] = answer
    judged = judge(data)
    assert not judged["health"]["ok"]
    assert any(p.startswith("/api/health: ") and expected in p for p in judged["problems"]), judged["problems"]


def test_a_container_whose_cgroup_cannot_be_read_is_unavailable_not_zero():
    data = raw()
    pid = str(container(data, "redis")["State"]["Pid"])
    data["readings"][1]["pids"][pid] = {"error": "FileNotFoundError: /proc/1/cgroup"}
    judged = judge(data)
    assert row(judged, "redis")["cpu"] == monitor.UNAVAILABLE
    assert judged["problems"] == []
    assert "CPU/memory of iac-redis-1: UNAVAILABLE (FileNotFoundError" in monitor.report(judged, {})
    data["readings"] = []
    data["usage_error"] = "MODULE FAILURE"
    judged = judge(data)
    assert {r["cpu"] for r in judged["rows"] if r["state"] == "running"} == {monitor.UNAVAILABLE}
    assert "CPU/memory: UNAVAILABLE (the cgroups could not be read: MODULE FAILURE)" in monitor.report(judged, {})


def test_an_alert_source_that_does_not_answer_is_unavailable_and_fails_only_when_required():
    data = raw()
    data["alerts"] = {
        "source": "prometheus",
        "url": "http://127.0.0.1:9",
        "answer": {"status": -1, "msg": "Request failed: <urlopen error [Errno 111] Connection refused>"},
    }
    judged = judge(data)
    assert judged["alerts"]["text"].startswith("UNAVAILABLE: prometheus at http://127.0.0.1:9 did not answer")
    assert judged["problems"] == []
    assert judge(data, require_alerts=True)["problems"][0].startswith("alerts: prometheus at http://127.0.0.1:9")
    data["alerts"] = {"source": "", "url": "", "answer": {}}
    assert judge(data, require_alerts=True)["problems"] == ["alerts: no Alertmanager or Prometheus configured"]


def test_prometheus_alerts_firing_count_and_pending_do_not():
    # Prometheus' /api/v1/alerts in its documented shape (not recorded here: Alertmanager's answer above is).
    data = raw()
    now = data["now"]
    data["alerts"] = {
        "source": "prometheus",
        "url": "http://127.0.0.1:9090",
        "answer": {
            "status": 200,
            "json": {
                "status": "success",
                "data": {
                    "alerts": [
                        {
                            "labels": {"alertname": "ContainerUnhealthy", "severity": "critical", "container": "redis"},
                            "annotations": {"summary": "redis is unhealthy"},
                            "state": "firing",
                            "activeAt": now,
                        },
                        {
                            "labels": {"alertname": "DiskFull", "severity": "critical"},
                            "annotations": {},
                            "state": "pending",
                            "activeAt": now,
                        },
                    ]
                },
            },
        },
    }
    judged = judge(data)
    assert [a["name"] for a in judged["alerts"]["firing"]] == ["ContainerUnhealthy"]
    assert judged["alerts"]["firing"][0]["age"] == "0s"
    assert judged["problems"] == ["critical alert(s) firing: ContainerUnhealthy"]


def test_an_alert_answer_of_the_wrong_shape_is_an_error_not_no_alerts():
    data = raw()
    data["alerts"] = {"source": "alertmanager", "url": "http://127.0.0.1:9093", "answer": {"status": 200, "json": {}}}
    with pytest.raises(ParseError):
        judge(data)
    data["alerts"].update(source="prometheus", answer={"status": 200, "json": {"status": "error"}})
    with pytest.raises(ParseError):
        judge(data)


def test_log_lines_keep_their_time_to_the_second():
    assert monitor._log_line("2026-12-02T16:40:01.123456789Z 1:M Ready") == "2026-12-02 16:40:01Z 1:M Ready"
    assert monitor._log_line("no time") == "no time"


# --- The cgroup reader (module iac.core.cgroup_usage, verify's cgroups.py) ------------------------------------
def test_the_cgroup_reader_reads_this_process_and_names_what_it_cannot_read():
    found = cgroups.reading([str(os.getpid()), "999999999"])
    mine = found["pids"][str(os.getpid())]
    assert mine["version"] in (1, 2)
    assert mine["cpu_ns"] > 0
    assert mine["memory_bytes"] > 0
    assert "error" in found["pids"]["999999999"]
