"""Fixtures for the tests of the app_k8s role: they run `playbooks/app_k8s.yml` against the REAL cluster that
playbooks/kubernetes.yml installs on this machine (inventories/local-k8s), then talk to what it deployed.

They run on a node of the cluster (this machine in CI): LoadBalancer, cluster and pod addresses exist only there.
Every playbook run's output is kept in reports/tests/app_k8s/<name>.log, with its duration in durations.json.

The session starts from nothing: the role's teardown deletes the namespace, and PostgreSQL's node-local volume
(reclaim policy Retain) is wiped and given back, so the first run is a fresh install. This needs root on the node.

Settings (environment):
  KUBECONFIG            kubeconfig of the cluster (default ~/.kube/config, which playbooks/kubernetes.yml writes)
  APP_K8S_INVENTORY     inventory to run the playbook with (default inventories/local-k8s)
  APP_K8S_TEST_KEEP=1   keep what is deployed: the first run is then a run against the existing application
"""

from __future__ import annotations

import os

import pytest
from app_k8s_helpers import image_sources, namespace_exists, run_playbook, teardown
from iac_testlib.kube import apps, core, kube


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
