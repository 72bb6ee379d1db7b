"""HTTP and pod helpers of the app_k8s tests."""

from __future__ import annotations

import ipaddress

import requests
from kubernetes.stream import stream


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
