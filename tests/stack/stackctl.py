"""Shared helpers of the stack tests: where the stack lives and how to reach it."""

from __future__ import annotations

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


def run_site() -> str:
    result = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), "site.yml"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": f"{ROOT / '.venv/bin'}:/usr/sbin:/usr/bin:/sbin:/bin", "ANSIBLE_FORCE_COLOR": "0"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return result.stdout
