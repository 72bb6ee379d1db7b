"""Run a command (argv[1:]) and print, after its own output, the CPU time it used and the host's CPU counters
(/proc/stat's aggregate line) right before and right after it: the verify role measures the host's CPU use over
the load run alone (not over the tasks around it, whose start-up would count) and subtracts the load tool's own
CPU (the tool would not run on the host in production). Standard library only."""

import json
import resource
import subprocess
import sys
import time


def host_counters() -> str:
    with open("/proc/stat", encoding="ascii") as stat:
        return stat.readline().strip()


before = host_counters()
started = time.monotonic()
done = subprocess.run(sys.argv[1:], check=False)
seconds = time.monotonic() - started
after = host_counters()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
record = {
    "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
    "seconds": round(seconds, 3),
    "host_stat": [before, after],
}
print("VERIFY_RUSAGE " + json.dumps(record), flush=True)
sys.exit(done.returncode)
