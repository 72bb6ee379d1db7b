"""Helpers of the stack tests: where the stack deployed on this machine lives and how to reach and redeploy it."""

from __future__ import annotations

import json
import subprocess
from functools import cache

import requests
from iac_testlib.ansible import Run, evaluated, playbook
from iac_testlib.project import settings

SETTINGS = settings()
STACK_DIR = SETTINGS["app_stack_dir"]
CA = f"{STACK_DIR}/tls/ca.crt"
BASE = "https://localhost"


def compose(*args: str) -> str:
    return subprocess.run(
        ["docker", "compose", "--project-directory", STACK_DIR, *args], check=True, capture_output=True, text=True
    ).stdout


def services() -> list[dict]:
    """The stack's containers as `docker compose ps` reports them."""
    return [json.loads(line) for line in compose("ps", "--format", "json").splitlines() if line.strip()]


@cache
def public_hostname() -> str:
    """app_public_hostname as the deploy sees it on this machine (its group_vars default is a Jinja expression)."""
    return evaluated("app_public_hostname")


def get(path: str, **kwargs) -> requests.Response:
    return requests.get(f"{BASE}{path}", verify=CA, timeout=10, **kwargs)


def deploy(*args: str, extra_vars: dict | None = None, name: str = "deploy") -> Run:
    """playbooks/deploy.yml on this machine (the stack's own playbook)."""
    return playbook("playbooks/deploy.yml", *args, extra_vars=extra_vars, name=name)


def run_site(name: str = "site") -> Run:
    """site.yml as README command 1 runs it, without its verify play (read-only; the deploy and verify stages gate
    it): a converge whose changes the tests count."""
    run = playbook("site.yml", "--skip-tags", "verify", name=name)
    assert run.returncode == 0, run.tail()
    return run
