"""The container exporter's parsing: Docker's inspect output and the cgroup files (v1 and v2) into Prometheus's
text format. Inputs are shaped like the ones recorded on this project's CI machine (Docker 20.10, cgroup v1)."""

from __future__ import annotations

from pathlib import Path

import container_exporter as ce
import pytest

ID = "0e1df0df467113d7d98c5078b637d17c492fb724c01adc4ac1459ac74b5aa75c"
INSPECT = {
    "Id": ID,
    "Name": "/iac-redis-1",
    "RestartCount": 2,
    "State": {
        "Running": True,
        "Restarting": False,
        "StartedAt": "2026-12-02T11:29:25.886950123Z",
        "Health": {"Status": "unhealthy"},
    },
    "HostConfig": {"Memory": 536870912, "NanoCpus": 500000000, "CgroupParent": ""},
    "Config": {"Labels": {"com.docker.compose.service": "redis", "com.docker.compose.project": "iac"}},
}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v1_cpu_and_working_set(tmp_path):
    write(tmp_path / "cpuacct" / "docker" / ID / "cpuacct.usage", "15846877113\n")
    write(tmp_path / "memory" / "docker" / ID / "memory.usage_in_bytes", "6746112\n")
    write(tmp_path / "memory" / "docker" / ID / "memory.stat", "cache 2000000\ntotal_inactive_file 1679360\n")
    dirs = ce.cgroup_dirs(tmp_path, ID, "", "1", "cgroupfs")
    assert ce.cgroup_usage(dirs, "1") == {"cpu": 15.846877113, "usage": 6746112, "working_set": 5066752}


def test_cgroup_v1_with_cpu_and_cpuacct_mounted_together(tmp_path):
    write(tmp_path / "cpu,cpuacct" / "system.slice" / f"docker-{ID}.scope" / "cpuacct.usage", "1\n")
    dirs = ce.cgroup_dirs(tmp_path, ID, "", "1", "systemd")
    assert dirs["cpu"] == tmp_path / "cpu,cpuacct" / "system.slice" / f"docker-{ID}.scope"
    assert dirs["memory"] == tmp_path / "memory" / "system.slice" / f"docker-{ID}.scope"


def test_cgroup_v2_unified(tmp_path):
    scope = tmp_path / "system.slice" / f"docker-{ID}.scope"
    write(scope / "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    write(scope / "memory.current", "1000000\n")
    write(scope / "memory.stat", "anon 600000\ninactive_file 300000\n")
    usage = ce.cgroup_usage(ce.cgroup_dirs(tmp_path, ID, "", "2", "systemd"), "2")
    assert usage == {"cpu": 2.5, "usage": 1000000, "working_set": 700000}


def test_an_unreadable_cgroup_is_an_error_not_a_zero(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cpuacct\.usage"):
        ce.cgroup_usage(ce.cgroup_dirs(tmp_path, ID, "", "1", "cgroupfs"), "1")


def test_samples_of_a_running_unhealthy_limited_container():
    found = {
        name: (labels, value)
        for name, labels, value in ce.samples(INSPECT, {"cpu": 1.5, "usage": 10, "working_set": 8})
    }
    labels = {"name": "iac-redis-1", "container": "redis", "compose_project": "iac"}
    assert found["iac_container_running"] == (labels, 1.0)
    assert found["iac_container_healthy"] == (labels, 0.0)
    assert found["iac_container_restarts_total"] == (labels, 2.0)
    assert found["container_spec_memory_limit_bytes"] == (labels, 536870912.0)
    assert found["container_spec_cpu_quota"] == (labels, 50000.0)
    assert found["container_spec_cpu_period"] == (labels, 100000)
    assert found["container_start_time_seconds"][1] == pytest.approx(1796210965.88695)
    assert found["container_cpu_usage_seconds_total"] == (labels, 1.5)
    assert found["container_memory_working_set_bytes"] == (labels, 8.0)


def test_samples_of_an_exited_container_without_health_check_or_limits():
    inspect = {
        **INSPECT,
        "Name": "/oneoff",
        "RestartCount": 0,
        "State": {"Running": False, "StartedAt": "0001-01-01T00:00:00Z"},
        "HostConfig": {},
        "Config": {"Labels": None},
    }
    found = {name: (labels, value) for name, labels, value in ce.samples(inspect, None)}
    assert found["iac_container_running"] == ({"name": "oneoff", "container": "oneoff", "compose_project": ""}, 0.0)
    assert found["container_spec_memory_limit_bytes"][1] == 0.0
    for absent in (
        "iac_container_healthy",
        "container_start_time_seconds",
        "container_spec_cpu_quota",
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
    ):
        assert absent not in found, f"{absent}: nothing was measured, so nothing is reported"


def test_a_restarting_container_is_not_running():
    inspect = {**INSPECT, "State": {**INSPECT["State"], "Restarting": True}}
    found = {name: value for name, _, value in ce.samples(inspect, None)}
    assert found["iac_container_running"] == 0.0


@pytest.mark.parametrize(
    ("host_config", "quota"),
    [
        ({"NanoCpus": 1500000000}, 150000),
        ({"CpuQuota": 50000, "CpuPeriod": 50000}, 100000),
        ({"CpuQuota": -1}, 0),
        ({}, 0),
    ],
)
def test_cpu_limits_as_a_quota_per_100ms(host_config, quota):
    assert ce.cpu_quota(host_config) == quota


def test_exposition_has_help_type_and_escaped_labels():
    text = ce.exposition(
        [
            ("iac_container_running", {"name": 'a"b\\c'}, 1.0),
            ("machine_cpu_cores", {}, 2.0),
            ("iac_container_running", {"name": "d"}, 0.0),
        ]
    )
    assert text.splitlines() == [
        "# HELP iac_container_running 1 while the container runs (not exited, not restarting), else 0.",
        "# TYPE iac_container_running gauge",
        'iac_container_running{name="a\\"b\\\\c"} 1.0',
        'iac_container_running{name="d"} 0.0',
        "# HELP machine_cpu_cores CPUs of the Docker host.",
        "# TYPE machine_cpu_cores gauge",
        "machine_cpu_cores 2.0",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-12-02T11:29:25Z", 1796210965.0),
        ("2026-12-02T12:29:25.5+01:00", 1796210965.5),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
    ],
)
def test_docker_times(text, seconds):
    assert ce.unix_time(text) == seconds
