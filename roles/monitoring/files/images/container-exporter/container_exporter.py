#!/usr/bin/env python3
"""Per-container CPU, memory, health and restarts of a Docker host, for Prometheus.

    container_exporter.py [--listen ADDRESS:PORT]    (default 0.0.0.0:9338; GET /metrics)

The containers, their health and their restarts come from Docker's API (read-only calls on DOCKER_SOCKET, default
/var/run/docker.sock), CPU and memory from the cgroup filesystem mounted read-only at CGROUP_ROOT (default
/sys/fs/cgroup), as cAdvisor and the kubelet read them: on this project's CI machine (Docker 20.10, cgroup v1) Docker's
own stats API answers 0 CPU and 0 B for every container while the cgroup files hold the real figures. CPU and memory
carry cAdvisor's metric names, so one set of rules serves Docker hosts and Kubernetes (the kubelet's cAdvisor); the
label `container` is the Compose service, `name` the container. COMPOSE_PROJECTS (comma-separated) limits the
export to those Compose projects; empty: every container.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_PROJECT = "com.docker.compose.project"
CPU_PERIOD = 100_000
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")

HELP = {
    "container_cpu_usage_seconds_total": ("counter", "CPU time the container's processes used, in seconds."),
    "container_memory_usage_bytes": ("gauge", "Memory the container's cgroup charges, page cache included."),
    "container_memory_working_set_bytes": ("gauge", "Memory in use less inactive file cache (what limits count)."),
    "container_spec_memory_limit_bytes": ("gauge", "The container's memory limit; 0 when it has none."),
    "container_spec_cpu_quota": ("gauge", "CPU quota per period in microseconds (only for containers with a limit)."),
    "container_spec_cpu_period": ("gauge", "CPU quota period in microseconds (only for containers with a limit)."),
    "container_start_time_seconds": ("gauge", "When the container last started, as a Unix time."),
    "iac_container_running": ("gauge", "1 while the container runs (not exited, not restarting), else 0."),
    "iac_container_healthy": ("gauge", "1 while the container's health check passes, else 0 (only with a check)."),
    "iac_container_restarts_total": ("counter", "Restarts Docker's restart policy made (the container's failures)."),
    "machine_cpu_cores": ("gauge", "CPUs of the Docker host."),
    "machine_memory_bytes": ("gauge", "Memory of the Docker host, in bytes."),
    "iac_container_exporter_errors": ("gauge", "Containers whose cgroup could not be read in this scrape."),
}


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5):
        super().__init__("docker", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def docker_get(path: str, socket_path: str):
    connection = UnixConnection(socket_path)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError(f"Docker API {path}: HTTP {response.status} {body[:200]!r}")
        return json.loads(body)
    finally:
        connection.close()


def unix_time(text: str) -> float | None:
    """Docker's RFC 3339 time (nanoseconds, Z or an offset) as a Unix time; None for its zero time."""
    match = _TIME.match(text or "")
    if not match or text.startswith("0001-01-01"):
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(match.group(1) + (match.group(2) or ".0")[:7] + zone).timestamp()


def cgroup_dirs(root: Path, container_id: str, parent: str, version: str, driver: str) -> dict[str, Path]:
    """The container's cgroup directories: {"cpu": ..., "memory": ...} (one unified directory on cgroup v2)."""
    if driver == "systemd":
        relative = f"{parent or 'system.slice'}/docker-{container_id}.scope"
    else:
        relative = f"{(parent or '/docker').strip('/')}/{container_id}"
    if version == "2":
        return {"cpu": root / relative, "memory": root / relative}
    # cpuacct is mounted alone or together with cpu, depending on the distribution.
    for controller in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
        if (root / controller / relative).is_dir():
            return {"cpu": root / controller / relative, "memory": root / "memory" / relative}
    return {"cpu": root / "cpuacct" / relative, "memory": root / "memory" / relative}


def _stat(path: Path) -> dict[str, int]:
    return {key: int(value) for key, value in (line.split() for line in path.read_text().splitlines() if line)}


def cgroup_usage(dirs: dict[str, Path], version: str) -> dict[str, float]:
    """CPU seconds, memory usage and working set from the cgroup files; OSError when they cannot be read."""
    if version == "2":
        cpu = _stat(dirs["cpu"] / "cpu.stat")["usage_usec"] / 1e6
        usage = int((dirs["memory"] / "memory.current").read_text())
        inactive = _stat(dirs["memory"] / "memory.stat").get("inactive_file", 0)
    else:
        cpu = int((dirs["cpu"] / "cpuacct.usage").read_text()) / 1e9
        usage = int((dirs["memory"] / "memory.usage_in_bytes").read_text())
        inactive = _stat(dirs["memory"] / "memory.stat").get("total_inactive_file", 0)
    return {"cpu": cpu, "usage": usage, "working_set": max(usage - inactive, 0)}


def cpu_quota(host_config: dict) -> int:
    """The CPU limit as a quota per CPU_PERIOD microseconds (--cpus or --cpu-quota); 0 when there is none."""
    if host_config.get("NanoCpus"):
        return round(host_config["NanoCpus"] / 1e9 * CPU_PERIOD)
    quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or CPU_PERIOD
    return round(quota * CPU_PERIOD / period) if quota > 0 else 0


