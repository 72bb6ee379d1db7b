"""Fixtures for the tests of the verify playbook. They drive `ansible-playbook playbooks/verify.yml` against the REAL
stack deployed on this machine (`make deploy`), break it in one way per test, and restore it afterwards.

Network traffic stays on this machine: the playbook probes and loads Nginx on 127.0.0.1 and the stack's containers.

Two settings differ from a production run, and every test says so in its output:
  * the performance and resource thresholds are relaxed, because the tests prove that the checks measure and gate,
    not how fast this machine is (DEVELOPERS.md: speed is measured in benchmarks, never asserted in tests);
    the SLO test sets one threshold impossibly tight to prove the gate;
  * listening sockets that this machine had before the tests started (outside the stack's own ports) are declared
    allowed, as an inventory would declare its management agent; a socket that appears later still fails.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "verify.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
LOG_DIR = ROOT / "reports" / "verify-tests"
APP = yaml.safe_load((ROOT / "group_vars" / "all" / "app.yml").read_text())
STACK_DIR = Path(APP["app_stack_dir"])
HTTPS_PORT = APP["app_https_port"]
SERVICES = ("nginx", "flask", "postgres", "redis")
# Thresholds the tests use for what depends on this machine's speed and load (see the module docstring).
RELAXED = yaml.safe_load((ROOT / "tests" / "speed-gates-open.yml").read_text())


def compose(*args, check=True):
    return subprocess.run(
        ["docker", "compose", "--project-directory", str(STACK_DIR), *args],
        check=check,
        capture_output=True,
        text=True,
    )


def services_state():
    """{service: (state, health)} of the stack's containers, from `docker compose ps`."""
    out = compose("ps", "--all", "--format", "json").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {row["Service"]: (row["State"], row.get("Health", "")) for row in rows}


def wait_for(predicate, what, timeout=180, interval=2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def https_status(path):
    """Status of a GET through Nginx on loopback (certificate not checked: the tls tests judge it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(f"https://127.0.0.1:{HTTPS_PORT}{path}", headers={"Host": "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def of_service(compose_service, service):
    """Whether a compose service is `service` or one of its variants (the app's colours flask-blue, flask-green)."""
    return compose_service == service or compose_service.startswith(f"{service}-")


def stack_healthy():
    state = services_state()
    for service in SERVICES:
        running = [
            health for name, (status, health) in state.items() if of_service(name, service) and status == "running"
        ]
        if not running or any(health not in ("healthy", "") for health in running):
            return False
    return https_status("/api/health") == 200


def listeners():
    """Non-loopback listening sockets of the host: {(protocol, port)}."""
    out = subprocess.run(["ss", "-Hltun"], check=True, capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        cells = line.split()
        match = re.match(r"^\[?(.*?)\]?(?:%\S+)?:(\d+)$", cells[4])
        if match and not re.match(r"^(127\.|::1$|::ffff:127\.)", match.group(1)):
            found.add((cells[0], int(match.group(2))))
    return found


@dataclass
class Run:
    rc: int
    output: str = field(repr=False)
    report: dict = field(repr=False)

    @property
    def failed(self):
        return set(self.report.get("failed", []))

    def status(self, name):
        return next(c["status"] for c in self.report["checks"] if c["name"] == name)

    def explain(self):
        tail = "\n".join(self.output.splitlines()[-60:])
        return f"rc={self.rc}, failed={sorted(self.failed)}\n--- last lines of ansible-playbook ---\n{tail}"


@pytest.fixture(scope="session")
def stack():
    """The deployed stack, healthy; fails (not skips) when it is missing."""
    if not (STACK_DIR / "compose.yml").exists():
        pytest.fail(f"no stack at {STACK_DIR}: deploy it first with `make deploy`")
    wait_for(stack_healthy, "the stack to be running and healthy", timeout=120)
    return STACK_DIR


@pytest.fixture(scope="session")
def machine_ports(stack):
    """Listening sockets this machine had before the tests, outside the stack's ports (see the module docstring)."""
    mine = {("tcp", APP["app_http_port"]), ("tcp", HTTPS_PORT)}
    before = sorted(listeners() - mine)
    print(f"\n[verify tests] declared allowed for this machine (present before the tests): {before}", flush=True)
    return {
        "verify_allowed_tcp_ports_extra": [port for proto, port in before if proto == "tcp"],
        "verify_allowed_udp_ports": sorted({68, 546} | {port for proto, port in before if proto == "udp"}),
    }


@pytest.fixture
def verify(stack, machine_ports, tmp_path, request):
    """Run the verify playbook; returns a Run with the exit code, the output and the JSON report."""

    def run(*args, extra=None, relaxed=True):
        variables = {"verify_report_dir": str(tmp_path), **machine_ports, **(RELAXED if relaxed else {})}
        variables.update(extra or {})
        command = [str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-e", json.dumps(variables), *args]
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = LOG_DIR / f"{request.node.name}.log"
        print(f"\n[verify tests] {request.node.name}: ansible-playbook {' '.join(args)} (log: {log})", flush=True)
        started = time.monotonic()
        env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
        output = done.stdout + done.stderr
        log.write_text(output)
        reports = sorted(tmp_path.glob("verify-*.json"))
        report = json.loads(reports[0].read_text()) if reports else {}
        print(
            f"[verify tests] rc={done.returncode} in {time.monotonic() - started:.0f}s, "
            f"failed checks: {report.get('failed')}",
            flush=True,
        )
        return Run(done.returncode, output, report)

    return run
