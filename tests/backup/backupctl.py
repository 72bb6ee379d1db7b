"""Helpers of the backup tests: the stack deployed on this machine (as tests/stack reaches it), its items through the
API, the backup and restore playbooks, and the backups iac-backup keeps on the host."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import requests
import yaml
from iac_testlib.ansible import Run, playbook
from iac_testlib.project import ROOT, settings
from iac_testlib.wait import wait_for

SETTINGS = settings()
STACK_DIR = SETTINGS["app_stack_dir"]
PROJECT = SETTINGS["app_project"]
CA = f"{STACK_DIR}/tls/ca.crt"
BASE = "https://localhost"
DEFAULTS = yaml.safe_load((ROOT / "roles/backup/defaults/main.yml").read_text())
BACKUP_DIR = Path(DEFAULTS["backup_dir"])
SCRIPT = "/usr/local/sbin/iac-backup"


def compose(*args: str) -> str:
    return subprocess.run(
        ["docker", "compose", "--project-directory", STACK_DIR, *args], check=True, capture_output=True, text=True
    ).stdout


def containers() -> dict[str, str]:
    """{service: container id} of the stack's running containers."""
    rows = [json.loads(line) for line in compose("ps", "--format", "json").splitlines() if line.strip()]
    return {row["Service"]: row["ID"] for row in rows}


def healthy() -> bool:
    response = requests.get(f"{BASE}/api/health", verify=CA, timeout=10)
    return response.status_code == 200 and response.json()["status"] == "ok"


def add_items(count: int, tag: str | None = None) -> list[dict]:
    """`count` new items through Nginx (POST /api/items), named after a tag of their own."""
    tag = tag or uuid.uuid4().hex[:8]
    session = requests.Session()
    made = []
    for n in range(count):
        body = {"name": f"backup-{tag}-{n}", "description": f"item {n} of {tag}", "quantity": n}
        response = session.post(f"{BASE}/api/items", json=body, verify=CA, timeout=10)
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def all_items() -> list[dict]:
    """Every item, read through Nginx page by page (newest first), each with all of its fields."""
    session = requests.Session()
    items: list[dict] = []
    while True:
        response = session.get(f"{BASE}/api/items", params={"limit": 100, "offset": len(items)}, verify=CA, timeout=10)
        assert response.status_code == 200, response.text
        page = response.json()["items"]
        items += page
        if len(page) < 100:
            return items


def backup(*args: str, extra_vars: dict | None = None, name: str = "backup") -> Run:
    return playbook("playbooks/backup.yml", *args, extra_vars=extra_vars, name=name)


def restore(*args: str, extra_vars: dict | None = None, name: str = "restore") -> Run:
    return playbook("playbooks/restore.yml", *args, extra_vars=extra_vars, name=name)


def redeploy_stack(name: str = "redeploy") -> Run:
    """The stack's own playbook, its stack part only (the running release, no image build)."""
    return playbook("playbooks/deploy.yml", "--tags", "stack", name=name)


def good_backups() -> list[dict]:
    """iac-backup list on this host: the verified backups' manifests, newest first."""
    done = subprocess.run([SCRIPT, "list"], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def wait_healthy(what: str = "the app healthy through Nginx") -> None:
    wait_for(healthy, what, timeout=120)
