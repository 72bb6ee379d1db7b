"""The monitor playbook (`make monitor`) on the stack deployed on this machine: the healthy stack exits 0 with a row
for every service; Redis stopped exits non-zero naming it, with its last log lines and health checks; check mode
changes nothing; the firing alerts of a real Alertmanager on loopback, and UNAVAILABLE when none answers."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from conftest import REPORT, compose, monitor, redis_stopped, running_services
from iac_testlib.project import ROOT, ansible_env


def row(output: str, service: str) -> str:
    """The table's row of a service."""
    found = re.findall(rf"^\s*{re.escape(service)}\s+\S+\s+\S+.*$", output, re.MULTILINE)
    assert found, f"no row for {service} in:\n{output[-3000:]}"
    return found[0]


def test_make_monitor_on_the_healthy_stack_exits_0_with_every_service():
    done = subprocess.run(
        ["make", "monitor"], cwd=ROOT, capture_output=True, text=True, env=ansible_env(), timeout=600, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert re.search(r"changed=0\s", output)
    for service in running_services():
        line = row(output, service)
        assert " running " in line, line
        assert " healthy " in line, line
        # CPU % and memory were measured (from the cgroups), not zeros from docker stats or UNAVAILABLE.
        assert re.search(r" \d+\.\d +\d+\.\d MiB", line), line
    assert "/api/health: OK: https://127.0.0.1:443/api/health: HTTP 200, ok (postgres ok, redis ok)" in output
    assert "alerts: UNAVAILABLE: no Alertmanager or Prometheus configured" in output
    assert "RESULT: OK on localhost" in output
    assert "last log lines" not in output
    report = json.loads(REPORT.read_text())
    assert report["judged"]["problems"] == []


def test_check_mode_changes_nothing_and_shows_the_same():
    run, report = monitor("--check", name="check", record="healthy")
    assert run.returncode == 0, run.tail()
    assert run.changed == 0, run.tail()
    assert "RESULT: OK on localhost" in run.output
    assert report["raw"]["readings"], "the cgroups were read in check mode too"


def test_redis_stopped_fails_naming_redis_with_its_last_log_lines():
    with redis_stopped():
        run, report = monitor(name="redis-stopped", record="redis-stopped")
        checked, _ = monitor("--check", name="redis-stopped-check")
    assert run.returncode != 0, run.tail()
    assert run.changed == 0, run.tail()
    assert checked.changed == 0, checked.tail()
    assert checked.returncode != 0, checked.tail()
    redis = row(run.output, "redis")
    assert redis.split()[2] == "exited", redis
    assert "<- not running (exited" in redis, redis
    # The last log lines of Redis: its shutdown on `docker compose stop`.
    logs = run.output.split("--- last log lines of iac-redis-1:", 1)
    assert len(logs) == 2, run.tail()
    assert re.search(r"(?i)ready to exit|shutdown|signal", logs[1]), run.tail()
    assert len(report["logs"]["iac-redis-1"]) <= 50
    assert re.search(r"/api/health: FAIL: .*HTTP 503, fail \(postgres ok, redis fail", run.output)
    # The failure message at the end names the service.
    # (the YAML callback prints the message on the lines after the task's FAILED! line)
    failed = run.output.rsplit("fatal: [localhost]: FAILED! =>", 1)
    assert len(failed) == 2, run.tail()
    assert "redis: not running" in failed[1].split("PLAY RECAP", 1)[0], run.tail()
    assert "RESULT: PROBLEM on localhost: redis: not running" in run.output


def post_alerts(port: int, alerts: list[dict]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"}
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_firing_alerts_come_from_alertmanager_and_a_critical_one_fails(tmp_path):
    from monitoring_helpers import container, free_port, image

    (tmp_path / "alertmanager.yml").write_text("route: {receiver: nobody}\nreceivers: [{name: nobody}]\n")
    tmp_path.chmod(0o755)
    (tmp_path / "alertmanager.yml").chmod(0o644)
    port = free_port()
    args = (
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/var/lib/alertmanager",
        "--cluster.listen-address=",
        f"--web.listen-address=127.0.0.1:{port}",
    )
    started = (datetime.now(UTC) - timedelta(minutes=7)).isoformat()
    with container(
        image("alertmanager"), *args, run_args=("--network", "host", "-v", f"{tmp_path}:/etc/alertmanager:ro")
    ):
        post_alerts(
            port,
            [
                {
                    "labels": {"alertname": "TargetDown", "severity": "critical", "job": "redis"},
                    "annotations": {"summary": "redis target redis-exporter:9121 is down"},
                    "startsAt": started,
                },
                {
                    "labels": {"alertname": "AvailabilityBudgetBurnSlow", "severity": "warning", "slo": "availability"},
                    "annotations": {"summary": "the availability error budget burns"},
                    "startsAt": started,
                },
            ],
        )
        run, _ = monitor(
            name="alertmanager", record="alertmanager-firing", monitor_alertmanager_url=f"http://127.0.0.1:{port}"
        )
    assert run.returncode != 0, run.tail()
    assert run.changed == 0, run.tail()
    assert f"alerts: 2 firing (alertmanager at http://127.0.0.1:{port})" in run.output
    assert re.search(r"CRITICAL: TargetDown for 7m\d\ds: redis target", run.output), run.tail()
    assert re.search(r"warning: AvailabilityBudgetBurnSlow for 7m\d\ds", run.output), run.tail()
    assert "critical alert(s) firing: TargetDown" in run.output
    # Nothing answers there any more: the alerts are UNAVAILABLE, not "none firing", and only a note.
    gone, _ = monitor(name="alertmanager-gone", monitor_prometheus_url=f"http://127.0.0.1:{port}")
    assert gone.returncode == 0, gone.tail()
    assert f"alerts: UNAVAILABLE: prometheus at http://127.0.0.1:{port} did not answer" in gone.output
    required, _ = monitor(name="alerts-required", monitor_require_alerts=True)
    assert required.returncode != 0
    assert "alerts: no Alertmanager or Prometheus configured" in required.output
    assert compose("ps", "--quiet")
