"""Fixtures for the tests of the app_k8s role: they run `playbooks/app_k8s.yml` against the REAL cluster that
playbooks/kubernetes.yml installs on this machine (inventories/local-k8s), then talk to what it deployed.

They run on a node of the cluster (this machine in CI): LoadBalancer, cluster and pod addresses exist only there.
Every playbook run's output is kept in reports/app_k8s-tests/<name>.log, with its duration in durations.json.

The session starts from nothing: the role's teardown deletes the namespace, and PostgreSQL's node-local volume
(reclaim policy Retain) is wiped and given back, so the first run is a fresh install. This needs root on the node.

Settings (environment):
  KUBECONFIG            kubeconfig of the cluster (default ~/.kube/config, which playbooks/kubernetes.yml writes)
  APP_K8S_INVENTORY     inventory to run the playbook with (default inventories/local-k8s)
  APP_K8S_TEST_KEEP=1   keep what is deployed: the first run is then a run against the existing application
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes.client.rest import ApiException

# The cluster tests' helpers and API-client fixtures serve these tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "k8s"))
from kube_helpers import apps, core, kube, wait_for

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = "playbooks/app_k8s.yml"
INVENTORY = os.environ.get("APP_K8S_INVENTORY", "inventories/local-k8s")
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
LOG_DIR = ROOT / "reports" / "app_k8s-tests"
GROUP_VARS = ROOT / "group_vars" / "all"
APP = yaml.safe_load((GROUP_VARS / "app.yml").read_text())
K8S = yaml.safe_load((GROUP_VARS / "k8s.yml").read_text())
REGISTRY = yaml.safe_load((GROUP_VARS / "registry.yml").read_text())
NAMESPACE = APP["app_project"]
SERVICES = {name: aliases[0] for name, aliases in APP["app_service_aliases"].items()}
RECAP = re.compile(r"^\S+\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class Run:
    """One ansible-playbook run: return code, output, changed and failed counts of the recap, seconds."""

    def __init__(self, name: str, args: list[str], timeout: int):
        start = time.monotonic()
        result = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "-i", INVENTORY, PLAYBOOK, *args],
            cwd=ROOT,
            env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.seconds = round(time.monotonic() - start, 1)
        self.returncode = result.returncode
        self.output = result.stdout + result.stderr
        recaps = RECAP.findall(self.output)
        self.changed = sum(int(c) for c, _, _ in recaps)
        self.failed = sum(int(u) + int(f) for _, u, f in recaps)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        (LOG_DIR / f"{name}.log").write_text(self.output)
        durations = LOG_DIR / "durations.json"
        known = json.loads(durations.read_text()) if durations.exists() else {}
        known[name] = {"seconds": self.seconds, "returncode": self.returncode, "changed": self.changed}
        durations.write_text(json.dumps(known, indent=2) + "\n")

    def tail(self, chars: int = 4000) -> str:
        return self.output[-chars:]


def run_playbook(name: str, *args: str, timeout: int = 1800) -> Run:
    return Run(name, list(args), timeout)


def image_sources() -> str:
    """What the images' tags derive from: the last commit and the uncommitted changes of their build contexts."""
    paths = ["app", "roles/container_images/files/images"]

    def git(*args):  # outside a git work tree both answers are empty, which is stable too
        return subprocess.run(
            ["git", *args, "--", *paths], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout

    return git("log", "-1", "--format=%H") + git("status", "--porcelain")


def converged_run(name: str, sources: str) -> Run:
    """A run that should change nothing. Other engineers commit in this checkout: when the images' sources moved
    since `sources` was taken, the run built and rolled out the new images (a real change), so the run after it is
    the one that must change nothing."""
    run = run_playbook(name)
    if run.returncode == 0 and run.changed and image_sources() != sources:
        run = run_playbook(f"{name}-after-new-sources")
    return run


def teardown(core):
    """Delete the namespace with the role's teardown, then wipe and release the node-local volumes it claimed."""
    claimed = [
        pv
        for pv in core.list_persistent_volume().items
        if pv.spec.claim_ref is not None and pv.spec.claim_ref.namespace == NAMESPACE
    ]
    result = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK.parent / "ansible"),
            "-i",
            INVENTORY,
            "k8s_control_plane[0]",
            "-b",
            "-m",
            "ansible.builtin.include_role",
            "-a",
            "name=app_k8s tasks_from=teardown",
        ],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    for pv in claimed:
        name = pv.metadata.name
        wait_for(
            lambda name=name: core.read_persistent_volume(name).status.phase == "Released", what=f"{name} released"
        )
        if pv.spec.local is not None and os.path.isdir(pv.spec.local.path):
            for entry in os.scandir(pv.spec.local.path):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        core.patch_persistent_volume(name, {"spec": {"claimRef": None}})
        wait_for(lambda name=name: core.read_persistent_volume(name).status.phase == "Available", what=f"{name} back")


def namespace_exists(core):
    try:
        core.read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


@pytest.fixture(scope="session")
def deployed(core):
    """The first run of the playbook in this session, from nothing: it builds (cached) and deploys the application."""
    if os.environ.get("APP_K8S_TEST_KEEP") != "1" and namespace_exists(core):
        teardown(core)
        assert not namespace_exists(core)
    sources = image_sources()
    run = run_playbook("apply")
    assert run.returncode == 0, run.tail()
    run.sources = sources
    return run


def secret_values(core, name="app-secrets"):
    data = core.read_namespaced_secret(name, NAMESPACE).data or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items()}
