"""Polling, HTTP and API-client helpers shared by the Kubernetes tests (tests/k8s and tests/app_k8s)."""

import os
import time
import urllib.request

import pytest
from kubernetes import client, config


def wait_for(predicate, timeout=180, interval=2, what="condition"):
    """Poll predicate() until it returns a truthy value; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # transient API and network errors while waiting
            last_error = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="session")
def kube():
    config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    return client.ApiClient()


@pytest.fixture(scope="session")
def core(kube):
    return client.CoreV1Api(kube)


@pytest.fixture(scope="session")
def apps(kube):
    return client.AppsV1Api(kube)
