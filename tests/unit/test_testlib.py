"""The shared test library: its parsers on outputs recorded from real runs, its certificates on a real TLS server."""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from iac_testlib.ansible import parse_recap
from iac_testlib.net import Listener, parse_ss
from iac_testlib.tls import TLSServer, authority, certificate, served_certificate

RECAP = """
PLAY RECAP *********************************************************************
localhost                  : ok=97   changed=2    unreachable=0    failed=0    skipped=31   rescued=0    ignored=0
web1.example.internal      : ok=12   changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""

SS = """\
tcp   LISTEN 0      4096         0.0.0.0:443        0.0.0.0:*
tcp   LISTEN 0      4096       127.0.0.1:5001       0.0.0.0:*
tcp   LISTEN 0      128             [::]:22            [::]:*
udp   UNCONN 0      0       0.0.0.0%eth0:68         0.0.0.0:*
tcp   LISTEN 0      4096           [::1]:6443          [::]:*
"""


def test_recap_counts_per_host_and_in_total():
    hosts = parse_recap(RECAP)
    assert hosts["localhost"]["changed"] == 2
    assert hosts["localhost"]["skipped"] == 31
    assert hosts["web1.example.internal"]["unreachable"] == 1


def test_recaps_of_several_runs_in_one_output_add_up():
    assert parse_recap(RECAP + RECAP)["localhost"]["changed"] == 4


def test_ss_listeners_with_addresses_interfaces_and_loopback():
    found = parse_ss(SS)
    assert Listener("tcp", "0.0.0.0", 443) in found
    assert Listener("udp", "0.0.0.0", 68) in found
    assert Listener("tcp", "::", 22) in found
    assert {entry.port for entry in found if entry.loopback} == {5001, 6443}


def test_a_certificate_of_the_test_ca_is_served_and_trusted_for_each_of_its_names(tmp_path):
    ca_cert, ca_key = authority("iac testlib CA")
    now = datetime.datetime.now(datetime.UTC)
    cert_pem, key_pem = certificate(
        "localhost", now, now + datetime.timedelta(days=1), ca_cert, ca_key, extra_names=["127.0.0.1"]
    )
    issued = x509.load_pem_x509_certificate(cert_pem)
    (tmp_path / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    trusting = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    with TLSServer(cert_pem, key_pem, tmp_path) as server:
        assert served_certificate("127.0.0.1", server.port, "localhost").serial_number == issued.serial_number
        for name in ("localhost", "127.0.0.1"):
            with (
                socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
                trusting.wrap_socket(sock, server_hostname=name) as tls,
            ):
                assert tls.version()
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            trusting.wrap_socket(sock, server_hostname="nginx-service")
