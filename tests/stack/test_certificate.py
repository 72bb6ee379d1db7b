"""A certificate replaced on disk is served within one run (issue 14): a certificate and key of another CA, given with
app_tls_mode=provided, is what Nginx presents on 443 when the deploy ends; and the stack goes back to the
certificate it had, with its default TLS settings, afterwards (so the tests after this one see the stack as before).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from iac_testlib.tls import authority, certificate, served_certificate
from stackctl import BASE, SETTINGS, STACK_DIR, deploy, get

pytestmark = pytest.mark.slow

TLS_DIR = Path(STACK_DIR) / "tls"
# app_public_hostname is the inventory's host name, localhost on this machine; the stack's own certificate is for
# it, localhost, 127.0.0.1 and Nginx's service aliases (roles/app_compose/vars/main.yml): the new one is too.
PUBLIC_NAME = "localhost"
NAMES = ["127.0.0.1", *SETTINGS["app_service_aliases"]["nginx"]]


def served() -> x509.Certificate:
    return served_certificate("127.0.0.1", int(SETTINGS["app_https_port"]), PUBLIC_NAME)


def on_disk() -> x509.Certificate:
    return x509.load_pem_x509_certificate((TLS_DIR / "tls.crt").read_bytes())


def provided(cert: Path, key: Path, name: str):
    return deploy(
        "--tags",
        "stack",
        extra_vars={"app_tls_mode": "provided", "app_tls_cert_file": str(cert), "app_tls_key_file": str(key)},
        name=name,
    )


def test_a_provided_certificate_is_served_in_the_same_run_and_the_stack_goes_back_to_its_own(tmp_path):
    before = served()
    assert before.serial_number == on_disk().serial_number, "the stack does not serve its certificate on disk"

    ca_cert, ca_key = authority("iac test CA (tests/stack/test_certificate.py)")
    now = datetime.datetime.now(datetime.UTC)
    cert_pem, key_pem = certificate(
        PUBLIC_NAME, now - datetime.timedelta(hours=1), now + datetime.timedelta(days=7), ca_cert, ca_key, NAMES
    )
    new = x509.load_pem_x509_certificate(cert_pem)
    assert new.serial_number != before.serial_number
    given = tmp_path / "given"
    given.mkdir(mode=0o700)
    (given / "tls.crt").write_bytes(cert_pem)
    (given / "tls.key").write_bytes(key_pem)
    (given / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # The stack's own certificate and key, to give them back the same way afterwards.
    original = tmp_path / "original"
    original.mkdir(mode=0o700)
    (original / "tls.crt").write_bytes((TLS_DIR / "tls.crt").read_bytes())
    (original / "tls.key").write_bytes((TLS_DIR / "tls.key").read_bytes())

    try:
        run = provided(given / "tls.crt", given / "tls.key", "tls-provided")
        assert run.returncode == 0, run.tail()
        assert run.changed > 0, run.tail()
        assert served().serial_number == new.serial_number, run.tail()
        # The whole chain: the name and the test CA, nothing else trusted.
        health = requests.get(f"{BASE}/api/health", verify=str(given / "ca.crt"), timeout=10)
        assert health.status_code == 200
    finally:
        # Nginx reloads when the run changes its certificate: the stack's own files go back the same way (a
        # default run would issue a new certificate from the stack's CA instead, for the test's key), then a run
        # with the default settings (selfsigned) finds them good and changes nothing.
        restored = provided(original / "tls.crt", original / "tls.key", "tls-restore-original")
        default = deploy("--tags", "stack", name="tls-default-again")
        for path in (*given.iterdir(), *original.iterdir()):
            path.unlink()

    assert restored.returncode == 0, restored.tail()
    assert default.returncode == 0, default.tail()
    assert default.changed == 0, default.tail()
    assert served().serial_number == before.serial_number
    assert on_disk().serial_number == before.serial_number
    # Verified with the stack's CA again, as every other test does.
    assert get("/api/health").status_code == 200