def samples(inspect: dict, usage: dict[str, float] | None) -> list[tuple[str, dict[str, str], float]]:
    """The samples of one container from `docker inspect` and its cgroup usage (None: not running or unreadable)."""
    config_labels = (inspect.get("Config") or {}).get("Labels") or {}
    name = inspect["Name"].lstrip("/")
    labels = {
        "name": name,
        "container": config_labels.get(COMPOSE_SERVICE, name),
        "compose_project": config_labels.get(COMPOSE_PROJECT, ""),
    }
    state = inspect.get("State") or {}
    host_config = inspect.get("HostConfig") or {}
    out = [
        ("iac_container_running", labels, 1.0 if state.get("Running") and not state.get("Restarting") else 0.0),
        ("iac_container_restarts_total", labels, float(inspect.get("RestartCount", 0))),
        ("container_spec_memory_limit_bytes", labels, float(host_config.get("Memory") or 0)),
    ]
    health = (state.get("Health") or {}).get("Status")
    if health:
        out.append(("iac_container_healthy", labels, 1.0 if health == "healthy" else 0.0))
    started = unix_time(state.get("StartedAt", ""))
    if started is not None:
        out.append(("container_start_time_seconds", labels, started))
    quota = cpu_quota(host_config)
    if quota:
        out += [("container_spec_cpu_quota", labels, float(quota)), ("container_spec_cpu_period", labels, CPU_PERIOD)]
    if usage is not None:
        out += [
            ("container_cpu_usage_seconds_total", labels, usage["cpu"]),
            ("container_memory_usage_bytes", labels, float(usage["usage"])),
            ("container_memory_working_set_bytes", labels, float(usage["working_set"])),
        ]
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(found: list[tuple[str, dict[str, str], float]]) -> str:
    """Prometheus's text format, every metric with its HELP and TYPE once, in the order of HELP."""
    lines = []
    for metric, (kind, text) in HELP.items():
        rows = [(labels, value) for name, labels, value in found if name == metric]
        if not rows:
            continue
        lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}"]
        for labels, value in rows:
            rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            lines.append(f"{metric}{{{rendered}}} {value!r}" if rendered else f"{metric} {value!r}")
    return "\n".join(lines) + "\n"


def collect(socket_path: str, cgroup_root: Path, projects: frozenset[str]) -> str:
    info = docker_get("/info", socket_path)
    version, driver = str(info.get("CgroupVersion") or "1"), info.get("CgroupDriver", "cgroupfs")
    found: list[tuple[str, dict[str, str], float]] = [
        ("machine_cpu_cores", {}, float(info["NCPU"])),
        ("machine_memory_bytes", {}, float(info["MemTotal"])),
    ]
    errors = 0
    for summary in docker_get("/containers/json?all=1", socket_path):
        if projects and (summary.get("Labels") or {}).get(COMPOSE_PROJECT) not in projects:
            continue
        try:
            inspect = docker_get(f"/containers/{summary['Id']}/json", socket_path)
        except OSError:
            continue  # removed between the list and the inspect
        usage = None
        if (inspect.get("State") or {}).get("Running"):
            parent = (inspect.get("HostConfig") or {}).get("CgroupParent", "")
            try:
                usage = cgroup_usage(cgroup_dirs(cgroup_root, inspect["Id"], parent, version, driver), version)
            except (OSError, KeyError, ValueError) as error:
                errors += 1
                print(f"container-exporter: {inspect['Name'].lstrip('/')}: {error}", file=sys.stderr)
        found += samples(inspect, usage)
    found.append(("iac_container_exporter_errors", {}, float(errors)))
    return exposition(found)


class Handler(BaseHTTPRequestHandler):
    socket_path = "/var/run/docker.sock"
    cgroup_root = Path("/sys/fs/cgroup")
    projects: frozenset[str] = frozenset()

    def do_GET(self):
        if self.path.split("?")[0] == "/metrics":
            try:
                body, status = collect(self.socket_path, self.cgroup_root, self.projects).encode(), 200
            except (OSError, ValueError, KeyError) as error:
                body, status = f"cannot read Docker's containers: {error}\n".encode(), 503
            content_type = "text/plain; version=0.0.4; charset=utf-8"
        elif self.path == "/":
            body, status, content_type = b"container-exporter: GET /metrics\n", 200, "text/plain"
        else:
            body, status, content_type = b"not found\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        """Scrapes every few seconds would flood the log; errors go to stderr in collect()."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:9338", help="address:port to serve /metrics on")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    Handler.socket_path = os.environ.get("DOCKER_SOCKET", "/var/run/docker.sock")
    Handler.cgroup_root = Path(os.environ.get("CGROUP_ROOT", "/sys/fs/cgroup"))
    Handler.projects = frozenset(p for p in os.environ.get("COMPOSE_PROJECTS", "").split(",") if p)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"container-exporter: serving http://{args.listen}/metrics", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
