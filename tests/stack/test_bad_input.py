"""Bad settings stop a deploy before anything changes, with a message naming the setting; the stack keeps running."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from stackctl import ROOT, STACK_DIR, ansible_env, compose, get


def deploy(*extra_vars: str) -> subprocess.CompletedProcess:
    args = [arg for var in extra_vars for arg in ("-e", var)]
    return subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), "playbooks/deploy.yml", *args],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        env=ansible_env(),
    )


def containers() -> dict[str, str]:
    return {
        json.loads(line)["Service"]: json.loads(line)["ID"] for line in compose("ps", "--format", "json").splitlines()
    }


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        (["app_network_subnet=172.17.5.0/24"], "app_network_subnet 172.17.5.0/24 overlaps the host network(s)"),
        (["app_network_subnet=8.8.0.0/16"], "app_network_subnet must be a private IPv4 network"),
        (["app_network_subnet=172.20.0.0/33"], "app_network_subnet must be a private IPv4 network"),
        (["app_https_port=70000"], "app_https_port must be a port number in 1-65535"),
        (["app_http_port=443"], "app_https_port must be a port number in 1-65535 other than app_http_port"),
        (
            [
                "app_stack_tls_mode=provided",
                f"app_stack_tls_cert_file={STACK_DIR}/tls/ca.crt",
                f"app_stack_tls_key_file={STACK_DIR}/tls/server.key",
            ],
            "does not match app_stack_tls_key_file",
        ),
        (
            ["registry_mode=external", "registry_address=127.0.0.1:5999/org"],
            "registry_address (127.0.0.1:5999/org) does not answer",
        ),
        (["app_stack_tls_mode=snakeoil"], "app_stack_tls_mode"),
    ],
    ids=[
        "subnet-overlap",
        "subnet-public",
        "subnet-malformed",
        "port-range",
        "port-twice",
        "cert-key-mismatch",
        "registry-unreachable",
        "unknown-choice",
    ],
)
def test_bad_setting_fails_before_anything_changes(extra_vars, message):
    before = containers()
    result = deploy(*extra_vars)
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split()), result.stdout[-2000:]
    recap = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", result.stdout)
    assert recap, result.stdout[-2000:]
    assert recap.group(1) == "0", result.stdout[-2000:]
    assert containers() == before
    assert get("/api/health").status_code == 200
