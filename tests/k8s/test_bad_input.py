"""Bad input to playbooks/kubernetes.yml fails in its first checks, naming the culprit, before any host changes."""

import os
from pathlib import Path

import pytest
from iac_testlib.ansible import playbook
from iac_testlib.project import ansible_env


def artifacts_dir():
    return Path(
        os.environ.get("ARTIFACTS_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "iac" / "artifacts"
    )


def run_playbook(name, *extra, env=None):
    run = playbook(
        "playbooks/kubernetes.yml",
        *extra,
        inventory="inventories/local-k8s",
        extra_vars={"k8s_build_artifacts": False},
        name=name,
        env=ansible_env(**(env or {})),
        timeout=600,
    )
    assert run.returncode != 0, run.tail()
    assert run.recap, run.tail()
    assert run.changed == 0, "the failed run changed something:\n" + run.tail()
    return run.output


def test_missing_artifacts_directory_is_named(tmp_path):
    output = run_playbook("missing-artifacts", env={"ARTIFACTS_DIR": str(tmp_path)})
    assert f"Missing artifact: {tmp_path}/kubernetes/SHA256SUMS does not exist" in output


def test_sha256_mismatch_names_the_file(tmp_path):
    real = artifacts_dir()
    assert (real / "kubernetes" / "SHA256SUMS").exists(), f"no built artifacts in {real} to copy: run artifacts/build"
    for component in real.iterdir():
        if component.is_dir():
            (tmp_path / component.name).mkdir()
            for item in component.iterdir():
                (tmp_path / component.name / item.name).symlink_to(item)
    kubelet = tmp_path / "kubernetes" / "kubelet"
    kubelet.unlink()
    kubelet.write_text("not the kubelet that was built\n")
    output = run_playbook("sha256-mismatch", env={"ARTIFACTS_DIR": str(tmp_path)})
    assert f"Artifact check failed in {tmp_path}/kubernetes: kubelet: FAILED" in output


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("k8s_lb_pool=10.244.3.0/28", "k8s_cluster_pod_cidr (10.244.0.0/16) overlaps k8s_cluster_lb_pool"),
        ("k8s_service_cidr=172.17.0.0/16", "k8s_cluster_service_cidr (172.17.0.0/16) overlaps"),
        ("k8s_pod_cidr=8.8.0.0/16", "k8s_cluster_pod_cidr ('8.8.0.0/16') must be a private IPv4 network"),
        (
            "k8s_cluster_audit_log_path=/var/log/audit.log",
            "k8s_cluster_audit_log_path ('/var/log/audit.log') must be an absolute file path in a directory of its own",
        ),
    ],
)
def test_bad_address_ranges_fail_validation(setting, message):
    assert message in run_playbook(f"bad-{setting.split('=')[0]}", "-e", setting)
