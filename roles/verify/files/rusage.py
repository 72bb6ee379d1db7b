"""Run a command (argv[1:]) and print, after its own output, the CPU time it used: the verify role subtracts the
load tool's own CPU from the host's CPU use measured during a load run (the tool would not run on the host in
production). Standard library only."""

import json
import resource
import subprocess
import sys
import time

started = time.monotonic()
done = subprocess.run(sys.argv[1:], check=False)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
record = {"cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3), "seconds": round(time.monotonic() - started, 3)}
print("VERIFY_RUSAGE " + json.dumps(record), flush=True)
sys.exit(done.returncode)
