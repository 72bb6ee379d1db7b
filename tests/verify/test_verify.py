"""The verify playbook against the real stack: healthy, it passes every gate; broken in one way, it fails and names
the check that saw it. Every test restores the stack it broke."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from conftest import APP, HTTPS_PORT, SERVICES, STACK_DIR, compose, services_state, stack_healthy, wait_for
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CATEGORIES = {"connectivity", "tls", "performance", "security", "availability"}
TLS_DIR = STACK_DIR / "tls"
CA_KEY = STACK_DIR / "tls-ca" / "ca.key"
# The name clients use (app_public_hostname; inventories/local has one host, localhost).
SERVER_NAME = "localhost" if "inventory_hostname" in APP["app_public_hostname"] else APP["app_public_hostname"]


def test_healthy_stack_passes_every_gate(verify):
    run = verify()
    assert run.rc == 0, run.explain()
    report = run.report
    assert report["result"] == "pass"
    assert report["failed"] == []
    assert {c["category"] for c in report["checks"]} == CATEGORIES
    for check in report["checks"]:
        assert {"name", "category", "value", "threshold", "status"} <= check.keys(), check
        if check["status"] == "unavailable":
            # Only the vulnerability scans may lack their data (no vulnerability DB offline), never as a pass.
            assert check["name"].startswith("security.image_vulnerabilities_"), check
            assert "vulnerability DB unavailable" in check["detail"]
            assert check["value"] is None
        else:
            assert check["status"] == "pass", check
            if check["name"].endswith(("_mtbf", "_mttr")) and check["value"] is None:
                # No restart was observed: MTBF/MTTR have no value, and the report says so instead of inventing one.
                assert check["display"].startswith(("no failure in", "nothing to repair")), check
            else:
                assert check["value"] is not None, check
    names = {c["name"] for c in report["checks"]}
    for service in SERVICES:
        assert any(re.match(rf"availability\.{service}(-\w+)?_state$", n) for n in names), service
        assert any(re.match(rf"security\.image_secrets_{service}(-\w+)?$", n) for n in names), service
    assert "performance.throughput_/" in names
    assert "tls.certificate_name" in names
    assert re.search(r"CHECK +VALUE +THRESHOLD +STATUS", run.output), "the summary table was not printed"
    assert "RESULT: PASS" in run.output


def _stack_snapshot():
    """What a check run must not change: the containers (id, start time, restarts) and the stack's files."""
    containers = compose("ps", "--all", "--quiet").stdout.split()
    inspect = subprocess.run(
        ["docker", "inspect", "--format", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}", *containers],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    files = {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(STACK_DIR.rglob("*"))
        if path.is_file()
    }
    return inspect, files


def test_check_mode_changes_nothing(verify):
    before = _stack_snapshot()
    # The gate's verdict is the other tests' business: here the run must only finish and change nothing.
    run = verify("--check", extra={"verify_fail_on_breach": False})
    assert run.rc == 0, run.explain()
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s", run.output), run.explain()
    assert run.report["check_mode"] is True
    assert _stack_snapshot() == before


def test_redis_stopped_fails_naming_redis(verify):
    compose("stop", "redis")
    try:
        run = verify("--tags", "availability,connectivity")
    finally:
        compose("start", "redis")
        wait_for(stack_healthy, "the stack to recover after Redis was started again")
    assert run.rc != 0, run.explain()
    assert "availability.redis_state" in run.failed, run.explain()
    # The readiness endpoint reports the missing cache through Nginx.
    assert "connectivity.https_/api/health" in run.failed, run.explain()
    assert "availability.redis_state" in run.output.split("RESULT: FAIL", 1)[1]
    assert services_state()["redis"][0] == "running"


def _served_certificate():
    pem = ssl.get_server_certificate(("127.0.0.1", HTTPS_PORT))
    return x509.load_pem_x509_certificate(pem.encode())


