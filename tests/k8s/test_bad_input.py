"""Bad input to playbooks/kubernetes.yml fails in its first checks, naming the culprit, before any host changes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The ansible-playbook of the venv running the tests, else the one on the PATH.
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
PLAYBOOK = [ANSIBLE_PLAYBOOK, "-i", "inventories/local-k8s", "playbooks/kubernetes.yml"]


def artifacts_dir():
    return Path(
        os.environ.get("ARTIFACTS_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "iac" / "artifacts"
    )


def run_playbook(*extra, env=None):
    result = subprocess.run(
        [*PLAYBOOK, "-e", "k8s_build_artifacts=false", *extra],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert " changed=0 " in output, "the failed run changed something:\n" + output[-3000:]
    return output


def test_missing_artifacts_directory_is_named(tmp_path):
    output = run_playbook(env={"ARTIFACTS_DIR": str(tmp_path)})
    assert f"Missing artifact: {tmp_path}/kubernetes/SHA256SUMS does not exist" in output


def test_sha256_mismatch_names_the_file(tmp_path):
    real = artifacts_dir()
    if not (real / "kubernetes" / "SHA256SUMS").exists():
        pytest.skip("no built artifacts to copy (run artifacts/build first)")
    for component in real.iterdir():
        if component.is_dir():
            (tmp_path / component.name).mkdir()
            for item in component.iterdir():
                (tmp_path / component.name / item.name).symlink_to(item)
    kubelet = tmp_path / "kubernetes" / "kubelet"
    kubelet.unlink()
    kubelet.write_text("not the kubelet that was built\n")
    output = run_playbook(env={"ARTIFACTS_DIR": str(tmp_path)})
    assert f"Artifact check failed in {tmp_path}/kubernetes: kubelet: FAILED" in output


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("k8s_lb_pool=10.244.3.0/28", "k8s_cluster_pod_cidr (10.244.0.0/16) overlaps k8s_cluster_lb_pool"),
        ("k8s_service_cidr=172.17.0.0/16", "k8s_cluster_service_cidr (172.17.0.0/16) overlaps"),
        ("k8s_pod_cidr=8.8.0.0/16", "k8s_cluster_pod_cidr ('8.8.0.0/16') must be a private IPv4 network"),
    ],
)
def test_bad_address_ranges_fail_validation(setting, message):
    assert message in run_playbook("-e", setting)
