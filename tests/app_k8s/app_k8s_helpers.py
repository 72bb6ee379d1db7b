"""Settings, playbook runs, teardown, HTTP and pod helpers of the app_k8s tests."""

from __future__ import annotations

import base64
import ipaddress
import os
import shutil
import subprocess

import requests
from iac_testlib.ansible import Run, adhoc, playbook
from iac_testlib.project import ROOT, settings
from iac_testlib.wait import wait_for
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

PLAYBOOK = "playbooks/app_k8s.yml"
INVENTORY = os.environ.get("APP_K8S_INVENTORY", "inventories/local-k8s")
SETTINGS = settings()
NAMESPACE = SETTINGS["app_project"]
SERVICES = {name: aliases[0] for name, aliases in SETTINGS["app_service_aliases"].items()}


def run_playbook(name: str, *args: str, extra_vars: dict | None = None, timeout: int = 1800) -> Run:
    return playbook(PLAYBOOK, *args, inventory=INVENTORY, extra_vars=extra_vars, name=name, timeout=timeout)


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


def teardown(core) -> None:
    """Delete the namespace with the role's teardown, then wipe and release the node-local volumes it claimed."""
    claimed = [
        pv
        for pv in core.list_persistent_volume().items
        if pv.spec.claim_ref is not None and pv.spec.claim_ref.namespace == NAMESPACE
    ]
    run = adhoc(
        "k8s_control_plane[0]",
        "ansible.builtin.include_role",
        "name=app_k8s tasks_from=teardown",
        "-b",
        inventory=INVENTORY,
        name="teardown",
    )
    assert run.returncode == 0, run.tail()
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


def namespace_exists(core) -> bool:
    try:
        core.read_namespace(NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def secret_values(core, name: str = "app-secrets") -> dict[str, str]:
    data = core.read_namespaced_secret(name, NAMESPACE).data or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def service_address(core, namespace, name):
    """The LoadBalancer address of a Service (None while it has none)."""
    ingress = core.read_namespaced_service(name, namespace).status.load_balancer.ingress
    return ingress[0].ip if ingress else None


def in_pool(address, pool):
    return ipaddress.ip_address(address) in ipaddress.ip_network(pool, strict=False)


def pod_ready(pod):
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


def pods(core, namespace, app):
    return core.list_namespaced_pod(namespace, label_selector=f"app={app}").items


def ready_pods(core, namespace, app):
    return [p for p in pods(core, namespace, app) if pod_ready(p)]


def health(base_url, **kwargs):
    """GET /api/health; the response when it says the database and the cache are up, else None."""
    response = requests.get(f"{base_url}/api/health", timeout=5, **kwargs)
    body = response.json()
    ok = (
        response.status_code == 200
        and body.get("status") == "ok"
        and body["checks"]["postgres"]["status"] == "ok"
        and body["checks"]["redis"]["status"] == "ok"
    )
    return response if ok else None


def pod_exec(core, namespace, pod, container, command):
    """Run a command in a container through the API server; returns its output."""
    return stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        container=container,
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