def _install_certificate(name, not_before, not_after):
    """Issue a server certificate from the stack's own CA for `name`, valid in [not_before, not_after], put it in
    place of the stack's and make Nginx load it."""
    ca_cert = x509.load_pem_x509_certificate((TLS_DIR / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key(CA_KEY.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(name)]
    if re.match(r"^[0-9.]+$", name):
        san = [x509.IPAddress(ipaddress.ip_address(name))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_like(
        TLS_DIR / "server.key",
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_like(TLS_DIR / "server.crt", cert.public_bytes(serialization.Encoding.PEM))
    _reload_nginx()
    wait_for(lambda: _served_certificate().serial_number == cert.serial_number, "Nginx to serve the test certificate")


def _write_like(path: Path, data: bytes):
    """Replace a file's content, keeping its owner and mode (Nginx runs as www-data and reads the key by group)."""
    stat = path.stat()
    path.write_bytes(data)
    os.chown(path, stat.st_uid, stat.st_gid)
    os.chmod(path, stat.st_mode)


def _reload_nginx():
    container = compose("ps", "--quiet", "nginx").stdout.strip()
    subprocess.run(["docker", "kill", "--signal", "HUP", container], check=True, capture_output=True)


@pytest.fixture
def stack_certificate(tmp_path):
    """Back up the stack's certificate and key; put them back (and reload Nginx) after the test."""
    backup = tmp_path / "tls-backup"
    backup.mkdir()
    for name in ("server.crt", "server.key"):
        shutil.copy2(TLS_DIR / name, backup / name)
    original = x509.load_pem_x509_certificate((TLS_DIR / "server.crt").read_bytes()).serial_number
    yield
    for name in ("server.crt", "server.key"):
        _write_like(TLS_DIR / name, (backup / name).read_bytes())
    _reload_nginx()
    wait_for(lambda: _served_certificate().serial_number == original, "Nginx to serve the stack's certificate again")


def test_certificate_for_the_wrong_name_fails_the_name_check(verify, stack_certificate):
    now = datetime.datetime.now(datetime.UTC)
    _install_certificate("wrong-name.invalid", now - datetime.timedelta(hours=1), now + datetime.timedelta(days=90))
    run = verify("--tags", "tls")
    assert run.rc != 0, run.explain()
    assert run.failed == {"tls.certificate_name"}, run.explain()
    assert run.status("tls.certificate_trusted") == "pass"
    assert "tls.certificate_name" in run.output.split("RESULT: FAIL", 1)[1]


def test_expired_certificate_fails_the_validity_checks(verify, stack_certificate):
    now = datetime.datetime.now(datetime.UTC)
    _install_certificate(SERVER_NAME, now - datetime.timedelta(days=90), now - datetime.timedelta(days=1))
    run = verify("--tags", "tls")
    assert run.rc != 0, run.explain()
    assert {"tls.certificate_valid_now", "tls.certificate_days_left"} <= run.failed, run.explain()
    assert run.status("tls.certificate_name") == "pass"
    days = next(c["value"] for c in run.report["checks"] if c["name"] == "tls.certificate_days_left")
    assert days < 0


def test_extra_published_port_fails_the_port_checks(verify):
    image = subprocess.run(
        ["docker", "inspect", "--format", "{{.Config.Image}}", compose("ps", "--quiet", "nginx").stdout.strip()],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    name = "iac-verify-test-extra-port"
    # A container that publishes a host port; nothing listens behind it (sleep), and no test sends traffic to it.
    subprocess.run(
        [
            "docker",
            "run",
            "--detach",
            "--rm",
            "--name",
            name,
            "--publish",
            "0.0.0.0:18099:8080",
            "--entrypoint",
            "sleep",
            image,
            "600",
        ],
        check=True,
        capture_output=True,
    )
    try:
        run = verify("--tags", "security", extra={"verify_trivy": False, "verify_pip_audit": False})
    finally:
        subprocess.run(["docker", "rm", "--force", name], check=False, capture_output=True)
    assert run.rc != 0, run.explain()
    assert run.failed == {"security.published_ports", "security.listening_sockets"}, run.explain()
    published = next(c for c in run.report["checks"] if c["name"] == "security.published_ports")
    assert any(":18099->" in entry for entry in published["value"]), published


def test_impossibly_tight_slo_fails_naming_the_check(verify):
    run = verify("--tags", "performance", extra={"slo_latency_p99_ms": 0.001})
    assert run.rc != 0, run.explain()
    expected = {f"performance.latency_p99_{path}" for path in ("/", "/api/health")}
    assert run.failed == expected, run.explain()
    for name in expected:
        check = next(c for c in run.report["checks"] if c["name"] == name)
        assert check["threshold"] == 0.001, check
        assert check["value"] > 0.001, check
