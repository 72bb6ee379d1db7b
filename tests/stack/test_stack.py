"""Acceptance of the stack deployed on this machine by `make deploy` (site.yml, inventories/local).

Runs against the real stack: Nginx over TLS on 127.0.0.1, the compose project in /opt/iac/stack, Docker.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
from iac_testlib.net import listeners
from stackctl import BASE, CA, SETTINGS, STACK_DIR, compose, get, public_hostname, run_site, services


def test_readiness_through_nginx_tls_reports_database_and_cache_ok():
    response = get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["postgres"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"


def test_http_redirects_to_https_on_the_public_hostname():
    response = requests.head("http://127.0.0.1/", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{public_hostname()}/"


def handshake(version: str) -> str:
    """One TLS handshake offering only `version`. The client's security level is lowered to 0, so that OpenSSL 3
    itself would accept TLS 1.0/1.1: whether an old version is refused is then up to Nginx alone."""
    return subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            "127.0.0.1:443",
            f"-{version}",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-servername",
            "localhost",
            "-CAfile",
            CA,
        ],
        check=False,
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout


def test_tls_answers_with_security_headers():
    response = get("/")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"
    # Set once (by the app), not twice by the app and the proxy.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "," not in response.headers["Content-Security-Policy"]


def test_tls_1_2_is_accepted_and_tls_1_1_refused():
    accepted = handshake("tls1_2")
    assert "Verify return code: 0 (ok)" in accepted
    assert "New, TLSv1.2, Cipher is ECDHE" in accepted
    refused = handshake("tls1_1")
    assert "Cipher is (NONE)" in refused


def test_four_services_run_healthy():
    running = services()
    color = json.loads((Path(STACK_DIR) / "release.json").read_text())["color"]
    assert sorted(s["Service"] for s in running) == [f"flask-{color}", "nginx", "postgres", "redis"]
    assert all(s["Health"] == "healthy" for s in running), running


def test_only_nginx_publishes_ports_80_and_443():
    published = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={SETTINGS['app_project']}",
            "--format",
            "{{.Names}} {{.Ports}}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    host_ports = sorted(set(re.findall(r"0\.0\.0\.0:(\d+)->", published)))
    assert host_ports == ["443", "80"], published
    listening = listeners(loopback=True)
    for port in (5432, 6379, 5000):
        assert not [entry for entry in listening if entry.port == port], f"port {port} listens on the host"


def test_metrics_are_not_public():
    assert get("/metrics").status_code == 404


@pytest.mark.slow
def test_second_run_changes_nothing_and_data_survives_it_and_a_postgres_restart():
    name = f"acceptance-{uuid.uuid4().hex[:8]}"
    created = requests.post(f"{BASE}/api/items", json={"name": name}, verify=CA, timeout=10)
    assert created.status_code == 201
    item_id = created.json()["id"]

    run = run_site("second-run")
    assert run.recap, run.tail()
    assert run.changed == 0, "the second run of site.yml changed something\n" + run.tail()
    assert get(f"/api/items/{item_id}").json()["name"] == name

    compose("restart", "postgres")
    compose("up", "--wait", "--no-recreate")
    assert get(f"/api/items/{item_id}").json()["name"] == name
