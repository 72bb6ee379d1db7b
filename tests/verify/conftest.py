"""Fixtures of the verify tests: they run `playbooks/verify.yml` against a REAL stack deployed on this machine,
break it (or point verify at a real misbehaving fixture server) in one or several independent ways per run, and
restore it afterwards. Traffic stays on this machine (loopback and the stack's containers).

Which stack: the normal one (`make deploy`) by default; another instance through the environment, e.g.
    IAC_VERIFY_PROJECT=iacv IAC_VERIFY_STACK_DIR=/opt/iacv/stack IAC_VERIFY_HTTP_PORT=18080 \
    IAC_VERIFY_HTTPS_PORT=18443 IAC_VERIFY_NETWORK=iacv-network IAC_VERIFY_SUBNET=172.21.0.0/16 pytest tests/verify

Three inputs describe this machine rather than the stack, and every run prints them: listening sockets and ports
published by other containers that the machine had before the tests (a management agent, another stack) are
declared allowed, and so are the host's security updates already pending before the tests (an inventory that holds
packages back declares them in verify_patches_ignore); a socket, a port or an update that appears later still
fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from iac_testlib.ansible import playbook
from iac_testlib.net import listeners
from iac_testlib.project import settings
from iac_testlib.wait import wait_for

_DEFAULTS = settings()
STACK = {
    "app_project": os.environ.get("IAC_VERIFY_PROJECT", _DEFAULTS["app_project"]),
    "app_stack_dir": os.environ.get("IAC_VERIFY_STACK_DIR", _DEFAULTS["app_stack_dir"]),
    "app_http_port": int(os.environ.get("IAC_VERIFY_HTTP_PORT", _DEFAULTS["app_http_port"])),
    "app_https_port": int(os.environ.get("IAC_VERIFY_HTTPS_PORT", _DEFAULTS["app_https_port"])),
    "app_network_name": os.environ.get("IAC_VERIFY_NETWORK", _DEFAULTS["app_network_name"]),
    "app_network_subnet": os.environ.get("IAC_VERIFY_SUBNET", _DEFAULTS["app_network_subnet"]),
}
STACK_DIR = Path(STACK["app_stack_dir"])
SERVICES = ("nginx", "flask", "postgres", "redis")
# Speed gates trivially met, for runs that check everything else: whether this shared 2-core machine meets the
# default throughput/latency/CPU/memory targets is the deploy stage's verdict (README command 1, default SLOs);
# test_broken_stack_fails_naming_each_check (test_verify.py) sees each of them fail with an impossible threshold.
TRIVIALLY_MET = {
    "slo_throughput_rps": 0,
    "slo_latency_p95_ms": 60000,
    "slo_latency_p99_ms": 60000,
    "slo_cpu_percent": 100.1,
    "slo_memory_percent": 100.1,
    # The resources phase offers a rate any stack reaches (the default is the throughput SLO's).
    "verify_resource_rps": 50,
}


def compose(*args, check=True):
    return subprocess.run(
        ["docker", "compose", "--project-directory", str(STACK_DIR), *args], check=check, capture_output=True, text=True
    )


def docker(*args, check=True):
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True)


def container_of(service):
    ids = compose("ps", "--quiet", service).stdout.split()
    assert ids, f"no container of service {service} in {STACK_DIR}"
    return ids[0]


def services_state():
    rows = [json.loads(line) for line in compose("ps", "--all", "--format", "json").stdout.splitlines() if line.strip()]
    return {row["Service"]: (row["State"], row.get("Health", "")) for row in rows}


def stack_healthy():
    state = services_state()
    for service in SERVICES:
        mine = [
            h
            for name, (s, h) in state.items()
            if (name == service or name.startswith(f"{service}-")) and s == "running"
        ]
        if not mine or any(h not in ("healthy", "") for h in mine):
            return False
    return True


@dataclass
class Run:
    returncode: int
    output: str = field(repr=False)
    report: dict = field(repr=False)
    reports: Path

    @property
    def failed(self) -> set[str]:
        return set(self.report.get("failed", []))

    @property
    def names(self) -> set[str]:
        return {c["name"] for c in self.report.get("checks", [])}

    def check(self, name) -> dict:
        return next(c for c in self.report["checks"] if c["name"] == name)

    def explain(self) -> str:
        return f"rc={self.returncode}, failed={sorted(self.failed)}\n" + "\n".join(self.output.splitlines()[-50:])


@pytest.fixture(scope="session")
def stack():
    """The deployed stack, healthy; fails (not skips) when it is missing."""
    if not (STACK_DIR / "compose.yml").exists():
        pytest.fail(f"no stack at {STACK_DIR}: deploy it first (`make deploy`, or set IAC_VERIFY_* for another one)")
    wait_for(stack_healthy, "the stack to be running and healthy", timeout=120)
    return STACK_DIR


def _pending_security_updates():
    simulation = subprocess.run(
        ["apt-get", "--simulate", "-o", "Debug::NoLocking=1", "upgrade"], check=True, capture_output=True, text=True
    ).stdout
    return sorted(
        {line.split()[1] for line in simulation.splitlines() if line.startswith("Inst ") and "security" in line.lower()}
    )


def _published_ports():
    """Host ports published by containers (docker ps: 0.0.0.0:443->443/tcp, [::]:443->443/tcp)."""
    shown = docker("ps", "--format", "{{.Ports}}").stdout
    return {int(port) for port in re.findall(r":(\d+)->", shown)}


@pytest.fixture(scope="session")
def machine(stack):
    """What this machine brings that the stack does not (see the module docstring)."""
    mine = {STACK["app_http_port"], STACK["app_https_port"]}
    before = sorted(entry for entry in listeners() if entry.port not in mine)
    held = _pending_security_updates()
    published = sorted(_published_ports() - mine)
    print(
        f"\n[verify tests] declared for this machine: listeners {before}; ports published by other containers "
        f"{published}; {len(held)} pending security updates of the host",
        flush=True,
    )
    return {
        "verify_allowed_tcp_ports_extra": sorted({e.port for e in before if e.protocol == "tcp"}),
        "verify_allowed_udp_ports": sorted({68, 546} | {e.port for e in before if e.protocol == "udp"}),
        "verify_allowed_published_ports": sorted(mine | set(published)),
        "verify_patches_ignore": [f"host:{package}" for package in held],
    }


@pytest.fixture(scope="session")
def verify(machine, tmp_path_factory):
    """Run the verify playbook on the stack; returns a Run with the exit code, the output and the JSON report."""

    def run(*args, extra=None, name="verify"):
        reports = tmp_path_factory.mktemp(name)
        variables = {**STACK, "verify_report_dir": str(reports), **machine, **(extra or {})}
        done = playbook("playbooks/verify.yml", *args, extra_vars=variables, name=name, timeout=1200)
        found = sorted(reports.glob("verify-*.json"))
        return Run(done.returncode, done.output, json.loads(found[0].read_text()) if found else {}, reports)

    return run


@pytest.fixture(scope="session")
def healthy(stack, verify):
    """One full run on the healthy stack, the stress phase included, with the speed gates trivially met."""
    return verify(
        extra={**TRIVIALLY_MET, "verify_stress": True, "verify_stress_workers": 2, "verify_stress_seconds": 25},
        name="healthy",
    )
