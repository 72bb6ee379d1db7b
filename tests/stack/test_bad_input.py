"""Bad settings stop a deploy before anything changes, with a message naming the setting; the stack keeps running."""

from __future__ import annotations

import pytest
from stackctl import STACK_DIR, deploy, get, services


def containers() -> dict[str, str]:
    return {row["Service"]: row["ID"] for row in services()}


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"app_network_subnet": "172.17.5.0/24"}, "app_network_subnet 172.17.5.0/24 overlaps the host network(s)"),
        ({"app_network_subnet": "8.8.0.0/16"}, "app_network_subnet must be a private IPv4 network"),
        ({"app_network_subnet": "172.20.0.0/33"}, "app_network_subnet must be a private IPv4 network"),
        ({"app_https_port": 70000}, "app_https_port must be a port number in 1-65535"),
        ({"app_http_port": 443}, "app_https_port must be a port number in 1-65535 other than app_http_port"),
        (
            {
                "app_tls_mode": "provided",
                "app_tls_cert_file": f"{STACK_DIR}/tls/ca.crt",
                "app_tls_key_file": f"{STACK_DIR}/tls/tls.key",
            },
            "does not match app_tls_key_file",
        ),
        (
            {"registry_mode": "external", "registry_address": "127.0.0.1:5999/org"},
            "registry_address (127.0.0.1:5999/org) does not answer",
        ),
        ({"app_tls_mode": "snakeoil"}, "app_tls_mode"),
        # The app refuses a key under 32 characters (app/src/webapp/config.py): the preflight must refuse it first.
        ({"app_secret_key": "sixteen-chars-ok"}, "app_secret_key must be empty (generated once) or at least 32"),
        (
            {"app_compose_pids_limits": {"flask": 4, "nginx": 256, "postgres": 256, "redis": 64}},
            "app_compose_pids_limits must give flask, nginx, postgres and redis a limit of at least 16",
        ),
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
        "secret-key-16-characters",
        "pids-limit-too-low",
    ],
)
def test_bad_setting_fails_before_anything_changes(extra_vars, message, request):
    before = containers()
    run = deploy(extra_vars=extra_vars, name=f"bad-{request.node.callspec.id}")
    assert run.returncode != 0, run.tail()
    assert message in " ".join(run.output.split()), run.tail()
    assert run.recap, run.tail()
    assert run.changed == 0, run.tail()
    assert containers() == before
    assert get("/api/health").status_code == 200
