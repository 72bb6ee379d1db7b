"""Helpers of the monitor tests (the monitor playbook against the stack deployed on this machine by `make deploy`):
runs of the playbook with the report they write, the stack's services, and Redis stopped for one test.

MONITOR_RECORD_FIXTURES=1 also copies what each run read (the report's raw input and log lines) into
tests/unit/monitor/fixtures/<name>.json: the unit tests' recorded real outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import requests
from iac_testlib.ansible import Run, playbook
from iac_testlib.project import REPORTS, ROOT, settings
from iac_testlib.wait import wait_for

SETTINGS = settings()
STACK_DIR = SETTINGS["app_stack_dir"]
CA = f"{STACK_DIR}/tls/ca.crt"
REPORT = REPORTS / "monitor-localhost.json"
FIXTURES = ROOT / "tests/unit/monitor/fixtures"
# The monitoring tests' image helpers (the Alertmanager image built from the project's Debian base).
sys.path.insert(0, str(ROOT / "tests/monitoring"))


def compose(*args: str) -> str:
    return subprocess.run(
        ["docker", "compose", "--project-directory", STACK_DIR, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout


def running_services() -> list[str]:
    """The services with a running container, as `docker compose ps` reports them."""
    return sorted(json.loads(line)["Service"] for line in compose("ps", "--format", "json").splitlines() if line)


def monitor(*args: str, name: str, record: str | None = None, **extra_vars) -> tuple[Run, dict]:
    """playbooks/monitor.yml on this machine, and the report it wrote."""
    REPORT.unlink(missing_ok=True)
    run = playbook("playbooks/monitor.yml", *args, extra_vars=extra_vars or None, name=name, timeout=600)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    if record and report and os.environ.get("MONITOR_RECORD_FIXTURES"):
        FIXTURES.mkdir(parents=True, exist_ok=True)
        kept = {"raw": report["raw"], "logs": report["logs"]}
        (FIXTURES / f"{record}.json").write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    return run, report


def stack_healthy() -> bool:
    """/api/health answers 200 through Nginx and every container of the stack is healthy."""
    if requests.get("https://localhost/api/health", verify=CA, timeout=5).status_code != 200:
        return False
    ids = compose("ps", "--quiet").split()
    states = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Health.Status}}", *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return bool(ids) and all(state == "healthy" for state in states)


@contextmanager
def redis_stopped():
    """Redis stopped (docker compose stop redis), started again and the stack healthy again when the block ends."""
    compose("stop", "redis")
    try:
        yield
    finally:
        compose("start", "redis")
        wait_for(stack_healthy, "the stack healthy again after Redis was started", timeout=120)
