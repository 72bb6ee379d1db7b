"""Shared helpers of the stack tests: where the stack lives and how to reach it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = "/opt/iac/stack"
CA = f"{STACK_DIR}/tls/ca.crt"
BASE = "https://localhost"


def compose(*args: str) -> str:
    return subprocess.run(
        ["docker", "compose", "--project-directory", STACK_DIR, *args], check=True, capture_output=True, text=True
    ).stdout


def get(path: str, **kwargs) -> requests.Response:
    return requests.get(f"{BASE}{path}", verify=CA, timeout=10, **kwargs)


def ansible_env() -> dict[str, str]:
    """The caller's environment (HOME, ARTIFACTS_DIR, PATH to go, ...) with the project's venv first on PATH."""
    return {**os.environ, "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}", "ANSIBLE_FORCE_COLOR": "0"}


def run_site() -> str:
    result = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), "site.yml", "-e", "@tests/speed-gates-open.yml"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ansible_env(),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result.stdout
