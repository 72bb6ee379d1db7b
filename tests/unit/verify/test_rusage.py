"""rusage.py, run for real: the CPU of the load run's starters is counted apart from the host's other processes."""

import json
import subprocess
import sys
import time
from pathlib import Path

RUSAGE = Path(__file__).resolve().parents[3] / "roles/verify/files/rusage.py"


def test_the_starters_cpu_is_counted_as_the_measurements_own_and_left_out_of_the_busiest():
    # This test process starts rusage.py and burns CPU while the run lasts: as Ansible's processes do on a host
    # that is its own control node.
    run = subprocess.Popen([sys.executable, str(RUSAGE), "sleep", "1"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 0.8
    while time.monotonic() < deadline:
        pass
    output, _ = run.communicate(timeout=30)
    assert run.returncode == 0
    record = json.loads(output.strip().splitlines()[-1].split(" ", 1)[1])
    assert len(record["host_stat"]) == 2
    assert all(line.startswith("cpu ") for line in record["host_stat"])
    assert record["harness_ticks"] >= 40, record  # ~0.8 s of this process, in 1/100 s
    assert record["seconds"] >= 1.0
    # ... and not among the busiest processes, which are the host's others.
    own = Path("/proc/self/comm").read_text().strip()
    assert all(ticks < 40 for name, ticks in record["busiest"] if name == own), record
