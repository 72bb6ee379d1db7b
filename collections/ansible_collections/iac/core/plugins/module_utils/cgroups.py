#!/usr/bin/env python3
"""Print, as JSON, the CPU time and memory of the cgroups of the given process ids (each a container's init
process), with the time of the reading:
    {"monotonic": seconds, "pids": {"<pid>": {"version": 1|2, "cpu_ns": ..., "memory_bytes": ...,
                                              "memory_limit": ... or null}}}
or {"error": "..."} for a pid that cannot be read. One source, two uses: verify copies this file to the host and
runs it around its load runs (roles/verify/files/cgroups.py links here); the module iac.core.cgroup_usage imports
it (the monitor role's CPU and memory now). Docker's stats API reads the same files, but on some engines
(cgroup v1 with the cgroupfs driver under a supervisor, as here) it answers zeros; the files are the source.

Memory is the usage minus the inactive file cache, as `docker stats` and the kubelet count it.
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
UNLIMITED = 1 << 62  # cgroup v1 reports "no limit" as a page-rounded 2**63-1


def read(path: Path) -> str:
    return path.read_text().strip()


def stat(path: Path) -> dict:
    return {key: int(value) for key, value in (line.split() for line in path.read_text().splitlines())}


def sample(pid: str) -> dict:
    paths = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path.lstrip("/")
    if "" in paths and "memory" not in paths:
        group = ROOT / paths[""]
        memory = int(read(group / "memory.current")) - stat(group / "memory.stat").get("inactive_file", 0)
        limit = read(group / "memory.max")
        return {
            "version": 2,
            "cpu_ns": stat(group / "cpu.stat")["usage_usec"] * 1000,
            "memory_bytes": memory,
            "memory_limit": None if limit == "max" else int(limit),
        }
    cpu = ROOT / "cpuacct" / paths["cpuacct"]
    memory_dir = ROOT / "memory" / paths["memory"]
    memory = int(read(memory_dir / "memory.usage_in_bytes"))
    memory -= stat(memory_dir / "memory.stat").get("total_inactive_file", 0)
    limit = int(read(memory_dir / "memory.limit_in_bytes"))
    return {
        "version": 1,
        "cpu_ns": int(read(cpu / "cpuacct.usage")),
        "memory_bytes": memory,
        "memory_limit": None if limit >= UNLIMITED else limit,
    }


def reading(pids: list[str]) -> dict:
    """One reading of every pid's cgroup, with its monotonic time."""
    found = {}
    for pid in pids:
        try:
            found[pid] = sample(pid)
        except (OSError, KeyError, ValueError) as exc:
            found[pid] = {"error": f"{type(exc).__name__}: {exc}"}
    return {"monotonic": time.monotonic(), "pids": found}


def main(pids: list[str]) -> int:
    print(json.dumps(reading(pids), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
