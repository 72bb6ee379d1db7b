"""Certificates and TLS servers for tests: a CA, a certificate for any names and validity (signed by a given CA, or
self-signed), the certificate a server presents, and a real `openssl s_server` on loopback that serves one with
chosen protocol versions.

    with TLSServer(cert, key, max_protocol="TLSv1.1") as server:    # accepts TLS 1.0/1.1 at SECLEVEL=0
        ... verify with verify_https_port=server.port ...
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.UTC


def _san(name: str) -> x509.GeneralName:
    return x509.IPAddress(ipaddress.ip_address(name)) if re.match(r"^[0-9.]+$", name) else x509.DNSName(name)


def authority(name: str, days: int = 30) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA (certificate and key) named `name`, valid from yesterday for `days` days, to sign with certificate()."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def certificate(
    name: str,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    ca_cert: x509.Certificate | None = None,
    ca_key=None,
    extra_names: tuple[str, ...] | list[str] = (),
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a server certificate for `name` and `extra_names` (DNS names or IP addresses),
    valid in [not_before, not_after], signed by ca_cert/ca_key or self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    san = [_san(each) for each in dict.fromkeys([name, *extra_names])]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject if ca_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key or key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def expired_for(name: str, ca_cert=None, ca_key=None) -> tuple[bytes, bytes]:
    """A certificate for `name` that expired yesterday."""
    now = datetime.datetime.now(UTC)
    return certificate(name, now - datetime.timedelta(days=90), now - datetime.timedelta(days=1), ca_cert, ca_key)


def served_certificate(address: str, port: int, server_name: str) -> x509.Certificate:
    """The certificate the TLS server at address:port presents to a client that asks for `server_name` (SNI), read
    without verifying it (the caller compares it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((address, port), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname=server_name) as tls,
    ):
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TLSServer:
    """`openssl s_server` on 127.0.0.1 with the given certificate, protocol range and cipher security level."""

    def __init__(
        self,
        cert_pem: bytes,
        key_pem: bytes,
        workdir: Path,
        min_protocol="TLSv1",
        max_protocol="TLSv1.3",
        seclevel: int = 0,
    ):
        self.workdir = workdir
        self.port = free_port()
        (workdir / "server.crt").write_bytes(cert_pem)
        (workdir / "server.key").write_bytes(key_pem)
        self.argv = [
            "openssl",
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            f"127.0.0.1:{self.port}",
            "-cert",
            str(workdir / "server.crt"),
            "-key",
            str(workdir / "server.key"),
            "-min_protocol",
            min_protocol,
            "-max_protocol",
            max_protocol,
            "-cipher",
            f"DEFAULT@SECLEVEL={seclevel}",
        ]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> TLSServer:
        self.process = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"openssl s_server did not listen on {self.port}: {' '.join(self.argv)}")

    def __exit__(self, *exc) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
