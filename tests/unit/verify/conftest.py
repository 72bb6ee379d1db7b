"""Shared pieces of the unit tests of verify's checks: the recorded real tool outputs (fixtures/, made by
record-fixtures and record-tls-fixtures.py on a real stack) and settings as the role passes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from iac_testlib.project import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
# When the fixtures were recorded (docker-inspect.json, audit-log.txt, ... are of this moment).
RECORDED = "2026-12-02T11:47:10+00:00"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def data(name: str):
    return json.loads(text(name))


def ran(stdout: str = "", rc: int = 0, stderr: str = "", **more) -> dict:
    """A command's result as Ansible registers it."""
    return {"rc": rc, "stdout": stdout, "stderr": stderr, "changed": False, **more}


SKIPPED = {"skipped": True, "skip_reason": "Conditional result was False", "changed": False}


@pytest.fixture
def settings() -> dict:
    """The thresholds of group_vars/all/slo.yml and the verify role's defaults, as the role passes them."""
    slo = yaml.safe_load((ROOT / "group_vars" / "all" / "slo.yml").read_text())
    return {
        **slo,
        "app_network_name": "iacv-network",
        "app_network_subnet": "172.21.0.0/16",
        "verify_project": "iacv",
        "verify_services": ["nginx", "flask", "postgres", "redis"],
        "verify_probe_service": "flask",
        "verify_server_name": "localhost",
        "verify_host_ports": ["18080", "18443"],
        "verify_connect_address": "127.0.0.1",
        "verify_dns_names": ["nginx-service", "flask-service", "postgres-service", "redis-service"],
        "verify_network_ports": ["flask-service:5000", "postgres-service:5432", "redis-service:6379"],
        "verify_http_redirect_status": 301,
        "verify_tls_probe_protocols": ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
        "verify_health_check_required": False,
        "verify_load_tool": "wrk",
        "verify_resource_rps": 250,
        "verify_load_connections": 10,
        "verify_stress_workers": 4,
        "verify_stress_seconds": 60,
        "verify_allowed_tcp_ports": [22, "18080", "18443"],
        "verify_allowed_tcp_ports_extra": [2024],
        "verify_allowed_udp_ports": [68, 546],
        "verify_k8s_tcp_ports": [2379, 2380, 6443, 7472, 7946, 10250, 10256],
        "verify_k8s_udp_ports": [7946],
        "verify_allowed_published_ports": ["18080", "18443"],
        "verify_history_window_days": "30",
        "verify_accept_partial_history": False,
        "verify_patches_ignore": [],
        "verify_audit_keys": ["iac-docker", "iac-sudo", "iac-sshd"],
        "verify_audit_recent_keys": ["iac-docker"],
        "verify_audit_max_age_seconds": 600,
    }


@pytest.fixture
def containers() -> list[dict]:
    return data("docker-inspect.json")
