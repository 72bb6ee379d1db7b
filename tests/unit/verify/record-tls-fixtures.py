"""Records the TLS outputs the unit tests read, from real servers on loopback: the stack's Nginx
(VERIFY_HTTPS_PORT, its CA at VERIFY_CA_FILE) and an openssl s_server that accepts TLS 1.0/1.1 only at
SECLEVEL=0 and serves a self-signed certificate for another name that expired yesterday, and the same server
accepting TLS 1.0 to 1.3. openssl s_client -brief per protocol, and
community.crypto's get_certificate / x509_certificate_info (run with `ansible`, as the role runs them).

    VERIFY_HTTPS_PORT=18443 VERIFY_CA_FILE=/opt/iacv/stack/tls/ca.crt PYTHONPATH=tests/lib \
        .venv/bin/python tests/unit/verify/record-tls-fixtures.py
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

from iac_testlib.project import VENV_BIN
from iac_testlib.tls import TLSServer, expired_for

FIXTURES = Path(__file__).parent / "fixtures"
OPTIONS = {"default": [], "TLSv1": ["-tls1"], "TLSv1.1": ["-tls1_1"], "TLSv1.2": ["-tls1_2"], "TLSv1.3": ["-tls1_3"]}


def s_client(port):
    out = {}
    for name, option in OPTIONS.items():
        done = subprocess.run(
            [
                "openssl",
                "s_client",
                "-connect",
                f"127.0.0.1:{port}",
                "-servername",
                "localhost",
                "-brief",
                "-cipher",
                "DEFAULT@SECLEVEL=0",
                *option,
            ],
            input="",
            capture_output=True,
            text=True,
            check=False,
        )
        out[name] = {"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
    return out


def module(name, args):
    done = subprocess.run(
        [str(VENV_BIN / "ansible"), "localhost", "-m", name, "-a", json.dumps(args), "-o"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = done.stdout
    return json.loads(text[text.index("{") :])


def certificates(port, ca):
    served = module("community.crypto.get_certificate", {"host": "127.0.0.1", "port": port, "server_name": "localhost"})
    trusted = module(
        "community.crypto.get_certificate",
        {"host": "127.0.0.1", "port": port, "server_name": "localhost", "ca_cert": ca},
    )
    info = module("community.crypto.x509_certificate_info", {"content": served["cert"]}) if "cert" in served else {}
    return {"served": served, "trusted": trusted, "info": info}


def main():
    port, ca = (
        int(os.environ.get("VERIFY_HTTPS_PORT", "443")),
        os.environ.get("VERIFY_CA_FILE", "/opt/iac/stack/tls/ca.crt"),
    )
    stack = {"probes": s_client(port), **certificates(port, ca), "ca_file": ca}
    (FIXTURES / "tls-stack.json").write_text(json.dumps(stack, indent=1) + "\n")
    with tempfile.TemporaryDirectory() as work:
        cert, key = expired_for("wrong-name.invalid")
        with TLSServer(cert, key, Path(work), max_protocol="TLSv1.1") as server:
            legacy = {"probes": s_client(server.port), **certificates(server.port, ca), "ca_file": ca}
        # TLS 1.0 to 1.3: the same certificate is readable by get_certificate (TLS 1.2+), so every check judges it.
        with TLSServer(cert, key, Path(work), max_protocol="TLSv1.3") as server:
            weak = {"probes": s_client(server.port), **certificates(server.port, ca), "ca_file": ca}
    (FIXTURES / "tls-legacy-server.json").write_text(json.dumps(legacy, indent=1) + "\n")
    (FIXTURES / "tls-weak-server.json").write_text(json.dumps(weak, indent=1) + "\n")


main()
