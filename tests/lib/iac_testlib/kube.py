"""Kubernetes API clients for tests that drive a real cluster (the one playbooks/kubernetes.yml installs), as pytest
fixtures: a suite's conftest imports the ones it uses (`from iac_testlib.kube import apps, core, kube`)."""

from __future__ import annotations

import os
import urllib.request

import pytest
from kubernetes import client, config


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="session")
def kube() -> client.ApiClient:
    config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
    return client.ApiClient()


@pytest.fixture(scope="session")
def core(kube) -> client.CoreV1Api:
    return client.CoreV1Api(kube)


@pytest.fixture(scope="session")
def apps(kube) -> client.AppsV1Api:
    return client.AppsV1Api(kube)
