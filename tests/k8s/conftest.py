"""Fixtures for the tests that drive a real Kubernetes cluster (the one playbooks/kubernetes.yml installs).

Settings (environment):
  KUBECONFIG                 kubeconfig of the cluster (default ~/.kube/config, which the playbook writes)
  K8S_TEST_REGISTRY          registry (host:port, plain HTTP) to push the test image to; the cluster pulls it from
                             there. Default: group_vars/all/registry.yml's registry_address when it answers,
                             otherwise the image is imported straight into the node's containerd.
  K8S_TEST_CTR               ctr binary of the cluster's containerd (default /opt/k8s/bin/ctr)
  K8S_TEST_CONTAINERD        that containerd's socket (default /run/k8s-containerd/containerd.sock)
  ARTIFACTS_DIR              not needed; the image is built from tests/k8s/testapp with the local Go toolchain

The tests run on a cluster node (this machine in CI): they reach pod, ClusterIP, NodePort and LoadBalancer
addresses, which exist only inside the node, and they restart the node's kubelet.
"""

import hashlib
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml
from iac_testlib.kube import apps, core, http_get, kube
from iac_testlib.wait import wait_for
from kubernetes import client

ROOT = Path(__file__).resolve().parents[2]
TESTAPP = Path(__file__).resolve().parent / "testapp"
OCI_IMAGE = ROOT / "artifacts" / "pause" / "oci-image"
CTR = os.environ.get("K8S_TEST_CTR", "/opt/k8s/bin/ctr")
SOCKET = os.environ.get("K8S_TEST_CONTAINERD", "/run/k8s-containerd/containerd.sock")


def _registry():
    if "K8S_TEST_REGISTRY" in os.environ:
        return os.environ["K8S_TEST_REGISTRY"]
    settings = ROOT / "group_vars" / "all" / "registry.yml"
    if not settings.exists():
        return ""
    address = (yaml.safe_load(settings.read_text()) or {}).get("registry_address", "")
    try:
        http_get(f"http://{address}/v2/", timeout=3)
    except OSError:
        return ""
    return address


def ctr(*args, namespace="k8s.io"):
    return subprocess.run(
        [CTR, "--address", SOCKET, "--namespace", namespace, *args],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def test_image():
    """Build the test app (static Go binary, FROM scratch) and make it available to the cluster."""
    with tempfile.TemporaryDirectory() as work:
        binary = Path(work) / "testapp"
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), "."],
            cwd=TESTAPP,
            check=True,
            env={**os.environ, "CGO_ENABLED": "0"},
        )
        tag = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
        archive = Path(work) / "testapp.oci.tar"
        subprocess.run(
            [
                str(OCI_IMAGE),
                "--out",
                str(archive),
                "--tag",
                tag,
                "--entrypoint",
                '["/testapp"]',
                "--user",
                "65534",
                f"{binary}:/testapp",
            ],
            check=True,
            capture_output=True,
        )
        registry = _registry()
        if registry:
            # Import into a namespace the kubelet does not use, push, and let the kubelet pull from the registry.
            name = f"{registry}/tests/k8s-testapp"
            ctr(
                "images",
                "import",
                "--base-name",
                name,
                str(archive),
                namespace="k8s-tests",
            )
            ctr("images", "push", "--plain-http", f"{name}:{tag}", namespace="k8s-tests")
        else:
            name = "k8s.invalid/tests/k8s-testapp"
            ctr("images", "import", "--base-name", name, str(archive))
        return f"{name}:{tag}"


@pytest.fixture(scope="module")
def namespace(core):
    name = f"k8s-tests-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)
    wait_for(
        lambda: name not in [n.metadata.name for n in core.list_namespace().items],
        timeout=120,
        what=f"namespace {name} to be deleted",
    )
