"""Run a command (argv[1:]) and print, after its own output, the CPU time it used, the host's CPU counters
(/proc/stat's aggregate line) right before and right after it, the CPU ticks its ancestors used meanwhile, and those
each other command name (/proc/PID/stat) used: the verify role measures the host's CPU use over the load run alone
(not over the tasks around it, whose start-up would count), subtracts what the measurement itself costs (the load
tool, and the processes that started it: Ansible's, which run on the control node when it is another machine) and
names the busiest processes, so a breach says where the time went. Standard library only."""

import json
import os
import resource
import subprocess
import sys
import time

TOP = 8


def host_counters() -> str:
    with open("/proc/stat", encoding="ascii") as stat:
        return stat.readline().strip()


def process_ticks() -> dict[int, tuple[str, int]]:
    """utime + stime of every process, by PID, with its command name; processes that end while read are left out."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                text = stat.read()
        except OSError:
            continue
        # The command name is between the first "(" and the last ")": it may hold spaces and parentheses.
        name, rest = text[text.find("(") + 1 : text.rfind(")")], text[text.rfind(")") + 2 :].split()
        found[int(entry)] = (name, int(rest[11]) + int(rest[12]))
    return found


def ancestors(pid: int) -> set[int]:
    """The PIDs from pid's parent up to (not including) PID 1."""
    found = set()
    while True:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return found
        if pid <= 1:
            return found
        found.add(pid)


def used(before: dict, after: dict, pids: set[int]) -> int:
    """Ticks the given processes used between two readings (those alive at both)."""
    return sum(after[pid][1] - before[pid][1] for pid in pids if pid in before and pid in after)


def busiest(before: dict, after: dict, left_out: set[int]) -> list[list]:
    """Ticks used between two readings, summed by command name, for the processes alive at both."""
    by_name: dict[str, int] = {}
    for pid, (name, ticks) in after.items():
        if pid in before and pid not in left_out and before[pid][0] == name:
            by_name[name] = by_name.get(name, 0) + ticks - before[pid][1]
    return sorted(([name, ticks] for name, ticks in by_name.items() if ticks > 0), key=lambda p: -p[1])[:TOP]


harness = ancestors(os.getpid())
processes_before = process_ticks()
before = host_counters()
started = time.monotonic()
with subprocess.Popen(sys.argv[1:]) as child:
    returncode = child.wait()
seconds = time.monotonic() - started
after = host_counters()
processes_after = process_ticks()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
record = {
    "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
    "seconds": round(seconds, 3),
    "host_stat": [before, after],
    "harness_ticks": used(processes_before, processes_after, harness | {os.getpid()}),
    "busiest": busiest(processes_before, processes_after, harness | {os.getpid(), child.pid}),
}
print("VERIFY_RUSAGE " + json.dumps(record), flush=True)
sys.exit(returncode)
