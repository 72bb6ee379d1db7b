"""The API server's audit log (role k8s_cluster), on the running control plane of this node: the API server runs
with the role's policy and log, a request of the test is in the log within seconds, and a Secret's value is not."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest
import yaml
from iac_testlib.project import ROOT
from iac_testlib.wait import wait_for
from kubernetes import client

DEFAULTS = yaml.safe_load((ROOT / "roles" / "k8s_cluster" / "defaults" / "main.yml").read_text())
# Seconds an event may take from the answer to the log.
LOG_DELAY = 10


def apiserver():
    """The kube-apiserver process of this node: (pid, {flag: value}) from its /proc/<pid>/cmdline."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "kube-apiserver":
                    pids.append(int(entry))
            except OSError:
                continue
    assert len(pids) == 1, f"expected one kube-apiserver on this node, found {pids}"
    argv = Path(f"/proc/{pids[0]}/cmdline").read_bytes().decode().split("\0")
    flags = dict(arg.split("=", 1) for arg in argv[1:] if arg.startswith("--") and "=" in arg)
    return pids[0], flags


def started_at(pid):
    """When a process started, in seconds since the epoch (/proc/<pid>/stat's starttime after boot)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    boot = next(
        int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
    )
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


class AuditLog:
    """The audit log from the moment of creation on: what the API server wrote since (from the start of the file
    when it was rotated meanwhile)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size

    def text(self) -> str:
        offset = self.offset if self.path.stat().st_size >= self.offset else 0
        with self.path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def events(self) -> list[dict]:
        events = []
        for line in self.text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line still being written
        return events

    def find(self, verb, resource, name, namespace) -> dict:
        """The event of that request, waited for (at most LOG_DELAY seconds)."""

        def event():
            for item in self.events():
                ref = item.get("objectRef") or {}
                if (item.get("verb"), ref.get("resource"), ref.get("name"), ref.get("namespace")) == (
                    verb,
                    resource,
                    name,
                    namespace,
                ):
                    return item
            return None

        return wait_for(
            event, timeout=LOG_DELAY, interval=0.5, what=f"the audit event of {verb} {resource}/{name} in {self.path}"
        )


@pytest.fixture(scope="module")
def audit_log():
    _, flags = apiserver()
    path = flags.get("--audit-log-path")
    assert path, f"kube-apiserver runs without --audit-log-path: {sorted(flags)}"
    return Path(path)


def test_the_api_server_runs_with_the_roles_audit_policy_and_log():
    pid, flags = apiserver()
    policy = Path(DEFAULTS["k8s_cluster_config_dir"]) / "audit-policy.yaml"
    assert flags.get("--audit-policy-file") == str(policy), flags
    assert flags.get("--audit-log-path") == DEFAULTS["k8s_cluster_audit_log_path"], flags
    assert flags.get("--audit-log-maxage") == str(DEFAULTS["k8s_cluster_audit_log_max_age_days"]), flags
    assert flags.get("--audit-log-maxbackup") == str(DEFAULTS["k8s_cluster_audit_log_max_backups"]), flags
    assert flags.get("--audit-log-maxsize") == str(DEFAULTS["k8s_cluster_audit_log_max_size_mb"]), flags
    # The running process read the policy as it is now: it started after the policy was last written (give or take
    # the second that /proc/stat's boot time is rounded to).
    assert started_at(pid) + 1 >= policy.stat().st_mtime, f"kube-apiserver {pid} started before {policy} was written"
    rules = yaml.safe_load(policy.read_text())["rules"]
    assert {rule["level"] for rule in rules} <= {"None", "Metadata"}, rules
    directory = Path(DEFAULTS["k8s_cluster_audit_log_path"]).parent
    info = directory.stat()
    assert (info.st_uid, oct(info.st_mode & 0o777)) == (0, "0o700"), f"{directory}: {info}"


def test_an_api_request_is_in_the_audit_log_within_seconds(core, namespace, audit_log):
    log = AuditLog(audit_log)
    name = f"audit-{uuid.uuid4().hex[:12]}"
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"note": "audited"})
    )
    core.delete_namespaced_config_map(name, namespace)
    created = log.find("create", "configmaps", name, namespace)
    assert created["stage"] == "ResponseComplete", created
    assert created["responseStatus"]["code"] == 201, created
    assert created["user"]["username"], created
    assert created["sourceIPs"], created
    # Level Metadata: the object itself is not logged.
    assert not {"requestObject", "responseObject"} & created.keys(), created
    log.find("delete", "configmaps", name, namespace)


def test_a_secrets_value_is_not_in_the_audit_log(core, namespace, audit_log):
    log = AuditLog(audit_log)
    name = f"audit-{uuid.uuid4().hex[:12]}"
    value = f"not-for-the-log-{uuid.uuid4().hex}"
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"password": value})
    )
    stored = core.read_namespaced_secret(name, namespace).data["password"]
    assert base64.b64decode(stored).decode() == value
    core.delete_namespaced_secret(name, namespace)
    # The three requests are in the log (so its absence below is the policy's doing, not a log that was not
    # written): the value sent, the value read back and the deletion.
    for verb in ("create", "get", "delete"):
        log.find(verb, "secrets", name, namespace)
    text = log.text()
    assert value not in text, f"the Secret's value is in {audit_log}"
    assert stored not in text, f"the Secret's base64 value is in {audit_log}"
